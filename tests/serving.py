"""Helpers for the tests that run the real thing: ``manage.py serve`` (gunicorn and the
procrastinate worker) in a process of its own, often on a PostgreSQL server of its own that the
test stops, restarts or restores."""

import os
import signal
import socket
import subprocess
import sys
import time
import warnings

from django.conf import settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pgserver
    from pgserver._commands import pg_ctl  # the tests stop and start their own server with it

__all__ = [
    "free_port",
    "manage",
    "own_postgres",
    "pg_ctl",
    "serve_env",
    "start_serve",
    "stop_serve",
    "wait_until_serving",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env, *args) -> str:
    """``manage.py <args>`` in a process of its own; its standard output."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def own_postgres(tmp_path, database: str):
    """A PostgreSQL server of the test's own under ``tmp_path`` (deleted by its
    ``cleanup()``), with an empty ``database``."""
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="delete")
    server.psql(f"CREATE DATABASE {database};")
    return server


def serve_env(database_url: str, port: int, **overrides: str) -> dict:
    """The environment of a ``serve`` on ``port`` with the local settings and ``database_url``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elium_portal.settings.local",
        "DATABASE_URL": database_url,
        "PORT": str(port),
        **overrides,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def start_serve(env, *, seed: bool = False) -> subprocess.Popen:
    """``manage.py serve`` (``--no-seed`` unless ``seed``), its output (text) on ``stdout``."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "serve", *([] if seed else ["--no-seed"])],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until_serving(serve: subprocess.Popen, timeout: float = 120) -> str:
    """Read ``serve``'s output until it says it is serving (or ``timeout``); what it wrote."""
    deadline = time.monotonic() + timeout
    output = ""
    while "Press Ctrl-C" not in output and time.monotonic() < deadline:
        output += serve.stdout.readline()
    return output


def stop_serve(serve: subprocess.Popen) -> None:
    """Ctrl-C, as a person stops it; killed if it is still there after a minute."""
    serve.send_signal(signal.SIGINT)
    try:
        serve.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        serve.kill()
