"""Rate limits of the SCIM API, counted in each web process.

- Per token: a token bucket, checked after authentication. Each process keeps its own buckets,
  so with N web processes a token can reach N times the configured rate in total; size
  ``SCIM_RATE_LIMIT_PER_SECOND`` with that in mind. Keeping the count in memory costs nothing per
  request, where a shared counter would cost a database write.
- Per client address, before authentication: an address that failed authentication
  ``SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE`` times in the current minute is refused until the
  minute ends, without a look at its token or a row in the request log. The count lives in
  Django's cache (per process with the default local-memory cache, shared with a shared one).
"""

from __future__ import annotations

import math
import threading
import time

from django.conf import settings
from django.core.cache import cache

_lock = threading.Lock()
_buckets: dict[int, tuple[float, float]] = {}  # token id → (tokens left, last refill)
_FAILURES_KEY = "scim-auth-failures:{ip}:{minute}"


def take(token_id: int, *, now: float | None = None) -> float | None:
    """Spend one request of ``token_id``'s budget. Returns None when allowed, else the number
    of seconds after which a retry will be allowed (for ``Retry-After``)."""
    rate = float(settings.SCIM_RATE_LIMIT_PER_SECOND)
    if rate <= 0:
        return None
    burst = float(settings.SCIM_RATE_LIMIT_BURST or rate)
    now = time.monotonic() if now is None else now
    with _lock:
        tokens, last = _buckets.get(token_id, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= 1:
            _buckets[token_id] = (tokens - 1, now)
            return None
        _buckets[token_id] = (tokens, now)
        return max(1.0, math.ceil((1 - tokens) / rate))


def reset() -> None:
    with _lock:
        _buckets.clear()


def auth_failures_wait(ip: str | None, *, now: float | None = None) -> int | None:
    """None while ``ip`` may present a token; else the seconds until the minute in which it
    used up its failed authentications ends (for ``Retry-After``)."""
    limit = settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE
    if limit <= 0 or ip is None:
        return None
    now = time.time() if now is None else now
    minute, second = divmod(now, 60)
    if (cache.get(_FAILURES_KEY.format(ip=ip, minute=int(minute))) or 0) < limit:
        return None
    return max(1, math.ceil(60 - second))


def auth_failure_record(ip: str | None, *, now: float | None = None) -> None:
    """Count one failed authentication of ``ip`` in the current minute."""
    if settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE <= 0 or ip is None:
        return
    now = time.time() if now is None else now
    key = _FAILURES_KEY.format(ip=ip, minute=int(now // 60))
    if cache.add(key, 1, timeout=120):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=120)
