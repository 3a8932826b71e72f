"""Console behaviour of issue 12 in Chromium: Save with Provisioning Status On says the first
cycle is queued; Restart asks once and, on a stopped job, says it stays Off; the status
panel's expanders survive its polling; the logs' filter bar is one row at 1440 px."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from provisioning.models import ProvisioningAuditEvent
from tests.factories import (
    DirectoryUserFactory,
    MembershipFactory,
    ProvisioningLogEntryFactory,
    TenantFactory,
    UserFactory,
    make_application,
)
from tests.provisioning.engine_support import configure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TENANT_URL = "https://elium.example.com/t/acme/scim/v2"


def blade(live_server, app, name="provisioning"):
    kwargs = {"tenant_id": app.directory.tenant_id, "app_id": app.object_id}
    return live_server.url + reverse(f"provisioning:{name}", kwargs=kwargs)


@pytest.fixture
def admin(log_in):
    UserFactory(username="admin", is_staff=True)
    log_in("admin")


def test_save_with_status_on_says_the_first_cycle_is_queued(live_server, page, admin):
    app = make_application(name="Elium")
    configure(app, url=TENANT_URL, token="t", status="off")
    page.goto(blade(live_server, app))

    page.get_by_text("On", exact=True).click()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Successfully updated Elium")).to_be_visible()
    expect(page.get_by_test_id("cycle-line")).to_have_text(
        "Initial cycle queued: it starts in a few seconds."
    )


def test_restart_of_a_stopped_job_asks_once_and_says_it_stays_off(live_server, page, admin):
    app = make_application(name="Elium")
    configure(app, url=TENANT_URL, token="t", status="on")
    configure(app, url=TENANT_URL, token="t", status="off")
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.goto(blade(live_server, app))
    page.get_by_role("button", name="Restart provisioning").click()

    expect(page.get_by_text("Provisioning Status is Off: no cycle runs")).to_be_visible()
    assert questions == ["Are you sure you want to restart provisioning?"]
    expect(page.locator("button[value=start]")).to_be_enabled()
    restart = app.audit_events.get(activity=ProvisioningAuditEvent.Activity.RESTART)
    assert restart.details["initial_cycle_queued"] is False


def test_status_expanders_stay_open_while_the_panel_refreshes(live_server, page, admin):
    app = make_application(name="Elium")
    configure(app, url=TENANT_URL, token="t", status="on")  # queued, no worker: it polls
    page.goto(blade(live_server, app))
    panel = page.get_by_test_id("current-status")
    expect(panel).to_have_attribute("data-live", "1")

    page.get_by_text("View provisioning details").click()
    page.get_by_text("View technical information").click()
    page.get_by_test_id("statistics").click()  # a click inside reloads nothing
    for _ in range(2):  # two polls of the panel
        with page.expect_response(lambda r: r.url.endswith("/provisioning/status/")):
            pass
    page.get_by_role("button", name="Refresh").click()

    expect(page.locator('details[data-keep-open="provisioning-details"]')).to_have_attribute(
        "open", ""
    )
    expect(page.locator('details[data-keep-open="technical-information"]')).to_have_attribute(
        "open", ""
    )
    expect(page.get_by_test_id("statistics")).to_be_visible()


def test_the_logs_filter_bar_is_one_row_at_1440_px(live_server, page, admin):
    page.set_viewport_size({"width": 1440, "height": 900})
    app = make_application(name="Elium")
    ProvisioningLogEntryFactory(job=app.provisioning_job, status="Failure")
    page.goto(blade(live_server, app, "logs"))

    bar = page.get_by_test_id("log-filters")
    expect(bar.locator("select[name=date]")).to_have_value("24h")
    tops = bar.evaluate("f => [...f.children].map(c => Math.round(c.getBoundingClientRect().top))")
    assert max(tops) - min(tops) < 30, tops  # one row (aligned to the bottom)
    expect(page.get_by_test_id("log-list").locator(".az-status-failure")).to_have_count(1)

    bar.get_by_text("More filters").click()
    expect(bar.locator("input[name=cycle_id]")).to_be_visible()


def test_after_test_connection_focus_is_on_the_notification_and_esc_closes_it(
    live_server, page, admin
):
    app = make_application(name="Elium")
    configure(app, url=TENANT_URL, token="t", status="off")
    page.goto(blade(live_server, app))

    page.get_by_label("Tenant URL").fill("ftp://elium.example.com/scim")
    page.get_by_label("Secret Token").fill("token")
    page.get_by_role("button", name="Test Connection").click()

    notification = page.get_by_test_id("notification")
    expect(notification).to_contain_text("You appear to have entered invalid credentials.")
    expect(notification).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#notifications")).to_be_hidden()
    expect(page.get_by_role("button", name="Test Connection")).to_be_focused()


def test_the_avatar_menu_works_from_the_keyboard(live_server, page, log_in):
    membership = MembershipFactory(
        tenant=TenantFactory(slug="acme"), user=UserFactory(username="ada")
    )
    log_in("ada")
    page.goto(f"{live_server.url}/t/{membership.tenant.slug}/")
    button = page.get_by_role("button", name="Open the user menu")
    items = page.get_by_role("menuitem")

    button.focus()
    page.keyboard.press("ArrowDown")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(items.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="My Profile")).to_be_focused()
    page.keyboard.press("End")
    expect(page.get_by_role("menuitem", name="Sign out")).to_be_focused()
    page.keyboard.press("ArrowDown")  # wraps round
    expect(items.first).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_role("menuitem", name="Sign out")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("menu")).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Enter")  # Enter opens it on the first item too
    expect(items.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/t/acme/profile/")


def test_live_expression_feedback_names_an_attribute_the_directory_lacks(live_server, page, admin):
    app = make_application(name="Elium")
    kwargs = {"tenant_id": app.directory.tenant_id, "app_id": app.object_id, "object_type": "user"}
    page.goto(live_server.url + reverse("provisioning:attribute-new", kwargs=kwargs))

    page.get_by_label("Mapping type").select_option("Expression")
    expression = page.get_by_label("Expression")
    feedback = page.get_by_test_id("expression-feedback")
    expression.fill('Join(" ", [givenName], [surnmae])')
    expect(feedback).to_have_text(
        "The directory has no attribute [surnmae]. Choose one of the source attributes."
    )
    expression.fill('Join(" ", [givenName], [surname])')
    expect(feedback).to_have_text("The expression was correctly parsed.")


def test_the_assignment_picker_finds_a_user_among_many(live_server, page, admin):
    app = make_application(name="Elium")
    DirectoryUserFactory.create_batch(55, directory=app.directory)
    wanted = DirectoryUserFactory(directory=app.directory, display_name="Zoe Quartermaine")
    kwargs = {"tenant_id": app.directory.tenant_id, "app_id": app.object_id}
    page.goto(live_server.url + reverse("provisioning:app-users", kwargs=kwargs))
    expect(page.get_by_test_id("picker-count")).to_contain_text("Showing 50 of 56")

    page.get_by_label("Search the directory").fill("quarter")
    page.get_by_role("button", name="Search").click()
    label = f"Zoe Quartermaine ({wanted.user_principal_name})"
    page.get_by_label("Users and groups", exact=True).select_option(label=label)
    page.get_by_role("button", name="Assign").click()

    row = page.get_by_test_id("assignment-list")
    expect(row).to_contain_text("Zoe Quartermaine")
    expect(row).to_contain_text(wanted.user_principal_name)
