"""Deep pages stay exact when the database is restored from a backup under a running server.

Real processes: a PostgreSQL of its own, ``manage.py serve`` (gunicorn workers that remember
page positions, ``scim_api.paging``), HTTP. The backup is taken with 1,010 users; five of the
first ones are then deleted and deep pages read (the workers remember positions without them).
The backup is put back — the five are there again — and five new users created: the tenant's
sum of writes is what the workers remember, with other rows. Only the server's start time tells
the remembered positions are stale, and every deep page must still be the ordered slice."""

import shutil
import subprocess
import time

import httpx
import pytest

from tests.serving import (
    free_port,
    manage,
    own_postgres,
    pg_ctl,
    serve_env,
    start_serve,
    stop_serve,
    wait_until_serving,
)

pytestmark = pytest.mark.slow

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_deep_pages_after_a_restore_from_backup(tmp_path):
    server = own_postgres(tmp_path, "restore_test")
    port = free_port()
    env = serve_env(
        server.get_uri("restore_test"), port, WEB_CONCURRENCY="2", SCIM_RATE_LIMIT_PER_SECOND="0"
    )
    serve = start_serve(env)
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
        wait_until_serving(serve)
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
        stop_serve(serve)
        server.cleanup()
