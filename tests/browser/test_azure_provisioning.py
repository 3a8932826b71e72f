"""An admin configures Elium provisioning end to end in the Azure console, in a real Chromium,
with Test Connection going over HTTP to this project's own SCIM endpoint."""

import re
import socket

import pytest
from playwright.sync_api import expect

from provisioning.models import EnterpriseApplication, ProvisioningAuditEvent
from provisioning.scoping import filters_from_json
from tests.factories import (
    DirectoryFactory,
    DirectoryGroupFactory,
    DirectoryUserFactory,
    ScimTokenFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def unused_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/scim/v2"


def test_non_staff_users_cannot_open_the_console(live_server, page, log_in):
    UserFactory(username="bob", is_staff=False)
    log_in("bob")
    response = page.goto(live_server.url + "/azure/")
    assert response.status == 403


def test_admin_configures_elium_provisioning_end_to_end(live_server, page, log_in):
    UserFactory(username="admin", is_staff=True)
    tenant = TenantFactory(slug="acme", name="Acme")
    token = ScimTokenFactory(tenant=tenant).plaintext
    directory = DirectoryFactory(name="Contoso")
    DirectoryUserFactory(directory=directory, display_name="Ada Lovelace", department="Sales")
    DirectoryGroupFactory(directory=directory, display_name="Sales team")
    tenant_url = f"{live_server.url}/t/acme/scim/v2"
    page.on("dialog", lambda dialog: dialog.accept())

    log_in("admin")
    page.goto(live_server.url + "/azure/")
    page.get_by_role("link", name="Contoso").click()
    page.get_by_role("link", name="Enterprise applications").click()

    # New application → gallery → Elium.
    page.get_by_role("link", name="+ New application").click()
    page.get_by_role("button", name="Add Elium").click()
    expect(page.get_by_role("heading", name="Elium | Overview")).to_be_visible()
    app = EnterpriseApplication.objects.get(directory=directory)

    # Users and groups: assign the group with an application-specific role, as the tutorial
    # says (Default Access is excluded from provisioning).
    page.get_by_role("link", name="Users and groups", exact=True).click()
    page.get_by_label("Users and groups").select_option(label="Sales team (group)")
    page.get_by_label("Select a role").select_option(label="User")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_test_id("assignment-list")).to_contain_text("Sales team")
    expect(page.get_by_test_id("assignment-list")).to_contain_text("User")

    # Provisioning → Get started → Automatic.
    page.get_by_role("link", name="Provisioning", exact=True).click()
    page.get_by_role("link", name="Get started").click()
    page.get_by_label("Provisioning Mode").select_option("automatic")
    page.get_by_label("Tenant URL").fill(tenant_url)

    notification = page.get_by_test_id("notification")
    test_button = page.get_by_role("button", name="Test Connection")

    # Wrong token → the portal's failure text with Unauthorized details.
    page.get_by_label("Secret Token").fill("elium_scim_wrongwrongwr_x")
    test_button.click()
    expect(notification).to_contain_text("Testing connection to Elium")
    expect(notification).to_contain_text("You appear to have entered invalid credentials.")
    expect(page.get_by_test_id("error-code")).to_have_text(
        "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable"
    )
    expect(page.get_by_test_id("error-details")).to_contain_text(
        "Response Status Code: Unauthorized"
    )
    expect(page.get_by_test_id("request-id")).to_have_text(re.compile(r"^[0-9a-f-]{36}$"))

    # Nothing listening → a connection failure.
    page.get_by_label("Tenant URL").fill(unused_port_url())
    page.get_by_label("Secret Token").fill(token)
    test_button.click()
    expect(page.get_by_test_id("error-details")).to_contain_text(
        "An error occurred while sending the request."
    )

    # A URL that is not a SCIM endpoint.
    page.get_by_label("Tenant URL").fill(f"{live_server.url}/healthz")
    test_button.click()
    expect(page.get_by_test_id("error-details")).to_contain_text("NotFound")

    # The right URL and token.
    page.get_by_label("Tenant URL").fill(tenant_url)
    test_button.click()
    expect(notification).to_contain_text(
        "The supplied credentials are authorized to enable provisioning"
    )

    # Settings, then Save.
    page.get_by_label("Notification Email").fill("ops@contoso.com")
    page.get_by_label("Send an email notification when a failure occurs").check()
    page.get_by_label("Prevent accidental deletion").check()
    page.get_by_label("Accidental deletion threshold").fill("250")
    page.get_by_label("Scope").select_option(label="Sync all users and groups")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Successfully updated Elium")).to_be_visible()

    # Attribute Mapping: edit the displayName mapping into an expression.
    page.get_by_role("link", name="Synchronize Microsoft Entra users to Elium").click()
    expect(page.get_by_role("heading", name="Attribute Mapping", exact=True)).to_be_visible()
    page.get_by_test_id("attribute-list").get_by_role("link", name="displayName").click()
    page.get_by_label("Mapping type").select_option("Expression")
    expression = page.get_by_label("Expression")
    feedback = page.get_by_test_id("expression-feedback")
    expression.fill('Join(" ", [givenName], [surname]')
    expect(feedback).to_contain_text("position")
    expression.fill('Join(" ", [givenName], [surname])')
    expect(feedback).to_have_text("The expression was correctly parsed.")
    page.get_by_role("button", name="Ok").click()
    expect(page.get_by_test_id("attribute-list")).to_contain_text(
        'Join(" ", [givenName], [surname])'
    )

    # Source Object Scope: add a scoping filter with one clause.
    page.get_by_test_id("source-object-scope").click()
    page.get_by_role("link", name="Add scoping filter").click()
    page.get_by_label("New clause attribute").fill("department")
    page.get_by_label("New clause operator").select_option("EQUALS")
    page.get_by_label("New clause value").fill("Sales")
    page.get_by_role("button", name="Add New Scoping Clause").click()
    expect(page.get_by_test_id("clause-row")).to_have_count(1)
    page.get_by_label("Scoping Filter Title").fill("Sales only")
    page.get_by_role("button", name="Ok").click()
    expect(page.get_by_test_id("scoping-filter-list")).to_contain_text("Sales only")
    page.get_by_role("link", name="Ok").click()
    expect(page.get_by_test_id("source-object-scope")).to_have_text("1 scoping filter")
    page.get_by_role("button", name="Save").click()

    # Reload the blade: everything persisted, the token nowhere in the page.
    page.goto(
        f"{live_server.url}/azure/directories/{directory.tenant_id}/apps/{app.object_id}"
        "/provisioning/"
    )
    expect(page.get_by_label("Provisioning Mode")).to_have_value("automatic")
    expect(page.get_by_label("Tenant URL")).to_have_value(tenant_url)
    expect(page.get_by_label("Secret Token")).to_have_value("")
    expect(page.get_by_test_id("token-stored")).to_be_visible()
    expect(page.get_by_label("Notification Email")).to_have_value("ops@contoso.com")
    expect(page.get_by_label("Accidental deletion threshold")).to_have_value("250")
    expect(page.get_by_label("Scope")).to_have_value("all")
    assert token not in page.content()

    job = app.provisioning_job
    job.refresh_from_db()
    assert (job.mode, job.scope, job.deletion_threshold) == ("automatic", "all", 250)
    users = job.mappings.get(object_type="user")
    assert users.attributes.get(target_attribute="displayName").mapping_type == "Expression"
    assert [f.title for f in filters_from_json(users.scoping_filters)] == ["Sales only"]
    activities = set(
        ProvisioningAuditEvent.objects.filter(application=app).values_list("activity", flat=True)
    )
    assert activities == {
        "Update provisioning setting or credentials",
        "Update attribute mappings or scope",
        "Test connection",
    }
