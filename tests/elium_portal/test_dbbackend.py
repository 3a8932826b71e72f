"""The database backend's health check of a reused connection: no round trip while the
connection is healthy, and a connection the server closed is found unusable (and replaced)."""

import time

import psycopg
import pytest
from django.db import connection, connections
from django.db.backends.postgresql.psycopg_any import BaseTzLoader

from elium_portal.settings.base import database_from_env_or_embedded

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other():
    """A second connection to the test database, as a web worker holds one between requests."""
    wrapper = connections.create_connection("default")
    wrapper.connect()
    yield wrapper
    wrapper.close()


def _no_round_trips(monkeypatch, wrapper):
    def refuse(*args, **kwargs):
        raise AssertionError("the health check of an idle, healthy connection made a query")

    monkeypatch.setattr(wrapper.connection, "cursor", refuse)
    monkeypatch.setattr(wrapper.connection, "execute", refuse)


def test_a_healthy_idle_connection_is_usable_without_a_query(other, monkeypatch):
    _no_round_trips(monkeypatch, other)
    assert other.is_usable()


def test_a_connection_the_server_terminated_is_unusable_and_replaced(other):
    pid = other.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while other.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)  # the server's FATAL notice and close reach the socket
    assert not other.is_usable()
    # What Django does at the start of a request with CONN_HEALTH_CHECKS: close, reconnect.
    other.health_check_enabled, other.health_check_done = True, False
    other.close_if_health_check_failed()
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_connection_in_a_transaction_is_checked_with_a_query(other):
    other.connection.execute("BEGIN")
    assert other.is_usable()
    other.connection.execute("ROLLBACK")


def test_a_statement_run_often_is_prepared_once_on_the_connection(other):
    """Server-side binding with psycopg's prepare_threshold: from its 5th run on a connection a
    statement is a prepared one, parsed and planned by PostgreSQL once."""
    sql = "SELECT id FROM elium_portal_tenant WHERE id = %s"
    with other.cursor() as cursor:
        for _ in range(6):
            cursor.execute(sql, [1])
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["SELECT id FROM elium_portal_tenant WHERE id = $1%"],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.parametrize(("value", "prepared"), [(None, True), ("false", False)])
def test_prepared_statements_can_be_turned_off(monkeypatch, value, prepared):
    monkeypatch.setenv("DATABASE_URL", "postgres://elium:secret@db.example:5432/elium")
    if value is None:
        monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS", raising=False)
    else:
        monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", value)

    options = database_from_env_or_embedded(pgdata=None).get("OPTIONS", {})

    assert options.get("server_side_binding", False) is prepared
    assert ("prepare_threshold" in options) is prepared


@pytest.mark.parametrize(
    "literal",
    [
        "2026-12-01 19:03:14.123456+00",
        "2026-06-30 23:59:59.999999+02",  # another offset: converted to the session's UTC
        "1970-01-01 00:00:00+00",
        "0001-01-01 00:00:00+00",
        "9999-12-31 23:59:59.999999+00",
    ],
)
def test_timestamps_read_as_djangos_own_loader_reads_them(literal):
    """The compiled-parser loader gives what Django's Python one gives: the same instant, with
    Django's time zone object as ``tzinfo``."""
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(1184, psycopg.pq.Format.TEXT)
        assert loader.timezone is connection.timezone
        assert not issubclass(loader, BaseTzLoader)  # ours, not Django's
        cursor.execute("SELECT %s::timestamptz, %s::timestamptz::text", [literal, literal])
        value, text = cursor.fetchone()

    class DjangoLoader(BaseTzLoader):
        timezone = connection.timezone

    expected = DjangoLoader(1184, cursor.cursor).load(text.encode())
    assert value == expected
    assert value.tzinfo is expected.tzinfo is connection.timezone
    assert value.isoformat() == expected.isoformat()
