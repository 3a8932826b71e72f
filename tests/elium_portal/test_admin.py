"""The Django admin for support staff: tokens read-only, digest never shown, revoke audited."""

import pytest
from django.contrib.auth import get_user_model

from elium_portal.models import AuditEvent
from elium_portal.services.tokens import scim_token_authenticate, scim_token_issue
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("support", "s@example.com", "pw-support-1")
    client.force_login(user)
    return user


def test_token_list_and_detail_never_show_the_digest(client, staff):
    issued = scim_token_issue(tenant=TenantFactory())

    listing = client.get("/admin/elium_portal/scimtoken/").content.decode()
    detail = client.get(f"/admin/elium_portal/scimtoken/{issued.token.pk}/change/").content.decode()

    assert issued.token.display_prefix in listing
    for page in (listing, detail):
        assert issued.token.digest not in page
        assert issued.plaintext not in page
    assert client.get("/admin/elium_portal/scimtoken/add/").status_code == 403


def test_revoke_action_revokes_and_is_audited(client, staff):
    tenant = TenantFactory()
    issued = scim_token_issue(tenant=tenant)

    response = client.post(
        "/admin/elium_portal/scimtoken/",
        {"action": "revoke", "_selected_action": [issued.token.pk]},
        REMOTE_ADDR="203.0.113.5",
    )

    assert response.status_code == 302
    assert scim_token_authenticate(plaintext=issued.plaintext) is None
    event = AuditEvent.objects.get(tenant=tenant, action="token.revoked")
    assert event.actor_label == "support:support"
    assert event.ip == "203.0.113.5"


def test_tenants_and_memberships_are_registered(client, staff):
    assert client.get("/admin/elium_portal/tenant/").status_code == 200
    assert client.get("/admin/elium_portal/membership/").status_code == 200
    assert client.get("/admin/elium_portal/auditevent/").status_code == 200
