"""Settings › Security: who may see it, what it shows, and that it never leaks across tenants."""

import pytest

from elium_portal.models import AuditEvent, Membership, ScimToken
from elium_portal.services.tokens import scim_token_authenticate, scim_token_issue
from tests.factories import MembershipFactory, ScimTokenFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    membership = MembershipFactory(role=Membership.Role.ADMIN)
    client.force_login(membership.user)
    return membership


def url(tenant, suffix=""):
    return f"/t/{tenant.slug}/settings/security/{suffix}"


def test_member_who_is_not_admin_gets_403_and_no_advanced_group(client):
    member = MembershipFactory(role=Membership.Role.MEMBER)
    client.force_login(member.user)

    settings_page = client.get(f"/t/{member.tenant.slug}/settings/")
    assert settings_page.status_code == 200
    assert "ADVANCED" not in settings_page.content.decode()
    assert client.get(url(member.tenant)).status_code == 403
    assert client.post(url(member.tenant, "token/generate/")).status_code == 403
    assert client.post(url(member.tenant, "scim/"), {"enabled": "on"}).status_code == 403
    assert not ScimToken.objects.exists()


def test_admin_sees_advanced_security(client, admin):
    page = client.get(f"/t/{admin.tenant.slug}/settings/").content.decode()

    assert "ADVANCED" in page
    assert url(admin.tenant) in page


def test_anonymous_is_sent_to_login(client):
    tenant = TenantFactory()

    response = client.get(url(tenant))

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_security_page_shows_tenant_url_and_scim_endpoint(client, admin, settings):
    settings.PUBLIC_BASE_URL = "https://portal.example.com"

    page = client.get(url(admin.tenant)).content.decode()

    assert f"https://portal.example.com/t/{admin.tenant.slug}" in page
    assert f"https://portal.example.com/t/{admin.tenant.slug}/scim/v2" in page
    assert "Generate token" in page


def test_generate_shows_the_token_once(client, admin):
    response = client.post(url(admin.tenant, "token/generate/"))

    token = response.context["new_token"]
    assert token in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert scim_token_authenticate(plaintext=token).tenant == admin.tenant
    again = client.get(url(admin.tenant)).content.decode()
    assert token not in again
    assert token[-4:] in again  # the identifying last four remain
    assert "Regenerate" in again


def test_generate_with_past_expiry_shows_a_field_error_and_issues_nothing(client, admin):
    response = client.post(url(admin.tenant, "token/generate/"), {"expires_at": "2001-01-01"})

    assert response.status_code == 400
    assert "must be in the future" in response.content.decode()
    assert not ScimToken.objects.exists()


def test_regenerate_and_revoke_through_the_page(client, admin):
    old = ScimTokenFactory(tenant=admin.tenant)

    response = client.post(url(admin.tenant, "token/regenerate/"), {"old_token_stops": "24h"})
    new = response.context["new_token"]
    assert scim_token_authenticate(plaintext=old.plaintext) is not None  # grace period
    assert "grace period" in response.content.decode()

    client.post(url(admin.tenant, f"token/{old.key_id}/revoke/"))
    assert scim_token_authenticate(plaintext=old.plaintext) is None
    assert scim_token_authenticate(plaintext=new) is not None


def test_bad_grace_choice_is_a_field_error(client, admin):
    ScimTokenFactory(tenant=admin.tenant)

    response = client.post(url(admin.tenant, "token/regenerate/"), {"old_token_stops": "forever"})

    assert response.status_code == 400
    assert ScimToken.objects.count() == 1


def test_scim_switch_turns_provisioning_off_and_on(client, admin):
    client.post(url(admin.tenant, "scim/"), {})
    admin.tenant.refresh_from_db()
    assert admin.tenant.scim_enabled is False
    assert "is disabled" in client.get(url(admin.tenant)).content.decode()

    client.post(url(admin.tenant, "scim/"), {"enabled": "on"})
    admin.tenant.refresh_from_db()
    assert admin.tenant.scim_enabled is True


def test_recent_activity_lists_the_tenants_events_only(client, admin):
    scim_token_issue(tenant=admin.tenant, actor=admin.user, ip="192.0.2.7")
    other = TenantFactory()
    scim_token_issue(tenant=other, label="someone-else", ip="198.51.100.9")

    page = client.get(url(admin.tenant)).content.decode()

    assert "Secret token generated" in page
    assert "192.0.2.7" in page
    assert "198.51.100.9" not in page
    assert "someone-else" not in page


def test_cannot_see_or_touch_another_tenants_security(client, admin):
    other = TenantFactory()
    other_token = ScimTokenFactory(tenant=other)

    assert client.get(url(other)).status_code == 404
    assert client.post(url(other, "token/generate/")).status_code == 404
    assert client.post(url(other, "scim/"), {}).status_code == 404
    # Revoking another tenant's token through my own tenant's URL fails closed.
    response = client.post(url(admin.tenant, f"token/{other_token.key_id}/revoke/"))
    assert response.status_code == 404
    assert scim_token_authenticate(plaintext=other_token.plaintext) is not None
    assert not AuditEvent.objects.filter(tenant=other, action="token.revoked").exists()
