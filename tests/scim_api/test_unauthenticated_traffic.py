"""Unauthenticated SCIM traffic costs almost nothing and writes almost nothing: an address that
keeps failing authentication is refused before authentication (a SCIM 429 with Retry-After),
and its 401s are recorded as one request-log row per (tenant, address, minute) with a count."""

import pytest

from elium_portal.models import Membership
from scim_api import ratelimit
from scim_api.models import ScimRequestLog
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BAD = "Bearer elium_scim_aaaaaaaaaaaa_wrong-secret"


def bad_request(client, *, slug="acme", ip="203.0.113.7", path="/Users"):
    return client.get(f"/t/{slug}/scim/v2{path}", HTTP_AUTHORIZATION=BAD, REMOTE_ADDR=ip)


def test_repeated_401s_are_one_row_per_tenant_address_and_minute(client, tenant, clock, settings):
    settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE = 1_000
    other = TenantFactory(slug="other")

    statuses = {bad_request(client).status_code for _ in range(30)}
    bad_request(client, path="/Groups")
    bad_request(client, ip="198.51.100.2")
    bad_request(client, slug="other")
    clock.advance(minutes=1)
    bad_request(client)

    assert statuses == {401}
    rows = ScimRequestLog.objects.order_by("id")
    assert [(r.tenant, r.client_ip, r.status, r.count) for r in rows] == [
        (tenant, "203.0.113.7", 401, 31),
        (tenant, "198.51.100.2", 401, 1),
        (other, "203.0.113.7", 401, 1),
        (tenant, "203.0.113.7", 401, 1),
    ]
    assert rows[0].token_prefix == ""
    assert rows[0].request_body == ""


def test_a_flood_of_bad_tokens_is_refused_before_authentication(
    client, tenant, settings, django_assert_num_queries
):
    settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE = 5

    responses = [bad_request(client) for _ in range(960)]

    assert [r.status_code for r in responses[:5]] == [401] * 5
    assert {r.status_code for r in responses[5:]} == {429}
    refused = responses[-1]
    assert refused["Content-Type"].startswith("application/scim+json")
    assert refused.json()["schemas"] == [ERROR]
    assert refused.json()["status"] == "429"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # 960 requests, one row.
    assert ScimRequestLog.objects.get().count == 5
    # A refusal touches no database at all: not the token table, not the log.
    with django_assert_num_queries(0):
        assert bad_request(client).status_code == 429


def test_a_blocked_address_does_not_block_other_addresses(scim, client, tenant, settings):
    settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE = 3
    for _ in range(10):
        bad_request(client, ip="203.0.113.66")

    # The provisioning client, from its own address, goes on working.
    assert scim.get("/Users").status_code == 200
    # Even a valid token is refused from the blocked address: it is refused before anyone
    # looks at the token.
    blocked = client.get(
        "/t/acme/scim/v2/Users",
        HTTP_AUTHORIZATION=f"Bearer {scim.token}",
        REMOTE_ADDR="203.0.113.66",
    )
    assert blocked.status_code == 429


def test_real_failures_stay_on_the_security_page_after_a_flood(scim, client, tenant, settings):
    settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE = 1_000
    scim.get("/Users/00000000-0000-0000-0000-00000000dead")
    for _ in range(100):
        bad_request(client)
    admin = MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN)
    client.force_login(admin.user)

    panel = client.get("/t/acme/settings/security/requests/").content.decode()

    assert "00000000-0000-0000-0000-00000000dead" in panel
    assert "×100" in panel


def test_the_admin_shows_the_count(client, tenant, admin_user, settings):
    settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE = 1_000
    for _ in range(7):
        bad_request(client)
    client.force_login(admin_user)

    listing = client.get("/admin/scim_api/scimrequestlog/").content.decode()
    entry = ScimRequestLog.objects.get()
    detail = client.get(f"/admin/scim_api/scimrequestlog/{entry.pk}/change/").content.decode()

    assert "field-count" in listing
    assert ">7<" in listing
    assert "7" in detail.split("Count")[1][:200]


def test_auth_failure_budget_is_per_address_and_minute(settings):
    settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE = 2
    minute = 1_000_000 * 60.0

    for _ in range(2):
        assert ratelimit.auth_failures_wait("192.0.2.1", now=minute + 10) is None
        ratelimit.auth_failure_record("192.0.2.1", now=minute + 10)

    assert ratelimit.auth_failures_wait("192.0.2.1", now=minute + 15) == 45
    assert ratelimit.auth_failures_wait("192.0.2.2", now=minute + 15) is None
    assert ratelimit.auth_failures_wait("192.0.2.1", now=minute + 60) is None


def test_auth_failure_budget_zero_turns_the_limit_off(settings):
    settings.SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE = 0

    for _ in range(50):
        ratelimit.auth_failure_record("192.0.2.1")

    assert ratelimit.auth_failures_wait("192.0.2.1") is None
