"""Elium console pages over SCIM data: People › Members, Groups, recent requests."""

import pytest

from elium_portal.models import AuditEvent, Membership
from tests.factories import MembershipFactory, azure_group, azure_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(client, tenant):
    membership = MembershipFactory(tenant=tenant, role=Membership.Role.MEMBER)
    client.force_login(membership.user)
    return client


def seed(scim):
    alice = scim.post("/Users", azure_user("alice@contoso.com", displayName="Alice")).json()
    bob = scim.post("/Users", azure_user("bob@contoso.com", displayName="Bob", active=False))
    group = scim.post("/Groups", azure_group("Engineering")).json()
    scim.patch(
        f"/Groups/{group['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": alice["id"]}]}],
        },
    )
    return alice, bob.json(), group


def test_members_page_lists_searches_and_filters(scim, member_client):
    alice, bob, _ = seed(scim)

    page = member_client.get("/t/acme/settings/people/").content.decode()
    assert "Alice" in page
    assert "Bob" in page
    assert "Provisioned by SCIM" in page

    active = member_client.get("/t/acme/settings/people/?state=active").content.decode()
    assert "Alice" in active
    assert "Bob" not in active
    deactivated = member_client.get("/t/acme/settings/people/?state=deactivated").content.decode()
    assert "Bob" in deactivated
    assert "Alice" not in deactivated
    searched = member_client.get("/t/acme/settings/people/?q=smith").content.decode()
    assert "Alice" in searched  # familyName from Azure's POST


def test_member_detail_shows_groups_and_is_read_only(scim, member_client):
    alice, _, group = seed(scim)

    page = member_client.get(f"/t/acme/settings/people/{alice['id']}/").content.decode()

    assert "Engineering" in page
    assert "read-only" in page
    assert "<form" not in page.split("person-details")[1]


def test_group_page_lists_members(scim, member_client):
    _, _, group = seed(scim)

    page = member_client.get(f"/t/acme/settings/groups/{group['id']}/").content.decode()

    assert "Alice" in page
    assert "1 member" in page


def test_console_never_shows_another_tenants_people(scim, other_scim, member_client):
    foreign = other_scim.post("/Users", azure_user("victim@other.com")).json()
    foreign_group = other_scim.post("/Groups", azure_group("Victims")).json()

    assert "victim" not in member_client.get("/t/acme/settings/people/").content.decode()
    assert member_client.get(f"/t/acme/settings/people/{foreign['id']}/").status_code == 404
    assert member_client.get(f"/t/acme/settings/groups/{foreign_group['id']}/").status_code == 404
    assert member_client.get("/t/other/settings/people/").status_code == 404


def test_recent_requests_panel_is_for_admins_of_the_tenant(scim, client, tenant):
    scim.get("/Users/not-there")
    admin = MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN)
    member = MembershipFactory(tenant=tenant, role=Membership.Role.MEMBER)

    client.force_login(member.user)
    assert client.get("/t/acme/settings/security/requests/").status_code == 403
    client.force_login(admin.user)
    panel = client.get("/t/acme/settings/security/requests/").content.decode()
    assert "/t/acme/scim/v2/Users/not-there" in panel
    assert "404" in panel


def test_scim_settings_change_policy_and_log_level_audited(client, tenant):
    admin = MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN)
    client.force_login(admin.user)

    client.post(
        "/t/acme/settings/security/scim-settings/",
        {"compatibility": "strict", "request_log_level": "all"},
    )

    tenant.refresh_from_db()
    assert tenant.scim_compatibility == "strict"
    assert tenant.scim_request_log_level == "all"
    event = AuditEvent.objects.get(action="scim.settings_changed")
    assert event.details["compatibility"] == ["azure", "strict"]
    bad = client.post(
        "/t/acme/settings/security/scim-settings/",
        {"compatibility": "lax", "request_log_level": "all"},
    )
    assert bad.status_code == 400


def test_console_search_with_a_nul_character_is_harmless(member_client):
    assert member_client.get("/t/acme/settings/people/?q=%00").status_code == 200
    assert member_client.get("/t/acme/settings/groups/?q=%00").status_code == 200


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ({"givenName": "<b>x</b>", "familyName": "Tester"}, "&lt;b&gt;x&lt;/b&gt; Tester"),
        ({"familyName": "Tester"}, "Tester"),
        ({"formatted": "Ada Lovelace", "givenName": "Ada"}, "Ada Lovelace <span"),
        (None, "—"),
    ],
)
def test_member_name_without_formatted_shows_the_parts_and_no_dash(
    scim, member_client, name, shown
):
    body = azure_user("x@contoso.com", name=name) if name else azure_user("x@contoso.com")
    if name is None:
        body.pop("name")
    person = scim.post("/Users", body).json()

    page = member_client.get(f"/t/acme/settings/people/{person['id']}/").content.decode()

    dd = page.split('data-testid="person-name">')[1].split("</dd>")[0]
    assert dd.startswith(shown)
    assert "<b>" not in dd
    if shown != "—":
        assert "—" not in dd
