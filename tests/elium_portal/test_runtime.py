"""The web workers tune the garbage collector once they have loaded the application."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from elium_portal import runtime
from elium_portal.runtime import BETWEEN_REQUESTS, YOUNG_THRESHOLD, collect_between_requests

ROOT = Path(__file__).resolve().parents[2]


def _in_a_fresh_process(probe):
    """Run ``probe`` in a new Python that loads the test settings; its last line, as JSON."""
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "elium_portal.settings.test"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_loading_the_wsgi_application_freezes_what_it_loaded_and_raises_the_young_threshold():
    probe = (
        "import gc, json; import elium_portal.wsgi; "
        "print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))"
    )
    threshold, frozen = _in_a_fresh_process(probe)
    assert threshold[0] == YOUNG_THRESHOLD
    assert threshold[1:] == [10, 10]  # the older generations as CPython has them
    assert frozen > 10_000  # Django, DRF and the views: long-lived, never collected


def test_the_background_worker_is_tuned_and_other_commands_are_not(monkeypatch):
    tuned = []
    monkeypatch.setattr(runtime, "tune_gc", lambda: tuned.append(gc.get_threshold()))
    monkeypatch.setattr(sys, "argv", ["manage.py", "procrastinate", "defer", "x"])
    runtime.on_procrastinate_app_ready(None)
    assert tuned == []
    monkeypatch.setattr(sys, "argv", ["manage.py", "procrastinate", "worker", "--name", "w"])
    runtime.on_procrastinate_app_ready(None)
    assert len(tuned) == 1


def test_a_web_worker_collects_what_requests_left_in_cycles_before_the_next_one():
    """The WSGI module connects the collection to ``request_started``: garbage in cycles, too
    little to reach the young threshold, is freed before the next request, not ~200 requests
    later in one long pass."""
    probe = (
        "import gc, json, weakref; import elium_portal.wsgi\n"
        "from django.core.signals import request_started\n"
        "class Node: pass\n"
        "def cycle():\n"
        "    node = Node(); node.me = node; return node\n"
        "first = cycle(); alive = weakref.ref(first); del first\n"
        "for _ in range(1500): cycle()\n"
        "before = gc.get_count()[0]\n"
        "request_started.send(sender=None, environ={'wsgi.multithread': False})\n"
        "print(json.dumps([before, alive() is None, gc.get_count()[0]]))"
    )
    before, freed, after = _in_a_fresh_process(probe)
    assert BETWEEN_REQUESTS <= before < YOUNG_THRESHOLD  # the collector had not run by itself
    assert freed
    assert after < 100


@pytest.fixture
def collections():
    """The generations collected, with automatic collection out of the way."""
    threshold = gc.get_threshold()
    collected = []

    def record(phase, info):
        if phase == "start":
            collected.append(info["generation"])

    gc.collect()
    gc.set_threshold(1_000_000, threshold[1], threshold[2])
    gc.callbacks.append(record)
    try:
        yield collected
    finally:
        gc.callbacks.remove(record)
        gc.set_threshold(*threshold)


def _young_garbage(count):
    for _ in range(count):
        node = []
        node.append(node)


SINGLE_THREADED = {"wsgi.multithread": False}


def test_little_left_by_earlier_requests_is_not_collected_yet(collections):
    _young_garbage(BETWEEN_REQUESTS // 2)
    collect_between_requests(environ=SINGLE_THREADED)
    assert collections == []


@pytest.mark.parametrize("environ", [{"wsgi.multithread": True}, {}, None])
def test_a_worker_that_may_have_other_requests_in_flight_leaves_it_to_the_threshold(
    collections, environ
):
    _young_garbage(BETWEEN_REQUESTS * 3)
    collect_between_requests(environ=environ)
    assert collections == []


def test_the_older_generations_are_collected_after_as_many_younger_passes_as_cpython_waits(
    collections,
):
    _, middle_threshold, old_threshold = gc.get_threshold()
    while 2 not in collections and len(collections) < 1_000:
        _young_garbage(BETWEEN_REQUESTS + 10)
        collect_between_requests(environ=SINGLE_THREADED)
    every_middle = [0] * middle_threshold + [1]
    assert collections == every_middle * old_threshold + [0] * middle_threshold + [2]
    assert gc.get_count()[1:] == (0, 0)  # the full pass started every count again
