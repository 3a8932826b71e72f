"""Settings › Security: who may see it, what it shows, and that it never leaks across tenants."""

import pytest

from elium_portal.models import DEMO_SEED_TOKEN_LABEL, AuditEvent, Membership, ScimToken
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


def opened_form(client, tenant, name="generate_form", **data):
    """The POST data of a Generate/Regenerate form as the Security page serves it: with its
    one-time submission id."""
    form = client.get(url(tenant)).context[name]
    return {"submission": form.initial["submission"], **data}


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
    response = client.post(url(admin.tenant, "token/generate/"), opened_form(client, admin.tenant))

    token = response.context["new_token"]
    assert token in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert scim_token_authenticate(plaintext=token).tenant == admin.tenant
    again = client.get(url(admin.tenant)).content.decode()
    assert token not in again
    assert token[-4:] in again  # the identifying last four remain
    assert "Regenerate" in again


def test_generate_with_past_expiry_shows_a_field_error_and_issues_nothing(client, admin):
    response = client.post(
        url(admin.tenant, "token/generate/"),
        opened_form(client, admin.tenant, expires_at="2001-01-01"),
    )

    assert response.status_code == 400
    assert "must be in the future" in response.content.decode()
    assert not ScimToken.objects.exists()


def test_regenerate_and_revoke_through_the_page(client, admin):
    old = ScimTokenFactory(tenant=admin.tenant)

    response = client.post(
        url(admin.tenant, "token/regenerate/"),
        opened_form(client, admin.tenant, "regenerate_form", old_token_stops="24h"),
    )
    new = response.context["new_token"]
    assert scim_token_authenticate(plaintext=old.plaintext) is not None  # grace period
    assert "grace period" in response.content.decode()

    client.post(url(admin.tenant, f"token/{old.key_id}/revoke/"))
    assert scim_token_authenticate(plaintext=old.plaintext) is None
    assert scim_token_authenticate(plaintext=new) is not None


def test_bad_grace_choice_is_a_field_error(client, admin):
    ScimTokenFactory(tenant=admin.tenant)

    response = client.post(
        url(admin.tenant, "token/regenerate/"),
        opened_form(client, admin.tenant, "regenerate_form", old_token_stops="forever"),
    )

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


def test_a_refreshed_generate_post_issues_no_second_token(client, admin):
    data = opened_form(client, admin.tenant)
    first = client.post(url(admin.tenant, "token/generate/"), data)
    token = first.context["new_token"]

    again = client.post(url(admin.tenant, "token/generate/"), data)  # F5 re-posts the same form

    assert again.status_code == 409
    page = again.content.decode()
    assert "already submitted, so no new token was issued" in page
    assert "new-token-panel" not in page
    assert ScimToken.objects.filter(tenant=admin.tenant).count() == 1
    assert scim_token_authenticate(plaintext=token) is not None


def test_a_replayed_regenerate_post_does_not_push_the_new_token_into_grace(client, admin):
    scim_token_issue(tenant=admin.tenant)
    data = opened_form(client, admin.tenant, "regenerate_form", old_token_stops="1h")
    new = client.post(url(admin.tenant, "token/regenerate/"), data).context["new_token"]

    replay = client.post(url(admin.tenant, "token/regenerate/"), data)

    assert replay.status_code == 409
    assert ScimToken.objects.filter(tenant=admin.tenant).count() == 2
    token = scim_token_authenticate(plaintext=new)
    assert token is not None
    assert token.expires_at is None  # still the current token, not in a grace period


@pytest.mark.parametrize("submission", ["", "forged", "e30:1v1:abc"])
def test_a_form_without_a_genuine_submission_id_issues_nothing(client, admin, submission):
    response = client.post(url(admin.tenant, "token/generate/"), {"submission": submission})

    assert response.status_code == 400
    assert "No token was issued" in response.content.decode()
    assert not ScimToken.objects.exists()


def test_a_form_opened_by_another_admin_or_tenant_cannot_be_submitted(client, admin):
    stolen = opened_form(client, admin.tenant)
    other_admin = MembershipFactory(role=Membership.Role.ADMIN, tenant=admin.tenant)
    elsewhere = MembershipFactory(role=Membership.Role.ADMIN, user=admin.user)
    client.force_login(other_admin.user)
    assert client.post(url(admin.tenant, "token/generate/"), stolen).status_code == 400

    client.force_login(admin.user)
    assert client.post(url(elsewhere.tenant, "token/generate/"), stolen).status_code == 400
    assert not ScimToken.objects.exists()


def test_every_security_response_is_no_store(client, admin):
    token = scim_token_issue(tenant=admin.tenant)
    responses = [
        client.get(url(admin.tenant)),
        client.post(url(admin.tenant, "token/generate/"), {"submission": "forged"}),
        client.post(url(admin.tenant, "scim/"), {"enabled": "on"}),
        client.post(url(admin.tenant, "scim-settings/"), {"compatibility": "bogus"}),
        client.post(url(admin.tenant, f"token/{token.token.key_id}/revoke/")),
    ]

    for response in responses:
        assert "no-store" in response["Cache-Control"], response.request["PATH_INFO"]


def test_after_revoke_the_page_says_the_token_was_revoked(client, admin):
    issued = scim_token_issue(tenant=admin.tenant)
    client.post(url(admin.tenant, f"token/{issued.token.key_id}/revoke/"))

    page = client.get(url(admin.tenant)).content.decode()

    assert f"The Secret token <code>{issued.token.display_prefix}</code> was revoked on" in page
    assert "No Secret token has been generated yet" not in page
    assert "Generate token" in page


def test_a_tenant_that_never_had_a_token_says_so(client, admin):
    page = client.get(url(admin.tenant)).content.decode()

    assert "No Secret token has been generated yet" in page


def test_the_demo_seeds_token_says_where_it_is_and_how_to_copy_one(client, admin):
    scim_token_issue(tenant=admin.tenant, label=DEMO_SEED_TOKEN_LABEL)

    page = client.get(url(admin.tenant)).content.decode()

    assert 'data-testid="demo-token-note"' in page
    assert "generated by the demo seed" in page
    assert "already saved as the <strong>Secret Token</strong> in the Provisioning tab" in page
    assert "choose <strong>Regenerate</strong>" in page


def test_a_token_an_admin_generated_has_no_demo_note(client, admin):
    scim_token_issue(tenant=admin.tenant, actor=admin.user)

    page = client.get(url(admin.tenant)).content.decode()

    assert 'data-testid="demo-token-note"' not in page
