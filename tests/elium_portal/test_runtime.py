"""The web workers tune the garbage collector once they have loaded the application."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from elium_portal import runtime
from elium_portal.runtime import YOUNG_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_wsgi_application_freezes_what_it_loaded_and_raises_the_young_threshold():
    probe = (
        "import gc, json; import elium_portal.wsgi; "
        "print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "elium_portal.settings.test"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    threshold, frozen = json.loads(out.stdout.strip().splitlines()[-1])
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
