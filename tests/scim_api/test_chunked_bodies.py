"""Chunked request bodies (``Transfer-Encoding: chunked``, no ``Content-Length``), sent over a
real socket to the servers that run the app: gunicorn (``make run``, production) de-chunks them
into ``wsgi.input``; Django's own server (``live_server``, runserver) cannot."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from elium_portal.services.tokens import scim_token_issue
from scim_api.models import ScimUser
from tests.factories import TenantFactory, azure_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIMIT = 8_192


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db, tmp_path, database_url) -> Iterator[str]:
    """gunicorn serving the app on the test database, with a small request-size limit."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elium_portal.settings.test",
        "DATABASE_URL": database_url,
        "SCIM_MAX_REQUEST_BYTES": str(LIMIT),
        "TMPDIR": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "elium_portal.wsgi", "--workers=1"]
        + [f"--bind=127.0.0.1:{port}", "--log-level=warning"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme")
    return tenant, scim_token_issue(tenant=tenant).plaintext


def send_chunked(base_url: str, method: str, path: str, token: str, body: bytes, size: int):
    """``body`` in chunks of ``size`` bytes over one connection, as http.client sends an iterable:
    ``Transfer-Encoding: chunked`` and no ``Content-Length``."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=(body[i : i + size] for i in range(0, len(body), size)),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/scim+json",
            },
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_a_chunked_body_is_read_by_gunicorn(gunicorn, acme):
    _, token = acme
    body = json.dumps(azure_user("chunky@contoso.com")).encode()

    status, headers, content = send_chunked(
        gunicorn, "POST", "/t/acme/scim/v2/Users", token, body, size=7
    )

    assert status == 201, content
    assert json.loads(content)["userName"] == "chunky@contoso.com"
    assert ScimUser.objects.filter(user_name="chunky@contoso.com").exists()


def test_a_chunked_body_over_the_limit_is_413_and_writes_nothing(gunicorn, acme):
    _, token = acme
    body = json.dumps(azure_user("huge@contoso.com", displayName="x" * (3 * LIMIT))).encode()

    status, headers, content = send_chunked(
        gunicorn, "POST", "/t/acme/scim/v2/Users", token, body, size=1_000
    )

    assert status == 413, content
    assert headers["Content-Type"].startswith("application/scim+json")
    assert json.loads(content)["status"] == "413"
    assert not ScimUser.objects.exists()


def test_a_chunked_body_exactly_at_the_limit_is_read(gunicorn, acme):
    _, token = acme
    body = json.dumps(azure_user("edge@contoso.com", displayName="")).encode()
    body = body[:-1] + b" " * (LIMIT - len(body)) + b"}"  # JSON padded to exactly LIMIT bytes

    status, _, content = send_chunked(
        gunicorn, "POST", "/t/acme/scim/v2/Users", token, body, size=4_000
    )

    assert len(body) == LIMIT
    assert status == 201, content


def test_a_chunked_body_is_never_read_as_empty_by_a_server_that_cannot_dechunk(live_server, acme):
    _, token = acme
    body = json.dumps(azure_user("dev@contoso.com")).encode()

    status, _, content = send_chunked(
        live_server.url, "POST", "/t/acme/scim/v2/Users", token, body, size=64
    )

    assert status == 411, content
    assert json.loads(content)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert not ScimUser.objects.exists()
