"""The one place the Elium side reads the time, so tests can move it (token grace periods,
expiry, throttling) without sleeping."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()
