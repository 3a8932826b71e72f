"""Bearer authentication of the SCIM API: 401s, tenant binding, the disabled switch, and no
token in any log line."""

import logging

import pytest

from elium_portal.services.tokens import tenant_scim_set_enabled
from tests.factories import ScimTokenFactory, ScimUserFactory, TenantFactory

pytestmark = pytest.mark.django_db

SPC = "/t/{slug}/scim/v2/ServiceProviderConfig"


def get(client, slug, token=None, header=None):
    headers = {}
    if header is not None:
        headers["HTTP_AUTHORIZATION"] = header
    elif token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(SPC.format(slug=slug), **headers)


def assert_scim_401(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "401"
    return body


def test_valid_token_reaches_the_endpoint(client):
    token = ScimTokenFactory()

    response = get(client, token.tenant.slug, token.plaintext)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/scim+json")
    assert response.json()["patch"] == {"supported": True}


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer a b",
        "Token abc",
        "Bearer elium_scim_unknownkey00_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_missing_or_malformed_credentials_are_401(client, header):
    token = ScimTokenFactory()

    assert_scim_401(get(client, token.tenant.slug, header=header))


def test_unknown_key_and_wrong_secret_get_the_same_answer(client):
    token = ScimTokenFactory()
    wrong_secret = token.plaintext[:-4] + (
        "AAAA" if not token.plaintext.endswith("AAAA") else "BBBB"
    )
    unknown_key = "elium_scim_zzzzzzzzzzzz_" + token.plaintext.rsplit("_", 1)[-1]

    first = assert_scim_401(get(client, token.tenant.slug, wrong_secret))
    second = assert_scim_401(get(client, token.tenant.slug, unknown_key))

    assert first == second


def test_token_of_another_tenant_is_401(client):
    mine, theirs = TenantFactory(), ScimTokenFactory()

    assert_scim_401(get(client, mine.slug, theirs.plaintext))
    assert_scim_401(get(client, "no-such-tenant", theirs.plaintext))


def test_disabled_tenant_refuses_every_request_with_a_scim_error(client):
    token = ScimTokenFactory()
    tenant_scim_set_enabled(tenant=token.tenant, enabled=False)

    response = get(client, token.tenant.slug, token.plaintext)

    assert response.status_code == 403
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert "disabled for this tenant" in body["detail"]


def test_no_token_ever_appears_in_logs_or_error_bodies(client, caplog):
    caplog.set_level(logging.DEBUG)
    token = ScimTokenFactory()
    tenant = token.tenant
    other = TenantFactory()

    bodies = [
        get(client, tenant.slug, token.plaintext).content,
        get(client, other.slug, token.plaintext).content,
        get(client, tenant.slug, token.plaintext + "x").content,
    ]
    tenant_scim_set_enabled(tenant=tenant, enabled=False)
    bodies.append(get(client, tenant.slug, token.plaintext).content)

    secret = token.plaintext[len("elium_scim_") + 13 :]  # the whole secret (may contain "_")
    assert all(secret.encode() not in body for body in bodies)
    assert secret not in caplog.text
    assert token.plaintext not in caplog.text


def test_discovery_endpoints_answer_with_a_token(client):
    token = ScimTokenFactory()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token.plaintext}"}
    base = f"/t/{token.tenant.slug}/scim/v2"

    types = client.get(f"{base}/ResourceTypes", **auth).json()
    schemas = client.get(f"{base}/Schemas", **auth).json()

    assert {r["name"] for r in types["Resources"]} == {"User", "Group"}
    assert types["totalResults"] == 2
    assert len(schemas["Resources"]) == 3
    user_schema = client.get(
        f"{base}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", **auth
    ).json()
    assert user_schema["name"] == "User"
    assert client.get(f"{base}/Schemas/urn:nope", **auth).status_code == 404


def test_a_scim_request_reads_its_headers_without_building_request_headers(client):
    """The token, client-request-id and the ETag conditions are read from the WSGI environ:
    ``request.headers`` (a mapping of every header, built on first use) is never built."""
    token = ScimTokenFactory()
    user = ScimUserFactory(tenant=token.tenant)
    url = f"/t/{token.tenant.slug}/scim/v2/Users/{user.id}"
    headers = {
        "HTTP_AUTHORIZATION": f"bearer {token.plaintext}",  # the scheme in any case
        "HTTP_CLIENT_REQUEST_ID": "4f3a6b0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    }

    response = client.get(url, HTTP_IF_NONE_MATCH=f'W/"{user.version}"', **headers)

    assert response.status_code == 304
    assert "headers" not in response.wsgi_request.__dict__
    response = client.delete(url, HTTP_IF_MATCH='W/"999"', **headers)
    assert response.status_code == 412
    assert "headers" not in response.wsgi_request.__dict__
