"""Per-token rate limiting: a token bucket per token, in each web process.

Each process keeps its own buckets, so with N web processes a token can reach N times the
configured rate in total; size ``SCIM_RATE_LIMIT_PER_SECOND`` with that in mind. Keeping the
count in memory costs nothing per request, where a shared counter would cost a database write.
"""

from __future__ import annotations

import math
import threading
import time

from django.conf import settings

_lock = threading.Lock()
_buckets: dict[int, tuple[float, float]] = {}  # token id → (tokens left, last refill)


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
