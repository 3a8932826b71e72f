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

A single-threaded web worker (gunicorn's ``sync``) also collects between requests
(:func:`collect_between_requests`). Django and DRF
leave each request in reference cycles (the request and its ``auser``, the view and DRF's
request, the response and its ``renderer_context``): ~90 objects of cyclic garbage per SCIM
request, which only the collector frees. Left to :data:`YOUNG_THRESHOLD`, a collection came
every ~200 requests and walked all of it at once: ~20 ms on average and up to 65 ms in a
worker under load, with the requests queued behind it waiting too. Collected before a request
is handled, once at least :data:`BETWEEN_REQUESTS` young objects are left, each pass walks
~1,000 objects, almost all of them garbage (~1 ms), and no request waits on a long one. A
large request (a page of 100 users) still runs under :data:`YOUNG_THRESHOLD`.

Reference counting, which frees almost everything, is untouched."""

from __future__ import annotations

import gc
import sys

from django.core.signals import request_started

YOUNG_THRESHOLD = 20_000
#: Young objects left after a request that make the web worker collect before the next one.
BETWEEN_REQUESTS = 1_000


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)


def collect_between_requests(*, environ=None, **kwargs) -> None:
    """``request_started`` receiver of the web workers: collect what earlier requests have left,
    as CPython would have at its own threshold — the young generation, and an older one when
    enough young collections have run since its last. At the start of a request in a
    single-threaded worker, what the last one kept alive until it was answered (a page's 100
    documents) has been freed: only its garbage is left to walk.

    A multi-threaded worker (``gthread``, what ``manage.py serve`` runs) is left to the
    threshold: there the other threads' requests in flight would be walked, and moved to an
    older generation, by every pass (measured: the engine's 20,000-user initial cycle 167 →
    176 s)."""
    if environ is None or environ.get("wsgi.multithread", True):
        return
    young, middle, old = gc.get_count()
    if young < BETWEEN_REQUESTS:
        return
    _, middle_threshold, old_threshold = gc.get_threshold()
    if middle < middle_threshold:
        gc.collect(0)
    elif old < old_threshold:
        gc.collect(1)
    else:
        gc.collect(2)


def tune_web_worker() -> None:
    """What ``elium_portal.wsgi`` does once the application is loaded."""
    tune_gc()
    request_started.connect(collect_between_requests, dispatch_uid="elium_collect_between")


def on_procrastinate_app_ready(app) -> None:
    """``PROCRASTINATE_ON_APP_READY``: tune the background worker (``manage.py procrastinate
    worker``, where the provisioning engine runs) as the web workers are tuned. Every other
    process that loads Django (the web workers' own setup, commands, tests) is left as it is."""
    if sys.argv[1:3] == ["procrastinate", "worker"]:
        tune_gc()
