"""Process-wide tuning for the long-running processes (the web workers, the background worker).

CPython's cyclic garbage collector runs a young-generation pass every 700 container allocations
and walks every older object now and then. A page of 100 SCIM users allocates tens of thousands
of dicts and lists, almost none in a cycle, and a web worker holds ~100 MB of long-lived
objects (Django, DRF, the URL and schema tables): measured in-process, the collector was a third
of the Python time of reading a page of 100 users (``docs/benchmarks.md``). So, once the
process has loaded what it lives with:

- ``gc.freeze()`` moves every object alive at that moment out of the collector's sight for
  good (they are never freed anyway), as Instagram's Django fleet does;
- the young generation is collected every :data:`YOUNG_THRESHOLD` allocations instead of 700:
  cyclic garbage lives a little longer (a few megabytes at most), and is still collected.

Reference counting, which frees almost everything, is untouched."""

from __future__ import annotations

import gc
import sys

YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)


def on_procrastinate_app_ready(app) -> None:
    """``PROCRASTINATE_ON_APP_READY``: tune the background worker (``manage.py procrastinate
    worker``, where the provisioning engine runs) as the web workers are tuned. Every other
    process that loads Django (the web workers' own setup, commands, tests) is left as it is."""
    if sys.argv[1:3] == ["procrastinate", "worker"]:
        tune_gc()
