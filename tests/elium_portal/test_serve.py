"""``make run`` in miniature: ``manage.py serve`` migrates, seeds, serves gunicorn and a worker,
prints the URL and credentials, and stops everything on Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest
from django.conf import settings

from tests.serving import free_port, serve_env, start_serve

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_serve_runs_web_and_worker_and_stops_on_ctrl_c(tmp_path, database_url):
    port = free_port()
    env = serve_env(database_url, port, WEB_CONCURRENCY="1")
    proc = start_serve(env, seed=True)
    try:
        output = ""
        deadline = time.monotonic() + 90
        while "Press Ctrl-C" not in output and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output += line
        assert f"http://127.0.0.1:{port}/" in output
        assert "Demo admin: admin / " in output

        health = None
        for _ in range(100):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if health.json()["worker"]["status"] == "ok":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert health is not None
        assert health.status_code == 200
        assert health.json()["worker"]["status"] == "ok"
        login = httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
        assert login.status_code == 200
        assert "Sign in to Elium" in login.text
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)

    assert proc.returncode == 0, rest
    assert "Stopped." in rest
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_serve_refuses_a_port_in_use_with_a_clear_message(database_url):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "elium_portal.settings.local",
            "DATABASE_URL": database_url,
            "PORT": str(port),
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "serve", "--no-seed"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr


def worker_of(serve: subprocess.Popen) -> psutil.Process | None:
    for child in psutil.Process(serve.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "procrastinate" in child.cmdline():
                return child
        except psutil.Error:  # exited meanwhile
            continue
    return None


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    return None


def test_serve_restarts_a_killed_worker_and_still_stops_on_ctrl_c(database_url):
    port = free_port()
    env = serve_env(database_url, port, WEB_CONCURRENCY="1")
    proc = start_serve(env)
    try:
        first = wait_for(lambda: worker_of(proc))
        assert first is not None

        first.kill()  # kill -9, as the OOM killer would

        second = wait_for(lambda: (w := worker_of(proc)) and w.pid != first.pid and w)
        assert second is not None, "the worker was not started again"
        assert proc.poll() is None, "serve must stay up"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)

    assert proc.returncode == 0, rest
    assert "The worker process exited (-9); starting it again in 1s." in rest
    assert "Restarting the worker process (restart 1)." in rest
    assert "Stopped." in rest
    assert "SIGKILL" not in rest  # workers are stopped gracefully, not killed
    assert not psutil.pid_exists(second.pid) or second.status() == psutil.STATUS_ZOMBIE
