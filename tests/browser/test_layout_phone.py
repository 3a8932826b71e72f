"""Phone width (390×844): no page scrolls sideways; the side menus fold into a menu button,
tables scroll in their own box, dialogs fit. Screenshots of each page go to the test's
``tmp_path`` for a reviewer."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from elium_portal.models import Membership
from elium_portal.services.tokens import scim_token_issue
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryUserFactory,
    MembershipFactory,
    ProvisioningCycleFactory,
    ProvisioningJobStateFactory,
    ProvisioningLogEntryFactory,
    ScimGroupFactory,
    ScimUserFactory,
    TenantFactory,
    UserFactory,
    make_application,
)
from tests.provisioning.engine_support import configure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": PHONE}


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def too_wide(page, pages, tmp_path, prefix) -> dict[str, int]:
    """Visit each page; the ones wider than the phone, with their width."""
    widths = {}
    for name, address in pages.items():
        page.goto(address)
        page.screenshot(path=str(tmp_path / f"{prefix}-{name}.png"), full_page=True)
        widths[name] = page_width(page)
    return {name: width for name, width in widths.items() if width > PHONE["width"]}


def azure_pages(live_server):
    app = make_application(name="Elium")
    directory = app.directory
    user = DirectoryUserFactory(
        directory=directory, display_name="Adele Vance", department="Sales and Marketing"
    )
    group = DirectoryGroupFactory(directory=directory, display_name="Sales")
    job = configure(app, url="https://elium.example.com/t/acme/scim/v2", token="t", status="off")
    cycle = ProvisioningCycleFactory(job=job, counts={"Create.Success": 2})
    ProvisioningJobStateFactory(job=job, last_cycle=cycle)
    entry = ProvisioningLogEntryFactory(
        job=job,
        source_display=user.user_principal_name,
        steps=[
            {
                "name": "EntitlementEvaluation",
                "type": "Scoping",
                "status": "Success",
                "description": "In scope.",
                "details": {"IsActive": True, "ScopingClauses": [{"attribute": "department"}]},
            }
        ],
    )
    tenant_id = directory.tenant_id
    app_kwargs = {"tenant_id": tenant_id, "app_id": app.object_id}
    mapping = {**app_kwargs, "object_type": "user"}
    named = {
        "azure-home": reverse("provisioning:home"),
        "directory": reverse("provisioning:directory", kwargs={"tenant_id": tenant_id}),
        "users": reverse("provisioning:users", kwargs={"tenant_id": tenant_id}),
        "user": reverse(
            "provisioning:user-edit", kwargs={"tenant_id": tenant_id, "object_id": user.object_id}
        ),
        "groups": reverse("provisioning:groups", kwargs={"tenant_id": tenant_id}),
        "group": reverse(
            "provisioning:group-edit",
            kwargs={"tenant_id": tenant_id, "object_id": group.object_id},
        ),
        "apps": reverse("provisioning:apps", kwargs={"tenant_id": tenant_id}),
        "gallery": reverse("provisioning:app-new", kwargs={"tenant_id": tenant_id}),
        "app-overview": reverse("provisioning:app-overview", kwargs=app_kwargs),
        "app-users": reverse("provisioning:app-users", kwargs=app_kwargs),
        "provisioning": reverse("provisioning:provisioning", kwargs=app_kwargs),
        "mapping": reverse("provisioning:mapping", kwargs=mapping),
        "attribute-new": reverse("provisioning:attribute-new", kwargs=mapping),
        "scope-new": reverse("provisioning:scope-new", kwargs=mapping),
        "on-demand": reverse("provisioning:on-demand", kwargs=app_kwargs)
        + f"?q={user.display_name.split()[0]}",
        "logs": reverse("provisioning:logs", kwargs=app_kwargs),
        "log-detail": reverse(
            "provisioning:log-detail", kwargs={**app_kwargs, "change_id": entry.change_id}
        ),
        "audit": reverse("provisioning:app-audit", kwargs=app_kwargs),
    }
    return {name: live_server.url + path for name, path in named.items()}


def test_the_azure_console_fits_a_phone(live_server, page, log_in, tmp_path):
    UserFactory(username="admin", is_staff=True)
    pages = azure_pages(live_server)
    log_in("admin")

    assert too_wide(page, pages, tmp_path, "azure") == {}


def test_the_azure_resource_menu_folds_into_a_menu_button(live_server, page, log_in, tmp_path):
    UserFactory(username="admin", is_staff=True)
    pages = azure_pages(live_server)
    log_in("admin")
    page.goto(pages["provisioning"])

    menu = page.get_by_role("navigation", name="Resource menu")
    toggle = page.get_by_role("button", name="Menu")
    expect(menu).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(menu).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=str(tmp_path / "azure-menu-open.png"))
    menu.get_by_role("link", name="Provisioning logs").click()
    expect(page.get_by_role("heading", name="Elium | Provisioning logs")).to_be_visible()
    expect(page.get_by_role("navigation", name="Resource menu")).to_be_hidden()


def test_a_wide_table_scrolls_in_its_own_box(live_server, page, log_in):
    UserFactory(username="admin", is_staff=True)
    pages = azure_pages(live_server)
    log_in("admin")
    page.goto(pages["logs"])

    table = page.get_by_test_id("log-list")
    # However wide its rows, the table scrolls inside its own box, never the page.
    table.evaluate(
        """t => {
            const wide = document.createElement('span');
            wide.style.whiteSpace = 'nowrap';
            wide.textContent = 'x'.repeat(300);
            t.querySelector('td').appendChild(wide);
        }"""
    )
    scroll_width, client_width = table.evaluate("t => [t.scrollWidth, t.clientWidth]")
    assert scroll_width > client_width
    assert page_width(page) <= PHONE["width"]


def elium_admin(slug="acme"):
    tenant = TenantFactory(slug=slug, name="Acme")
    membership = MembershipFactory(
        tenant=tenant, role=Membership.Role.ADMIN, user=UserFactory(username="ada")
    )
    person = ScimUserFactory(tenant=tenant)
    group = ScimGroupFactory(tenant=tenant)
    scim_token_issue(tenant=tenant, actor=membership.user)
    return tenant, person, group


def test_the_elium_console_fits_a_phone(live_server, page, log_in, tmp_path):
    tenant, person, group = elium_admin()
    log_in("ada")
    base = f"{live_server.url}/t/{tenant.slug}"
    pages = {
        "tenant-home": f"{base}/",
        "profile": f"{base}/profile/",
        "settings": f"{base}/settings/",
        "members": f"{base}/settings/members/",
        "people": f"{base}/settings/people/",
        "person": f"{base}/settings/people/{person.id}/",
        "groups": f"{base}/settings/groups/",
        "group": f"{base}/settings/groups/{group.id}/",
        "security": f"{base}/settings/security/",
    }

    assert too_wide(page, pages, tmp_path, "elium") == {}


def test_the_settings_menu_folds_and_dialogs_fit(live_server, page, log_in, tmp_path):
    tenant, _, _ = elium_admin()
    log_in("ada")
    page.goto(f"{live_server.url}/t/{tenant.slug}/settings/security/")

    nav = page.get_by_role("navigation", name="Settings")
    expect(nav.get_by_role("link", name="Security")).to_be_hidden()
    page.get_by_role("button", name="Settings menu").click()
    expect(nav.get_by_role("link", name="Security")).to_be_visible()
    page.get_by_role("button", name="Settings menu").click()

    page.get_by_role("button", name="Regenerate").click()
    dialog = page.locator("dialog#regenerate-dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    page.screenshot(path=str(tmp_path / "elium-regenerate-dialog.png"))
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert page_width(page) <= PHONE["width"]
