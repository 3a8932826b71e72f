"""Settings › People › Provisioning activity in a real browser, fed by SCIM over real HTTP."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.factories import MembershipFactory, ScimTokenFactory, azure_group, azure_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_an_admin_reads_filters_and_downloads_the_provisioning_activity(live_server, page, log_in):
    membership = MembershipFactory(user__username="alice", tenant__slug="acme", role="admin")
    token = ScimTokenFactory(tenant=membership.tenant).plaintext
    scim = httpx.Client(
        base_url=f"{live_server.url}/t/acme/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    carol = scim.post(
        "/Users", json=azure_user("carol@contoso.com", displayName="Carol King", title="Analyst")
    ).json()
    scim.post("/Users", json=azure_user("dave@contoso.com", displayName="Dave Ray"))
    group = scim.post("/Groups", json=azure_group("Finance")).json()
    scim.patch(
        f"/Groups/{group['id']}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": carol["id"]}]}],
        },
    )
    scim.patch(
        f"/Users/{carol['id']}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "title", "value": "Manager"}],
        },
    )
    # Another tenant's change never shows.
    other = ScimTokenFactory(tenant__slug="other").plaintext
    httpx.post(
        f"{live_server.url}/t/other/scim/v2/Users",
        json=azure_user("eve@other.com", displayName="Eve Other"),
        headers={"Authorization": f"Bearer {other}"},
        timeout=10,
    )

    log_in("alice")
    page.goto(f"{live_server.url}/t/acme/settings/")
    page.get_by_role("link", name="Provisioning activity").click()

    activity = page.get_by_test_id("activity")
    expect(activity).to_contain_text("Azure AD created Carol King")
    expect(activity).to_contain_text("Azure AD added Carol King to Finance")
    expect(activity).to_contain_text(
        "Azure AD changed Carol King's job title from Analyst to Manager"
    )
    expect(activity).not_to_contain_text("Eve")
    # The search box sits beside three other filters and must stay wide enough to type in
    # (it was squeezed to a sliver).
    assert page.get_by_label("Person or group").bounding_box()["width"] >= 150

    page.get_by_label("Person or group").fill("dave")
    page.get_by_role("button", name="Filter").click()
    expect(activity).to_contain_text("Azure AD created Dave Ray")
    expect(activity).not_to_contain_text("Carol")

    page.get_by_label("Person or group").fill("")
    page.get_by_label("Change").select_option(label="Added to a group")
    page.get_by_role("button", name="Filter").click()
    expect(activity).to_contain_text("Azure AD added Carol King to Finance")
    expect(activity).not_to_contain_text("created")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    content = open(download.value.path(), encoding="utf-8").read()
    assert "Azure AD added Carol King to Finance" in content
    assert "Dave" not in content

    # From a person's page to their activity.
    page.goto(f"{live_server.url}/t/acme/settings/people/{carol['id']}/")
    page.get_by_role("link", name="Provisioning activity").last.click()
    expect(activity).to_contain_text("Azure AD created Carol King")
    expect(activity).not_to_contain_text("Dave")
