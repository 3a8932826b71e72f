"""Deep pages stay exact when the database is restored from a backup under a running server.

Real processes: a PostgreSQL of its own, ``manage.py serve`` (gunicorn workers that remember
page positions, ``scim_api.paging``), HTTP. The backup is taken with 1,010 users; five of the
first ones are then deleted and deep pages read (the workers remember positions without them).
The backup is put back — the five are there again — and five new users created: the tenant's
sum of writes is what the workers remember, with other rows. Only the server's start time tells
the remembered positions are stale, and every deep page must still be the ordered slice."""

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import httpx
import pytest
from django.conf import settings

from tests.elium_portal.test_database_restart import free_port, manage

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pgserver
    from pgserver._commands import pg_ctl

pytestmark = pytest.mark.slow

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_deep_pages_after_a_restore_from_backup(tmp_path):
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="delete")
    server.psql("CREATE DATABASE restore_test;")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elium_portal.settings.local",
        "DATABASE_URL": server.get_uri("restore_test"),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "SCIM_RATE_LIMIT_PER_SECOND": "0",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--no-seed"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/t/restore/scim/v2"

    def pg(action):
        pg_ctl(["-w", "-m", "fast", action], pgdata=server.pgdata, user=server.system_user)

    def copy(source, target):
        """A file-level copy that keeps owners (the server runs as its own system user)."""
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)

    def expected():
        out = server.psql(
            "\\c restore_test\nSELECT u.id FROM scim_api_scimuser u JOIN elium_portal_tenant t "
            "ON t.id = u.tenant_id WHERE t.slug = 'restore' ORDER BY u.created, u.id;"
        )
        return [line.strip() for line in out.splitlines() if line.strip().count("-") == 4]

    def deep_pages(token, starts):
        """Each page on a connection of its own, so that both web workers answer some."""
        pages = {}
        for start in starts:
            for _ in range(100):  # the first requests after a restart may be 503s
                r = httpx.get(
                    f"{base}/Users",
                    params={"startIndex": start, "count": 5},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                if r.status_code == 200:
                    pages[start] = [u["id"] for u in r.json()["Resources"]]
                    break
                assert r.status_code == 503, r.text
                time.sleep(0.2)
        return pages

    try:
        deadline = time.monotonic() + 120
        output = ""
        while "Press Ctrl-C" not in output and time.monotonic() < deadline:
            output += serve.stdout.readline()
        manage(env, "create_tenant", "restore")
        token = manage(env, "issue_token", "restore").strip()
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            for i in range(1010):
                r = client.post(f"{base}/Users", json={"schemas": [USER], "userName": f"u{i}@x"})
                assert r.status_code == 201, r.text

            pg("stop")
            copy(server.pgdata, tmp_path / "backup")
            server.ensure_postgres_running()

            first = expected()[:5]
            for user_id in first:
                for _ in range(100):
                    r = client.delete(f"{base}/Users/{user_id}")
                    if r.status_code != 503:
                        break
                    time.sleep(0.2)
                assert r.status_code == 204, r.text
        starts = [1001, 1002, 1003, 1004, 1005] * 4
        before = deep_pages(token, starts)
        order = expected()
        assert all(before[s] == order[s - 1 : s + 4] for s in before)

        pg("stop")
        shutil.rmtree(server.pgdata)
        copy(tmp_path / "backup", server.pgdata)
        server.ensure_postgres_running()
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            for i in range(5):
                for _ in range(100):
                    r = client.post(
                        f"{base}/Users", json={"schemas": [USER], "userName": f"new{i}@x"}
                    )
                    if r.status_code != 503:
                        break
                    time.sleep(0.2)
                assert r.status_code == 201, r.text

        order = expected()
        assert len(order) == 1015
        assert order[:5] == first  # the backup's rows are back
        after = deep_pages(token, starts)
        for start, ids in after.items():
            assert ids == order[start - 1 : start + 4], start
        assert serve.poll() is None, "serve must stay up"
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
        server.cleanup()
