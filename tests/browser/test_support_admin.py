"""The support walk of issue 13 in a real Chromium, as a ``Support`` user: a person out of the
scope of a scoping filter was skipped by a real cycle → found by UPN in the admin → the entry
names the failing clause → the job page shows the cycle; and a failed SCIM request on the Elium
side → its provisioning log entry."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from elium_portal.services.support import support_user_ensure
from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.scoping import ScopingClause, ScopingFilter, ScopingOperator
from provisioning.services.mappings import object_mapping_scoping_filter_add
from tests.factories import (
    DirectoryUserFactory,
    ProvisioningLogEntryFactory,
    ScimRequestLogFactory,
)
from tests.factories.elium import PASSWORD
from tests.provisioning.engine_support import assign, make_app, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(live_server, settings):
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0
    support_user_ensure(username="sam.support", role="support", password=PASSWORD)
    target = make_target(live_server)
    app = make_app(target, template="elium", status="off")
    object_mapping_scoping_filter_add(
        mapping=app.provisioning_job.mappings.get(object_type="user"),
        scoping_filter=ScopingFilter(
            "Sales only", (ScopingClause("department", ScopingOperator.EQUALS, "Sales"),)
        ),
    )
    alice = DirectoryUserFactory(
        directory=app.directory,
        given_name="Alice",
        surname="Smith",
        department="Finance",
    )
    bob = DirectoryUserFactory(
        directory=app.directory, given_name="Bob", surname="Jones", department="Sales"
    )
    assign(app, alice)
    assign(app, bob)
    cycle = provisioning_cycle_run(job=app.provisioning_job)
    return app, alice, cycle


def test_support_finds_why_alice_was_not_provisioned(scene, live_server, page, log_in):
    app, alice, cycle = scene
    log_in("sam.support")

    page.goto(f"{live_server.url}/admin/provisioning/provisioninglogentry/")
    page.locator("#searchbar").fill(alice.user_principal_name)
    page.locator("#changelist-search input[type=submit]").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Skipped")
    rows.first.locator("a").first.click()

    steps = page.locator(".field-steps_table")
    expect(steps).to_contain_text("EntrySynchronizationScoping")
    expect(steps).to_contain_text("Sales only")
    expect(steps).to_contain_text("department")
    expect(steps).to_contain_text("values differ")
    expect(page.locator(".field-directory_object")).to_contain_text(str(alice.object_id))

    page.locator(".field-job_link a").click()
    expect(page.locator(".field-last_cycle")).to_contain_text(str(cycle.cycle_id))
    expect(page.locator(".field-recent_cycles")).to_contain_text(str(cycle.cycle_id))
    expect(page.get_by_role("button", name="Start provisioning")).to_have_count(0)


def test_support_goes_from_a_failed_scim_request_to_its_log_entry(scene, live_server, page, log_in):
    app, _, _ = scene
    entry = ProvisioningLogEntryFactory(
        job=app.provisioning_job,
        source_display="Carol Failing",
        status="Failure",
        action="Create",
        error_code="SystemForCrossDomainIdentityManagementBadRequest",
        error_reason="Elium refused the user: 400 invalidValue",
    )
    ScimRequestLogFactory(
        tenant__slug="other-co",
        method="POST",
        status=400,
        path="/t/other-co/scim/v2/Users",
        client_request_id=entry.change_id,
    )
    log_in("sam.support")

    page.goto(f"{live_server.url}/admin/scim_api/scimrequestlog/?status=errors")
    rows = page.locator("#result_list tbody tr", has_text="/t/other-co/scim/v2/Users")
    expect(rows).to_have_count(1)
    rows.first.locator("a").first.click()
    page.get_by_role("link", name="Provisioning log entry of this exchange").click()

    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    rows.first.locator("a").first.click()
    expect(page.locator(".field-error_reason")).to_contain_text("Elium refused the user")
    expect(page.locator(".field-change_id")).to_contain_text(str(entry.change_id))
