"""``serve`` — what ``make run`` runs: migrate, seed the demo, then gunicorn and a procrastinate
worker side by side until Ctrl-C, which stops all of it (the embedded database included, once
no other process uses it)."""

from __future__ import annotations

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


class Command(BaseCommand):
    help = "Run the web app (gunicorn) and a background worker (procrastinate) together."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 3))
        )
        parser.add_argument("--no-seed", action="store_true", help="Skip the demo seed")

    def handle(self, *args, port, web_workers, no_seed, **options):
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
        children = {
            "web": subprocess.Popen(
                [
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
                    "--access-logfile",
                    "-",
                    "--graceful-timeout",
                    "5",
                    # The control socket defaults to one path per user; two servers would clash.
                    "--no-control-socket",
                ],
                env=env,
            ),
            "worker": subprocess.Popen(
                [python, "manage.py", "procrastinate", "worker", "--name", "elium-worker"],
                env=env,
                cwd=settings.BASE_DIR,
            ),
        }

        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

        exit_code = 0
        if self._wait_until_serving(port, children):
            self._banner(port, time.monotonic() - started, no_seed)
        while not stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    self.stderr.write(f"The {name} process exited ({proc.returncode}); stopping.")
                    exit_code = proc.returncode or 1
                    stopping = True
            time.sleep(0.3)

        self.stdout.write("Stopping…")
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.stdout.write("Stopped.")
        if exit_code:
            sys.exit(exit_code)

    def _wait_until_serving(self, port, children, timeout=60.0) -> bool:
        """The banner promises a working URL: print it once gunicorn answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(proc.poll() is not None for proc in children.values()):
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
            from elium_portal.management.commands.seed_demo import (
                DEMO_ADMIN_USERNAME,
                demo_admin_password,
            )

            lines.append(f"  Demo admin: {DEMO_ADMIN_USERNAME} / {demo_admin_password()}")
            lines.append(f"  Demo tenant URL: {settings.PUBLIC_BASE_URL}/t/demo")
        lines += ["  Support console: " + url + "admin/", "  Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
