"""The tutorial's path at a desktop width (1440 px) and at a phone width (390 px), as a new user
walks it: the Elium Security page → Generate and copy the Secret token → the Azure console:
add Elium, assign a group, Provisioning (Test Connection, Status On, Save), Provision on
demand, the logs, the audit logs. No page scrolls sideways; each step is a screenshot in the
test's ``tmp_path`` for a reviewer (not committed)."""

import pytest
from playwright.sync_api import expect

from elium_portal.models import Membership
from tests.factories import (
    DirectoryFactory,
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    DirectoryUserFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_tutorial_walk(live_server, page, log_in, tmp_path, width):
    viewport = WIDTHS[width]
    page.set_viewport_size(viewport)
    phone = width == "phone"
    shots = tmp_path / width
    shots.mkdir()
    step = iter(range(1, 100))

    def shot(name):
        page.screenshot(path=str(shots / f"{next(step):02d}-{name}.png"), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= viewport["width"], f"{name}: the page is {wide} px wide"

    def resource_link(name):
        if phone:
            page.get_by_role("button", name="Menu").click()
        page.get_by_role("navigation", name="Resource menu").get_by_role(
            "link", name=name, exact=True
        ).click()

    admin = UserFactory(username="admin", is_staff=True)
    tenant = TenantFactory(slug="acme", name="Acme")
    MembershipFactory(user=admin, tenant=tenant, role=Membership.Role.ADMIN)
    directory = DirectoryFactory(name="Contoso")
    sales = DirectoryGroupFactory(directory=directory, display_name="Sales team")
    adele = DirectoryUserFactory(directory=directory, display_name="Adele Vance")
    DirectoryGroupMemberFactory(group=sales, member_user=adele)
    page.on("dialog", lambda dialog: dialog.accept())

    # The Elium side: avatar menu → My Profile → Settings → ADVANCED › Security → Generate.
    log_in("admin")
    page.goto(f"{live_server.url}/t/acme/")
    shot("elium-home")
    page.get_by_role("button", name="Open the user menu").click()
    page.get_by_role("menuitem", name="My Profile").click()
    page.get_by_role("link", name="Settings").click()
    if phone:
        page.get_by_role("button", name="Settings menu").click()
        shot("elium-settings-menu")
    page.get_by_test_id("settings-advanced").get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Generate token").click()
    expect(page.get_by_test_id("new-token-panel")).to_be_visible()
    shot("elium-security-token")
    token = page.locator("#new-token").input_value()
    # The page shows the public URL (PUBLIC_BASE_URL); the live server listens elsewhere.
    tenant_url = (
        page.locator("#scim-endpoint").input_value().replace("http://testserver", live_server.url)
    )

    # The Azure side: add Elium from the gallery, assign the group.
    page.goto(f"{live_server.url}/azure/")
    shot("azure-home")
    page.get_by_role("link", name="Contoso").click()
    resource_link("Enterprise applications")
    page.get_by_role("link", name="+ New application").click()
    shot("azure-gallery")
    page.get_by_role("button", name="Add Elium").click()
    expect(page.get_by_role("heading", name="Elium | Overview")).to_be_visible()
    resource_link("Users and groups")
    page.get_by_label("Users and groups", exact=True).select_option(label="Sales team (group)")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_test_id("assignment-list")).to_contain_text("Sales team")
    shot("azure-users-and-groups")

    # Provisioning: Get started, credentials, Test Connection, Status On, Save.
    resource_link("Provisioning")
    page.get_by_role("link", name="Get started").click()
    page.get_by_label("Provisioning Mode").select_option("automatic")
    page.get_by_label("Tenant URL").fill(tenant_url)
    page.get_by_label("Secret Token").fill(token)
    page.get_by_role("button", name="Test Connection").click()
    notification = page.get_by_test_id("notification")
    expect(notification).to_contain_text(
        "The supplied credentials are authorized to enable provisioning"
    )
    expect(notification).to_be_focused()
    shot("azure-test-connection")
    page.keyboard.press("Escape")
    page.get_by_text("On", exact=True).click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Successfully updated Elium")).to_be_visible()
    expect(page.get_by_test_id("cycle-line")).to_contain_text("queued")
    shot("azure-provisioning-saved")

    # Provision on demand: Adele, through the group.
    resource_link("Provision on demand")
    page.get_by_label("Selected user or group").fill("Adele")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Provision").click()
    result = page.get_by_test_id("on-demand-result")
    expect(result).to_contain_text("1. Import user")
    for details in result.get_by_text("View details").all():
        details.click()
    shot("azure-provision-on-demand")

    # The logs and the audit logs.
    resource_link("Provisioning logs")
    expect(page.get_by_test_id("log-list")).to_contain_text(adele.user_principal_name)
    shot("azure-provisioning-logs")
    page.get_by_test_id("log-list").get_by_role("link", name=adele.user_principal_name).click()
    page.get_by_text("Details").first.click()
    shot("azure-log-details")
    resource_link("Audit logs")
    expect(page.get_by_test_id("audit-list")).to_contain_text("Test connection")
    shot("azure-audit-logs")
