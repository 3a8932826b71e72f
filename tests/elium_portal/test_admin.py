"""The Django admin for support staff: tokens read-only, digest never shown, revoke audited."""

import pytest
from django.contrib.auth import get_user_model

from elium_portal.models import AuditEvent
from elium_portal.services.tokens import scim_token_authenticate
from tests.factories import ScimTokenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("support", "s@example.com", "pw-support-1")
    client.force_login(user)
    return user


def test_token_list_and_detail_never_show_the_digest(client, staff):
    token = ScimTokenFactory()

    listing = client.get("/admin/elium_portal/scimtoken/").content.decode()
    detail = client.get(f"/admin/elium_portal/scimtoken/{token.pk}/change/").content.decode()

    assert token.display_prefix in listing
    for page in (listing, detail):
        assert token.digest not in page
        assert token.plaintext not in page
    assert client.get("/admin/elium_portal/scimtoken/add/").status_code == 403


def test_revoke_action_revokes_and_is_audited(client, staff):
    token = ScimTokenFactory()

    response = client.post(
        "/admin/elium_portal/scimtoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        REMOTE_ADDR="203.0.113.5",
    )

    assert response.status_code == 302
    assert scim_token_authenticate(plaintext=token.plaintext) is None
    event = AuditEvent.objects.get(tenant=token.tenant, action="token.revoked")
    assert event.actor_label == "support:support"
    assert event.ip == "203.0.113.5"


def test_tenants_and_memberships_are_registered(client, staff):
    assert client.get("/admin/elium_portal/tenant/").status_code == 200
    assert client.get("/admin/elium_portal/membership/").status_code == 200
    assert client.get("/admin/elium_portal/auditevent/").status_code == 200
