"""People › Members and Groups in a real browser, fed by SCIM over real HTTP."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.factories import MembershipFactory, ScimTokenFactory, azure_group, azure_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_provisioned_members_appear_in_the_console(live_server, page, log_in):
    membership = MembershipFactory(user__username="alice", tenant__slug="acme", role="admin")
    token = ScimTokenFactory(tenant=membership.tenant).plaintext
    scim = httpx.Client(
        base_url=f"{live_server.url}/t/acme/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    carol = scim.post("/Users", json=azure_user("carol@contoso.com", displayName="Carol")).json()
    scim.post("/Users", json=azure_user("dave@contoso.com", displayName="Dave", active=False))
    group = scim.post("/Groups", json=azure_group("Sales")).json()
    scim.patch(
        f"/Groups/{group['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": carol["id"]}]}],
        },
    )

    log_in("alice")
    page.goto(f"{live_server.url}/t/acme/settings/")
    page.get_by_role("link", name="Members", exact=True).click()

    people = page.get_by_test_id("people")
    expect(people).to_contain_text("Carol")
    expect(people).to_contain_text("Dave")
    page.get_by_label("Status").select_option("deactivated")
    page.get_by_role("button", name="Filter").click()
    expect(people).to_contain_text("Dave")
    expect(people).not_to_contain_text("Carol")

    page.get_by_label("Status").select_option("all")
    page.get_by_label("Search members").fill("carol")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="Carol").click()
    expect(page.get_by_test_id("person-details")).to_contain_text("carol@contoso.com")
    page.get_by_role("link", name="Sales").click()
    expect(page.get_by_test_id("group-members")).to_contain_text("Carol")

    # The Security page summarises recent provisioning requests (errors by default).
    scim.get("/Users/00000000-0000-0000-0000-000000000000")
    page.goto(f"{live_server.url}/t/acme/settings/security/")
    expect(page.get_by_test_id("recent-requests")).to_contain_text("404")
