import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_ok_and_no_worker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"status": "ok"}
    assert body["worker"] == {"status": "none", "last_heartbeat_age_seconds": None}


def test_healthz_reports_age_of_freshest_worker_heartbeat(client):
    with connection.cursor() as cursor:
        for age in (5, 300):
            cursor.execute(
                "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (%s)",
                [timezone.now() - dt.timedelta(seconds=age)],
            )

    body = client.get("/healthz").json()

    assert body["worker"]["status"] == "ok"
    assert 4 <= body["worker"]["last_heartbeat_age_seconds"] < 60


def test_healthz_flags_a_stale_worker(client):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (%s)",
            [timezone.now() - dt.timedelta(minutes=10)],
        )

    body = client.get("/healthz").json()

    assert body["worker"]["status"] == "stale"


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_when_the_database_is_unreachable(client, tmp_path):
    # Point the connection at a socket directory where no PostgreSQL listens, for real.
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = str(tmp_path)
    connection.settings_dict["PORT"] = ""
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["status"] == "unreachable"
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize(
    ("heartbeat_age", "status", "worker"),
    [(None, 503, "none"), (dt.timedelta(minutes=10), 503, "stale"), (dt.timedelta(0), 200, "ok")],
)
def test_healthz_require_worker_fails_without_a_fresh_heartbeat(
    client, heartbeat_age, status, worker
):
    if heartbeat_age is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (%s)",
                [timezone.now() - heartbeat_age],
            )

    response = client.get("/healthz?require=worker")

    assert response.status_code == status
    assert response.json()["worker"]["status"] == worker
    assert client.get("/healthz").status_code == 200  # plain liveness ignores the worker
