"""Faults heal: PostgreSQL restarted under SCIM load. While it is down the SCIM API answers only
SCIM JSON 503s with Retry-After (never Django's HTML page); it serves again within seconds of the
database coming back, and ``serve`` (web and worker) stays up throughout — nobody restarts
anything. Real processes: a PostgreSQL of its own, ``manage.py serve``, HTTP load."""

import threading
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


def test_scim_survives_a_database_restart(tmp_path):
    server = own_postgres(tmp_path, "restart_test")
    port = free_port()
    env = serve_env(
        server.get_uri("restart_test"), port, WEB_CONCURRENCY="2", SCIM_RATE_LIMIT_PER_SECOND="0"
    )
    serve = start_serve(env)
    answers: list[tuple[float, int, str, str | None]] = []
    stop = threading.Event()
    try:
        wait_until_serving(serve)
        manage(env, "create_tenant", "restart")
        token = manage(env, "issue_token", "restart").strip()
        url = f"http://127.0.0.1:{port}/t/restart/scim/v2/Users?filter=userName%20eq%20%22a%22"

        def load():
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=5) as c:
                while not stop.is_set():
                    try:
                        r = c.get(url)
                        answers.append(
                            (
                                time.monotonic(),
                                r.status_code,
                                r.headers.get("content-type", ""),
                                r.headers.get("retry-after"),
                            )
                        )
                    except httpx.HTTPError:
                        answers.append((time.monotonic(), 0, "", None))
                    time.sleep(0.02)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        # Wait for the first answers (a fresh worker's first request can take a while on a
        # busy machine), then let the load run a moment before the restart.
        ready = time.monotonic() + 30
        while not answers and time.monotonic() < ready:
            time.sleep(0.05)
        time.sleep(0.5)
        assert answers, "no answer before the restart"
        assert all(status == 200 for _, status, _, _ in answers)

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        down_at = time.monotonic()
        time.sleep(2.0)
        starting_at = time.monotonic()
        server.ensure_postgres_running()
        up_at = time.monotonic()

        back = None
        while time.monotonic() < up_at + 15:
            late = [a for a in answers if a[0] > starting_at and a[1] == 200]
            if late:
                back = late[0][0]
                break
            time.sleep(0.2)
        stop.set()
        loader.join(10)

        assert back is not None, "SCIM did not come back"
        assert back - starting_at <= 10, "SCIM did not come back within 10 s"
        during = [a for a in answers if down_at < a[0] < starting_at]
        assert during, "no request was answered while the database was down"
        for _, status, content_type, retry_after in during:
            assert status == 503, status
            assert content_type.startswith("application/scim+json")
            assert retry_after
        assert all(status in (200, 503) for _, status, _, _ in answers)
        assert serve.poll() is None, "serve must stay up"
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200
    finally:
        stop.set()
        stop_serve(serve)
        server.cleanup()
