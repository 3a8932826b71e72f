"""The per-process SCIM token cache: no query for a cached token, and every change to a token or
its tenant — made in another connection or process, committed — applies to the very next
request once PostgreSQL's notification arrived; a lost listener connection makes lookups read
the database until it is back. Real PostgreSQL, real connections, real processes."""

import os
import socket
import subprocess
import sys
import time

import httpx
import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from elium_portal.services import token_cache
from elium_portal.services.token_cache import (
    APPLICATION_NAME,
    token_cache_generation,
    token_cache_invalidate,
    token_cache_is_live,
    token_cache_row,
    token_cache_size,
    token_cache_stop,
)
from elium_portal.services.tokens import (
    _token_with_tenant_row,
    scim_token_authenticate,
    scim_token_revoke,
)
from tests.factories import ScimTokenFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, *, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cache_on(transactional_db, settings, monkeypatch):
    """The cache turned on, its listener pinging often so that it stops quickly; stopped (its
    connection closed) before the test's tables are flushed."""
    token_cache_stop()
    settings.SCIM_TOKEN_CACHE = True
    monkeypatch.setattr(token_cache, "PING_SECONDS", 0.2)
    yield
    token_cache_stop()


@pytest.fixture
def other_connection(database_url):
    """A connection of its own, as another web process or a psql session holds one."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def queries_of(plaintext: str, **kwargs) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        token = scim_token_authenticate(plaintext=plaintext, **kwargs)
    return token, len(queries)


def cached(plaintext: str):
    """Authenticate until the cache is live and holds the token; the token."""
    scim_token_authenticate(plaintext=plaintext)  # starts this process's listener
    wait_for(token_cache_is_live, what="the listener to be live")
    scim_token_authenticate(plaintext=plaintext)  # read once more, now stored
    token, count = queries_of(plaintext)
    assert token is not None
    assert count == 0
    return token


def test_a_cached_token_is_served_without_a_query(cache_on):
    tenant = TenantFactory()
    issued = ScimTokenFactory(tenant=tenant)

    cached(issued.plaintext)

    for _ in range(3):
        token, count = queries_of(issued.plaintext)
        assert count == 0
        assert token.tenant == tenant
    # Fresh instances every time: nothing mutable is shared between requests.
    assert scim_token_authenticate(plaintext=issued.plaintext) is not token
    # Still the exact checks: a wrong secret with the cached key id, another tenant's URL.
    wrong = issued.plaintext[:-4] + ("AAAA" if not issued.plaintext.endswith("AAAA") else "BBBB")
    assert scim_token_authenticate(plaintext=wrong) is None
    assert scim_token_authenticate(plaintext=issued.plaintext, tenant_slug="other") is None


def test_unknown_key_ids_are_never_cached(cache_on):
    issued = ScimTokenFactory(tenant=TenantFactory())
    cached(issued.plaintext)
    size = token_cache_size()

    for n in range(5):
        token, count = queries_of(f"elium_scim_unknown{n:05d}_" + "A" * 43)
        assert token is None
        assert count == 1
    assert token_cache_size() == size


@pytest.mark.parametrize(
    ("change", "still_valid"),
    [
        pytest.param(
            "UPDATE elium_portal_scimtoken SET revoked_at = now() WHERE id = %(token)s",
            False,
            id="revoked",
        ),
        pytest.param(
            "UPDATE elium_portal_scimtoken SET expires_at = now() - interval '1 second' "
            "WHERE id = %(token)s",
            False,
            id="expired",
        ),
        pytest.param(
            "DELETE FROM elium_portal_scimtokenaddress WHERE token_id = %(token)s; "
            "DELETE FROM elium_portal_scimtoken WHERE id = %(token)s",
            False,
            id="deleted",
        ),
        pytest.param(
            "UPDATE elium_portal_tenant SET scim_enabled = false WHERE id = %(tenant)s",
            True,
            id="scim-disabled",
        ),
        pytest.param(
            "UPDATE elium_portal_tenant SET scim_request_log_level = 'all', "
            "scim_compatibility = 'strict' WHERE id = %(tenant)s",
            True,
            id="tenant-settings",
        ),
    ],
)
def test_a_change_committed_elsewhere_applies_to_the_next_request(
    cache_on, other_connection, change, still_valid
):
    tenant = TenantFactory(slug="acme")
    issued = ScimTokenFactory(tenant=tenant)
    before = cached(issued.plaintext)
    generation = token_cache_generation()

    with other_connection.transaction():
        for statement in change.split("; "):
            other_connection.execute(statement, {"token": issued.pk, "tenant": tenant.pk})
        # Not committed yet: nothing changed for anybody.
        assert token_cache_generation() == generation
        assert queries_of(issued.plaintext)[1] == 0

    wait_for(lambda: token_cache_generation() != generation, what="the notification")
    after = scim_token_authenticate(plaintext=issued.plaintext, tenant_slug="acme")
    if still_valid:
        tenant.refresh_from_db()
        assert (
            after.tenant.scim_enabled,
            after.tenant.scim_request_log_level,
            after.tenant.scim_compatibility,
        ) == (tenant.scim_enabled, tenant.scim_request_log_level, tenant.scim_compatibility)
        assert (after.tenant.scim_enabled, after.tenant.scim_compatibility) != (
            before.tenant.scim_enabled,
            before.tenant.scim_compatibility,
        )
    else:
        assert after is None
        # What the cache holds now (if anything) is the changed row, for good.
        for _ in range(3):
            assert scim_token_authenticate(plaintext=issued.plaintext) is None


def test_a_renamed_tenant_slug_applies_to_the_next_request(cache_on, other_connection):
    tenant = TenantFactory(slug="acme")
    issued = ScimTokenFactory(tenant=tenant)
    cached(issued.plaintext)
    generation = token_cache_generation()

    other_connection.execute(
        "UPDATE elium_portal_tenant SET slug = 'acme-2' WHERE id = %s", [tenant.pk]
    )

    wait_for(lambda: token_cache_generation() != generation, what="the notification")
    assert scim_token_authenticate(plaintext=issued.plaintext, tenant_slug="acme") is None
    assert scim_token_authenticate(plaintext=issued.plaintext, tenant_slug="acme-2") is not None


@pytest.mark.slow
def test_a_revocation_by_the_service_in_another_process_applies_to_the_next_request(
    cache_on, database_url
):
    issued = ScimTokenFactory(tenant=TenantFactory(slug="acme"))
    cached(issued.plaintext)
    generation = token_cache_generation()

    code = (
        "from elium_portal.models import ScimToken\n"
        "from elium_portal.services.tokens import scim_token_revoke\n"
        f"token = ScimToken.objects.select_related('tenant').get(pk={issued.pk})\n"
        "scim_token_revoke(tenant=token.tenant, token=token, label='test')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elium_portal.settings.test",
        "DATABASE_URL": database_url,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    wait_for(lambda: token_cache_generation() != generation, what="the notification")
    assert scim_token_authenticate(plaintext=issued.plaintext) is None


def test_a_read_racing_a_change_is_not_cached(cache_on):
    issued = ScimTokenFactory(tenant=TenantFactory())
    cached(issued.plaintext)
    key_id = issued.key_id
    token_cache_invalidate()
    assert token_cache_size() == 0

    def load_then_notified(key):
        row = _token_with_tenant_row(key)
        token_cache_invalidate()  # the notification of a change lands after the read
        return row

    assert token_cache_row(key_id=key_id, load=load_then_notified) is not None
    assert token_cache_size() == 0
    assert queries_of(issued.plaintext)[1] >= 1  # read again, not served from the cache


def test_a_read_inside_a_transaction_is_not_cached(cache_on):
    tenant = TenantFactory()
    issued = ScimTokenFactory(tenant=tenant)
    cached(issued.plaintext)

    with transaction.atomic():
        scim_token_revoke(tenant=tenant, token=issued)
        # This process sees its own uncommitted revocation at once …
        assert scim_token_authenticate(plaintext=issued.plaintext) is None
        transaction.set_rollback(True)
    # … and, the revocation rolled back, caches nothing of it.
    assert scim_token_authenticate(plaintext=issued.plaintext) is not None


def test_last_used_bookkeeping_does_not_notify(transactional_db, other_connection):
    issued = ScimTokenFactory(tenant=TenantFactory())
    # A session hears its own notifications, before the statement's answer when autocommitted.
    other_connection.execute(f"LISTEN {token_cache.CHANNEL}")

    other_connection.execute(
        "UPDATE elium_portal_scimtoken SET last_used_at = now(), last_used_ip = '10.0.0.9' "
        "WHERE id = %s",
        [issued.pk],
    )
    assert list(other_connection.notifies(timeout=0)) == []

    other_connection.execute(
        "UPDATE elium_portal_scimtoken SET expires_at = now() + interval '1 day' WHERE id = %s",
        [issued.pk],
    )
    assert len(list(other_connection.notifies(timeout=0))) == 1


def test_a_cached_token_is_not_written_on_every_request(cache_on):
    issued = ScimTokenFactory(tenant=TenantFactory())
    cached(issued.plaintext)

    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert scim_token_authenticate(plaintext=issued.plaintext) is not None
    assert len(queries) == 0
    issued.refresh_from_db()
    assert issued.last_used_at is not None


def test_a_lost_listener_connection_reads_the_database_until_it_is_back(cache_on):
    issued = ScimTokenFactory(tenant=TenantFactory())
    cached(issued.plaintext)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [APPLICATION_NAME],
        )
        assert cursor.fetchone() == (True,)

    wait_for(lambda: not token_cache_is_live(), what="the cache to go not-live")
    assert token_cache_size() == 0
    token, count = queries_of(issued.plaintext)
    assert token is not None
    assert count >= 1

    wait_for(token_cache_is_live, what="the listener to reconnect")
    cached(issued.plaintext)


def test_with_the_cache_off_every_request_queries_the_database(transactional_db, settings):
    token_cache_stop()
    settings.SCIM_TOKEN_CACHE = False
    issued = ScimTokenFactory(tenant=TenantFactory())

    for _ in range(3):
        token, count = queries_of(issued.plaintext)
        assert token is not None
        assert count >= 1
    assert not token_cache_is_live()
    assert token_cache_size() == 0


def test_a_token_revoked_in_this_process_gets_401_on_the_next_scim_request(cache_on, client):
    tenant = TenantFactory(slug="acme")
    issued = ScimTokenFactory(tenant=tenant)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issued.plaintext}"}

    assert client.get("/t/acme/scim/v2/Users", **auth).status_code == 200
    wait_for(token_cache_is_live, what="the listener to be live")
    assert client.get("/t/acme/scim/v2/Users", **auth).status_code == 200
    assert token_cache_size() == 1

    scim_token_revoke(tenant=tenant, token=issued)

    assert client.get("/t/acme/scim/v2/Users", **auth).status_code == 401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_every_gunicorn_worker_applies_a_revocation(transactional_db, database_url):
    tenant = TenantFactory(slug="acme")
    issued = ScimTokenFactory(tenant=tenant)
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elium_portal.settings.test",
        "DATABASE_URL": database_url,
        "SCIM_TOKEN_CACHE": "true",
    }
    web = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "elium_portal.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"),
            "--no-control-socket",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def status() -> int | None:
        try:  # a new connection each time, so both workers answer in turn
            return httpx.get(
                f"http://127.0.0.1:{port}/t/acme/scim/v2/Users?count=1",
                headers={"Authorization": f"Bearer {issued.plaintext}"},
                timeout=10,
            ).status_code
        except httpx.TransportError:
            return None

    def listeners() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                [APPLICATION_NAME],
            )
            return cursor.fetchone()[0]

    try:
        wait_for(lambda: status() == 200, what="gunicorn to answer", timeout=60)
        # Each forked worker started a listener of its own on its first request.
        wait_for(lambda: status() == 200 and listeners() == 2, what="two listeners")
        assert [status() for _ in range(10)] == [200] * 10

        scim_token_revoke(tenant=tenant, token=issued)

        # No worker keeps serving the revoked token from its cache (the notification needs a
        # moment to arrive, hence the poll; a worker that missed it would answer 200 forever).
        wait_for(
            lambda: all(status() == 401 for _ in range(10)),
            what="every worker to refuse the token",
        )
    finally:
        web.terminate()
        web.wait(timeout=30)
