"""A per-process cache of the SCIM token + tenant row, kept exact by PostgreSQL LISTEN/NOTIFY.

Every SCIM request authenticates its bearer token, and reading the token with its tenant was a
fifth of a web worker's time. This cache keeps that row (the raw tuple, never a model
instance, so no mutable object is shared between threads) keyed by the token's key id.

It has no time-to-live: it is right because it is told. Triggers (migration 0010) make every
committed change to a token or a tenant ``pg_notify`` :data:`CHANNEL` — except a token's
throttled ``last_used_at``/``last_used_ip`` bookkeeping. A daemon thread per process holds its
own connection listening on that channel and empties the cache on every notification. The
cache is *live* only while that thread is connected and has been heard from recently
(:data:`LEASE_SECONDS`); while it is not, every lookup reads the database exactly as without a
cache and nothing is stored. Whenever the listener (re)connects, the cache is emptied again:
notifications sent while it was away are lost.

A lookup that reads the database stores the row only if the cache was live and nothing emptied
it (the *generation* did not move) between the moment before the read and the store, so a read
racing a revocation is never cached after the revocation's notification was processed. A read
made inside a transaction is never stored either: it may see this transaction's uncommitted
writes.

Unknown key ids are never cached (random ids cannot grow memory) and the cache is emptied when
it reaches :data:`MAX_ENTRIES`. ``SCIM_TOKEN_CACHE = False`` turns all of it off.

The services that change tokens or tenants also call :func:`token_cache_invalidate`, at once
and again on commit, so this process never waits for its own notification.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import connection, connections, transaction

logger = logging.getLogger(__name__)

#: The NOTIFY channel the triggers of migration 0010 signal.
CHANNEL = "elium_scim_token_cache"
#: ``application_name`` of the listener's connection (``pg_stat_activity`` shows it).
APPLICATION_NAME = "elium-token-cache"
#: Entries at which the cache is emptied rather than grown.
MAX_ENTRIES = 10_000
#: How long the listener waits for notifications before it pings its connection.
PING_SECONDS = 5.0
#: The cache serves rows only this long after the listener last proved its connection alive,
#: so a connection that dies without a word (a network partition) cannot keep it live.
LEASE_SECONDS = 15.0
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0

Row = tuple


class _State:
    """One process's cache and its listener; replaced wholesale after a fork."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.lock = threading.Lock()
        self.rows: dict[str, Row] = {}
        self.generation = 0
        #: ``time.monotonic()`` until which the cache is live; 0 while it is not.
        self.live_until = 0.0
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()
        self.use_noted: dict[int, dt.datetime] = {}

    def is_live(self) -> bool:
        return time.monotonic() < self.live_until

    def invalidate(self) -> None:
        with self.lock:
            self.rows.clear()
            self.generation += 1

    def go_live(self) -> None:
        """The listener proved its connection alive: (re)start or extend the lease. When the
        lease had run out, notifications may be waiting unread: start from empty."""
        with self.lock:
            if not self.is_live():
                self.rows.clear()
                self.generation += 1
            self.live_until = time.monotonic() + LEASE_SECONDS

    def go_dead(self) -> None:
        with self.lock:
            self.live_until = 0.0
            self.rows.clear()
            self.generation += 1

    def store(self, key_id: str, row: Row, generation: int) -> None:
        with self.lock:
            if not self.is_live() or generation != self.generation:
                return
            if len(self.rows) >= MAX_ENTRIES:
                self.rows.clear()
            self.rows[key_id] = row


_state = _State()
_start_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # The parent's listener thread does not exist here; its connection is the parent's.
    global _state, _start_lock
    _state = _State()
    _start_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def token_cache_row(*, key_id: str, load: Callable[[str], Row | None]) -> Row | None:
    """The token + tenant row of ``key_id``: from the cache when it is live and holds it, else
    ``load(key_id)`` (one database read), stored for the next request when that is safe."""
    if not settings.SCIM_TOKEN_CACHE:
        return load(key_id)
    state = _running_state()
    row = state.rows.get(key_id)
    if row is not None and state.is_live():
        return row
    generation = state.generation
    row = load(key_id)
    if row is not None and not connection.in_atomic_block:
        state.store(key_id, row, generation)
    return row


def token_cache_invalidate() -> None:
    """Empty this process's cache now and again when the current transaction commits (the
    other processes hear of the change from the triggers' notification)."""
    state = _state
    state.invalidate()
    transaction.on_commit(state.invalidate)


def token_cache_is_live() -> bool:
    """Whether lookups in this process are served from the cache."""
    return _state.pid == os.getpid() and _state.is_live()


def token_cache_generation() -> int:
    """How many times this process's cache was emptied (for tests and diagnostics)."""
    return _state.generation


def token_cache_size() -> int:
    return len(_state.rows)


def token_use_noted_at(token_id: int) -> dt.datetime | None:
    """When this process last wrote ``last_used_at`` for the token, if it did: a cached row's
    own ``last_used_at`` stays as it was when the row was read."""
    return _state.use_noted.get(token_id)


def token_use_noted(token_id: int, at: dt.datetime) -> None:
    noted = _state.use_noted
    if len(noted) >= MAX_ENTRIES:
        noted.clear()
    noted[token_id] = at


def token_cache_stop(*, timeout: float = 10.0) -> None:
    """Stop this process's listener and forget everything (tests; a clean shutdown)."""
    global _state
    with _start_lock:
        state = _state
        state.stop.set()
        if state.thread is not None:
            state.thread.join(timeout)
        state.go_dead()
        _state = _State()


def _running_state() -> _State:
    """This process's state, its listener started on first use in this process (gunicorn
    forks its workers after the master may have used the cache)."""
    global _state
    state = _state
    if state.pid == os.getpid():
        return state
    with _start_lock:
        state = _state
        if state.pid != os.getpid():
            state = _State()
            state.pid = os.getpid()
            state.thread = threading.Thread(
                target=_listen,
                args=(state, _listener_params()),
                name="scim-token-cache-listener",
                daemon=True,
            )
            _state = state
            state.thread.start()
    return state


def _listener_params() -> dict:
    """The connection parameters of the ``default`` database, as Django's backend builds them
    (a unix-socket host for the embedded server), for a plain autocommit connection."""
    params = connections["default"].get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    params["autocommit"] = True
    params["application_name"] = APPLICATION_NAME
    params.setdefault("connect_timeout", 10)
    # Over TCP, a peer gone silent must fail the connection rather than hang it for minutes.
    params.setdefault("keepalives", 1)
    params.setdefault("keepalives_idle", 30)
    params.setdefault("keepalives_interval", 10)
    params.setdefault("keepalives_count", 3)
    return params


def _listen(state: _State, params: dict) -> None:
    """The listener thread: connect, LISTEN, empty the cache on every notification, ping when
    quiet; on any failure go not-live and reconnect with backoff. Never raises; never logs the
    connection parameters (they hold the password)."""
    backoff = BACKOFF_FIRST_SECONDS
    was_live = False
    failures = 0
    while not state.stop.is_set():
        try:
            with psycopg.connect(**params) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                state.go_live()
                if was_live or failures:
                    logger.info("SCIM token cache: listening for changes again")
                was_live, failures, backoff = True, 0, BACKOFF_FIRST_SECONDS
                while not state.stop.is_set():
                    for _ in conn.notifies(timeout=PING_SECONDS):
                        state.invalidate()
                    conn.execute("SELECT 1")
                    state.go_live()
        except Exception as error:  # the thread must outlive any failure
            state.go_dead()
            if was_live or not failures:
                logger.warning(
                    "SCIM token cache: no connection for change notifications (%s); tokens "
                    "are read from the database until it is back",
                    type(error).__name__,
                )
            was_live = False
            failures += 1
            state.stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
    state.go_dead()
