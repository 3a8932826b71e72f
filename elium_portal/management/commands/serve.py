"""``serve`` — what ``make run`` runs: migrate, seed the demo, then gunicorn and a procrastinate
worker side by side until Ctrl-C, which stops all of it (the embedded database included, once
no other process uses it)."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from elium_portal.embedded_db import current_embedded_url
from elium_portal.management.commands.seed_demo import DEMO_ADMIN_USERNAME, demo_admin_password


class Command(BaseCommand):
    help = "Run the web app (gunicorn) and a background worker (procrastinate) together."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 3))
        )
        parser.add_argument("--no-seed", action="store_true", help="Skip the demo seed")
        parser.add_argument(
            "--access-log",
            action=argparse.BooleanOptionalAction,
            default=os.environ.get("WEB_ACCESS_LOG", "").lower() in ("1", "true", "yes", "on"),
            help="One line per request on stdout (default: off, or WEB_ACCESS_LOG=1). Off, "
            "gunicorn spends no time formatting and writing a line per SCIM request.",
        )

    def handle(self, *args, port, web_workers, no_seed, access_log, **options):
        started = time.monotonic()
        if not _port_is_free(port):
            raise CommandError(
                f"Port {port} on 127.0.0.1 is already in use (another `make run`?). "
                f"Stop it, or choose another port: PORT=8001 make run"
            )
        self.stdout.write("Applying migrations…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not no_seed:
            call_command("seed_demo", verbosity=0)

        env = dict(os.environ)
        embedded = current_embedded_url()
        if embedded:
            # Children use the server this process started; it stays up while we do.
            env["DATABASE_URL"] = embedded
        env.setdefault("DJANGO_SETTINGS_MODULE", os.environ["DJANGO_SETTINGS_MODULE"])
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "elium_portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(web_workers),
                "--threads",
                "4",
                *(["--access-logfile", "-"] if access_log else []),
                "--graceful-timeout",
                "5",
                # The control socket defaults to one path per user; two servers would clash.
                "--no-control-socket",
            ],
            "worker": [python, "manage.py", "procrastinate", "worker", "--name", "elium-worker"],
        }
        children = {
            name: Child(name, command, env=env, cwd=settings.BASE_DIR, log=self._log)
            for name, command in commands.items()
        }
        for child in children.values():
            child.start()

        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

        if self._wait_until_serving(port, children):
            self._banner(port, time.monotonic() - started, no_seed)
        # Supervise: a child that dies (a crash, a database restart that ends the worker's
        # listener, an OOM kill) is started again after a growing pause; Ctrl-C stops them all.
        while not stopping:
            for child in children.values():
                child.supervise()
            time.sleep(0.2)

        self.stdout.write("Stopping…")
        for child in children.values():
            child.terminate()
        deadline = time.monotonic() + 15
        for child in children.values():
            child.wait(deadline)
        self.stdout.write("Stopped.")

    def _log(self, message: str) -> None:
        self.stderr.write(message)
        self.stderr.flush()

    def _wait_until_serving(self, port, children, timeout=60.0) -> bool:
        """The banner promises a working URL: print it once gunicorn answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not children["web"].running:
                return False
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.2)
        return False

    def _banner(self, port, elapsed, no_seed):
        url = f"http://127.0.0.1:{port}/"
        lines = ["", f"  Elium Portal is running at {url}   (ready in {elapsed:.1f}s)"]
        if settings.PUBLIC_BASE_URL.rstrip("/") + "/" != url:
            lines.append(f"  Public base URL: {settings.PUBLIC_BASE_URL}")
        if not no_seed:
            lines.append(f"  Demo admin: {DEMO_ADMIN_USERNAME} / {demo_admin_password()}")
            lines.append(f"  Demo tenant URL: {settings.PUBLIC_BASE_URL}/t/demo")
        lines += ["  Support console: " + url + "admin/", "  Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()


class Child:
    """One supervised child process. Children run in their own session, so Ctrl-C in the
    terminal reaches only ``serve``, which then stops them gracefully (SIGTERM, a grace period,
    SIGKILL last); on Linux they also get SIGTERM if ``serve`` itself is killed."""

    #: Restart pauses grow 1 s, 2 s, 4 s … up to this; a child that ran this long resets them.
    MAX_BACKOFF = 30.0

    def __init__(self, name: str, command: list[str], *, env: dict, cwd, log) -> None:
        self.name, self.command, self.env, self.cwd, self.log = name, command, env, cwd, log
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.backoff = 1.0
        self.restart_at: float | None = None
        self.restarts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def supervise(self) -> None:
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                self.log(f"Restarting the {self.name} process (restart {self.restarts}).")
                self.start()
            return
        if self.running:
            return
        if now - self.started_at >= self.MAX_BACKOFF:
            self.backoff = 1.0
        code = self.proc.returncode if self.proc else None
        self.log(
            f"The {self.name} process exited ({code}); starting it again in {self.backoff:g}s."
        )
        self.restart_at = now + self.backoff
        self.backoff = min(self.backoff * 2, self.MAX_BACKOFF)

    def terminate(self) -> None:
        self.restart_at = None
        if self.running:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when ``serve`` dies, so a killed
    ``serve`` never leaves a gunicorn holding the port."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
