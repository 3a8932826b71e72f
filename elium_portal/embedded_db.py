"""Embedded PostgreSQL for development and tests.

When ``DATABASE_URL`` is unset, the project starts a real PostgreSQL from the ``pgserver`` wheel
so that ``make run`` and ``make test`` need no system service. Several processes may attach to
the same data directory; the server stops when the last one detaches (``cleanup_mode="stop"``).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

DATABASE_NAME = "elium"


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget handles of processes that died without detaching (SIGKILL, OOM).

    pgserver only stops the server when the last *recorded* handle detaches; a stale pid would
    keep an orphaned server alive after ``make run`` ends.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def start_embedded_postgres(pgdata: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or attach to) the embedded server in ``pgdata``; return a database URL.

    The database ``elium`` is created on first start. The returned URL uses the server's unix
    socket, so nothing listens on a TCP port.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Imported here: it warns on import and needs XDG_RUNTIME_DIR set first, and a
        # production process (DATABASE_URL set) never loads it.
        import pgserver  # noqa: PLC0415

    pgdata = Path(pgdata)
    pgdata.mkdir(parents=True, exist_ok=True)
    _prune_dead_handles(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)
    # Keep a reference for the life of the process: the handle detaches on interpreter exit.
    _SERVERS[str(pgdata)] = server
    _ensure_database(server.get_uri(), DATABASE_NAME)
    url = server.get_uri(DATABASE_NAME)
    _URLS.append(url)
    return url


_SERVERS: dict[str, object] = {}
_URLS: list[str] = []


def current_embedded_url() -> str | None:
    """The URL of the embedded server this process started or attached to, if any."""
    return _URLS[-1] if _URLS else None


def _ensure_database(admin_uri: str, name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another process won the race
