"""Console points of issue 12 that a server-side test pins down: Save with Provisioning Status
On queues the first cycle, Restart of a stopped job, the on-demand steps, details as key/value
tables, the logs' defaults and the forms' validation. The browser behaviour is in
``tests/browser/test_azure_console_polish.py``."""

import re
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from provisioning.engine.ondemand import OnDemandStep
from provisioning.engine.state import job_state
from provisioning.models import DirectoryUser, ProvisioningAuditEvent, ProvisioningJobState
from provisioning.services.jobs import provisioning_job_restart, provisioning_job_update
from provisioning.templatetags.console import kv_table
from tests.factories import (
    AppRoleAssignmentFactory,
    DirectoryFactory,
    DirectoryUserFactory,
    ProvisioningAuditEventFactory,
    ProvisioningCycleFactory,
    ProvisioningJobFactory,
    ProvisioningJobStateFactory,
    ProvisioningLogEntryFactory,
    make_application,
)

pytestmark = pytest.mark.django_db

TENANT_URL = "https://scim.example.com/scim/v2"


def url(app, name, **kwargs):
    return reverse(
        f"provisioning:{name}",
        kwargs={"tenant_id": app.directory.tenant_id, "app_id": app.object_id, **kwargs},
    )


def save_blade(job, *, status):
    provisioning_job_update(
        job=job, mode="automatic", tenant_url=TENANT_URL, secret_token="s3cret", status=status
    )


# -- 7. Save with Provisioning Status On starts the first cycle at once ----------------------


def test_saving_with_status_on_queues_the_first_cycle_now(django_capture_on_commit_callbacks):
    job = make_application().provisioning_job

    with django_capture_on_commit_callbacks() as queued:
        save_blade(job, status="on")

    assert len(queued) == 1  # cycle_defer, on commit
    state = job_state(job)
    assert state.next_cycle_at <= timezone.now()
    assert state.code == ProvisioningJobState.Code.ACTIVE


def test_saving_with_status_off_queues_nothing(django_capture_on_commit_callbacks):
    job = make_application().provisioning_job

    with django_capture_on_commit_callbacks() as queued:
        save_blade(job, status="off")

    assert queued == []


def test_the_status_panel_says_the_first_cycle_is_queued(staff_client):
    app = make_application()
    save_blade(app.provisioning_job, status="on")

    partial = staff_client.get(url(app, "status")).content.decode()

    assert "Initial cycle queued: it starts in a few seconds." in partial
    assert "Initial cycle not run." not in partial
    assert 'hx-trigger="every 2s"' in partial


# -- 8. Restart of a stopped job says plainly it stays Off ------------------------------------


def test_restart_of_a_stopped_job_stays_off_and_says_so(
    staff_client, django_capture_on_commit_callbacks
):
    app = make_application()
    job = app.provisioning_job
    save_blade(job, status="off")

    with django_capture_on_commit_callbacks() as queued:
        response = staff_client.post(
            url(app, "control"),
            {"action": "restart", "next": url(app, "provisioning")},
            follow=True,
        )

    assert queued == []
    job.refresh_from_db()
    assert job.status == "off"
    html = response.content.decode()
    assert "Provisioning Status is Off: no cycle runs until you start provisioning" in html
    assert "Provisioning restarted" not in html
    event = app.audit_events.filter(activity=ProvisioningAuditEvent.Activity.RESTART).get()
    assert event.details == {
        "state_cleared": True,
        "provisioning_status": "Off",
        "initial_cycle_queued": False,
    }


def test_restart_of_a_running_job_queues_an_initial_cycle(django_capture_on_commit_callbacks):
    app = make_application()
    job = app.provisioning_job
    save_blade(job, status="on")

    with django_capture_on_commit_callbacks() as queued:
        assert provisioning_job_restart(job=job) is True

    assert len(queued) == 1
    event = app.audit_events.filter(activity=ProvisioningAuditEvent.Activity.RESTART).get()
    assert event.details["initial_cycle_queued"] is True
    assert event.details["provisioning_status"] == "On"


def test_restart_asks_once(staff_client):
    app = make_application()
    save_blade(app.provisioning_job, status="on")

    html = staff_client.get(url(app, "provisioning")).content.decode()

    (restart,) = re.findall(r"<form[^>]*>(?:(?!</form>).)*value=\"restart\".*?</form>", html)
    assert restart.count("data-confirm") == 1
    assert "onclick" not in html


# -- 9. A click in the status panel does not reload it ----------------------------------------


def test_only_a_live_panel_polls_and_a_click_never_reloads_it(staff_client):
    app = make_application()
    job = app.provisioning_job
    save_blade(job, status="off")

    html = staff_client.get(url(app, "provisioning")).content.decode()
    (section,) = re.findall(r'<section[^>]*id="current-status"[^>]*>', html)

    assert "hx-get" not in section  # htmx's default trigger for a section would be "click"
    assert 'data-keep-open="provisioning-details"' in html
    assert 'data-keep-open="technical-information"' in html


# -- 10. Provision on demand: steps numbered once and in order, tables with headers -----------


def test_on_demand_steps_are_numbered_once_and_in_order():
    steps = [
        OnDemandStep(1, "Import user", "Success", "Imported.", rows=[{"name": "mail", "value": 1}]),
        OnDemandStep(2, "Determine if user is in scope", "Skipped", "Out of scope."),
        OnDemandStep(
            4, "Perform action", "Skipped", "Skipped.", rows=[{"name": "a", "old": 1, "new": 2}]
        ),
    ]

    html = render_to_string("provisioning/includes/on_demand_steps.html", {"steps": steps})

    titles = re.findall(r"<strong>(.*?)</strong>", html)
    assert titles == [
        "1. Import user",
        "2. Determine if user is in scope",
        "3. Perform action",
    ]
    assert "az-steps-numbered" in html  # the list's own numbers are hidden
    assert re.search(r"<th scope=\"col\">Property</th><th scope=\"col\">Value</th>", html)
    assert re.search(r"<th scope=\"col\">Attribute</th><th scope=\"col\">Old value</th>", html)


@pytest.mark.parametrize(
    ("outcome", "shown"),
    [
        ({"error_code": "NotEffectivelyEntitled"}, "NotEffectivelyEntitled</span></p>"),
        (
            {"error_code": "NotEffectivelyEntitled", "reason": "The user is not assigned."},
            "NotEffectivelyEntitled</span>: The user is not assigned.</p>",
        ),
        (
            {
                "error_code": "SystemForCrossDomainIdentityManagementBadRequest",
                "reason": "x",
                "recommendation": "Check the mappings.",
            },
            "SystemForCrossDomainIdentityManagementBadRequest</span>: Check the mappings.</p>",
        ),
        ({"error_code": ""}, ""),
    ],
)
def test_an_on_demand_error_never_ends_in_a_dangling_colon(outcome, shown):
    html = render_to_string(
        "provisioning/includes/on_demand_error.html", {"outcome": outcome}
    ).strip()

    assert html.endswith(shown)
    assert ":</p>" not in html
    assert ": </p>" not in html


# -- 11. Details as key/value tables ---------------------------------------------------------


def test_details_render_as_key_value_tables_with_nested_tables():
    html = str(
        kv_table({"IsActive": True, "Clauses": [{"attribute": "department", "result": False}]})
    )

    assert "{" not in html
    assert "'" not in html
    assert '<th scope="row">IsActive</th><td>True</td>' in html
    assert html.count("<table") == 3  # the details, the list, the clause
    assert '<th scope="row">attribute</th><td>department</td>' in html


def test_details_escape_html():
    assert "&lt;b&gt;" in str(kv_table({"name": "<b>x</b>"}))


def test_audit_log_details_are_tables_not_reprs(staff_client):
    app = make_application()
    ProvisioningAuditEventFactory(application=app, details={"changed": ["tenant_url", "scope"]})

    html = staff_client.get(url(app, "app-audit")).content.decode()

    assert "{'changed'" not in html
    assert '<th scope="row">changed</th><td>tenant_url, scope</td>' in html


def test_log_step_details_are_tables_not_reprs(staff_client):
    job = ProvisioningJobFactory()
    entry = ProvisioningLogEntryFactory(
        job=job,
        steps=[
            {
                "name": "EntitlementEvaluation",
                "type": "Scoping",
                "status": "Success",
                "description": "In scope.",
                "details": {"IsActive": True, "Assigned": True},
            }
        ],
    )

    html = staff_client.get(
        url(job.application, "log-detail", change_id=entry.change_id)
    ).content.decode()

    assert "{&#x27;IsActive" not in html
    assert "{'IsActive" not in html
    assert '<th scope="row">IsActive</th><td>True</td>' in html


# -- 13. The logs open on the last 24 hours, with status icons --------------------------------


def test_logs_default_to_the_last_24_hours_with_status_icons(staff_client):
    job = ProvisioningJobFactory()
    ProvisioningLogEntryFactory(job=job, source_display="today@contoso.com", status="Failure")
    ProvisioningLogEntryFactory(
        job=job,
        source_display="lastweek@contoso.com",
        activity_at=timezone.now() - timedelta(days=3),
    )

    html = staff_client.get(url(job.application, "logs")).content.decode()

    assert "today@contoso.com" in html
    assert "lastweek@contoso.com" not in html
    assert re.search(r'<option value="24h"\s+selected>Last 24 hours</option>', html)
    assert 'class="az-status-icon az-status-failure"' in html
    week = staff_client.get(url(job.application, "logs"), {"date": "7d"}).content.decode()
    assert "lastweek@contoso.com" in week


# -- 14. Forms validate like the import: UPN, email, domain; unknown attributes ---------------


@pytest.mark.parametrize(
    ("upn", "mail", "message"),
    [
        ("no-at-sign", "", "is not a valid user principal name"),
        ("two@at@contoso.onmicrosoft.com", "", "is not a valid user principal name"),
        ("a b@contoso.onmicrosoft.com", "", "is not a valid user principal name"),
        ("ada@fabrikam.com", "", "is not a domain of this directory"),
        ("ada@contoso.onmicrosoft.com", "not-an-email", "is not a valid email address"),
    ],
)
def test_the_user_form_checks_upn_email_and_domain(staff_client, upn, mail, message):
    directory = DirectoryFactory(domain="contoso.onmicrosoft.com")
    new_user = reverse("provisioning:user-new", kwargs={"tenant_id": directory.tenant_id})

    response = staff_client.post(
        new_user,
        {"user_principal_name": upn, "display_name": "Ada", "mail": mail, "account_enabled": "on"},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not DirectoryUser.objects.filter(directory=directory).exists()


def test_the_user_form_accepts_the_directory_domain_in_any_case(staff_client):
    directory = DirectoryFactory(domain="contoso.onmicrosoft.com")
    new_user = reverse("provisioning:user-new", kwargs={"tenant_id": directory.tenant_id})

    response = staff_client.post(
        new_user,
        {"user_principal_name": "Ada@Contoso.onmicrosoft.com", "display_name": "Ada"},
    )

    assert response.status_code == 302


def test_a_scoping_clause_on_an_attribute_the_directory_lacks_is_an_error(staff_client):
    app = make_application()
    scope_new = url(app, "scope-new", object_type="user")

    response = staff_client.post(
        scope_new,
        {
            "clause_count": "0",
            "new-attribute": "departmnet",
            "new-operator": "EQUALS",
            "new-value": "Sales",
            "add_clause": "1",
        },
    )

    assert "The directory has no attribute [departmnet]" in response.content.decode()


def test_a_scoping_clause_on_an_extension_attribute_users_carry_is_accepted(staff_client):
    app = make_application()
    DirectoryUserFactory(directory=app.directory, extension_attributes={"costCenter": "42"})

    response = staff_client.post(
        url(app, "scope-new", object_type="user"),
        {
            "clause_count": "0",
            "new-attribute": "costCenter",
            "new-operator": "EQUALS",
            "new-value": "42",
            "title": "Cost centre 42",
            "ok": "1",
        },
    )

    assert response.status_code == 302


def test_an_expression_on_an_attribute_the_directory_lacks_is_an_error(staff_client):
    app = make_application()

    response = staff_client.post(
        url(app, "attribute-new", object_type="user"),
        {
            "mapping_type": "Expression",
            "expression": 'Join(" ", [givenName], [surnmae])',
            "target_attribute": "nickName",
            "match_objects": "no",
            "matching_precedence": "0",
            "apply": "Always",
        },
    )

    assert response.status_code == 200
    assert "The directory has no attribute [surnmae]" in response.content.decode()


# -- 17. Names as the portal of the era shows them; no internal values -------------------------


@pytest.mark.parametrize(
    ("product", "name"),
    [
        ("Azure Active Directory", "Synchronize Azure Active Directory Users to Elium"),
        ("Microsoft Entra ID", "Synchronize Microsoft Entra users to Elium"),
    ],
)
def test_the_elium_mapping_name_follows_the_product_name(staff_client, settings, product, name):
    app = make_application(template="elium", name="Elium")  # added under the default product
    settings.AZURE_DIRECTORY_PRODUCT_NAME = product

    blade = staff_client.get(url(app, "provisioning") + "?start=1").content.decode()
    mapping = staff_client.get(url(app, "mapping", object_type="user")).content.decode()

    assert f">{name}</a>" in blade
    assert f'data-testid="mapping-name">{name}</dd>' in mapping


def test_the_generic_mapping_names_follow_the_product_name(staff_client, settings):
    app = make_application(template="scim", name="Contoso SCIM")
    settings.AZURE_DIRECTORY_PRODUCT_NAME = "Azure Active Directory"

    blade = staff_client.get(url(app, "provisioning") + "?start=1").content.decode()

    assert "Provision Azure Active Directory Users" in blade
    assert "Provision Azure Active Directory Groups" in blade


def test_the_directory_overview_shows_no_internal_watermark(staff_client):
    directory = DirectoryUserFactory().directory

    page = staff_client.get(
        reverse("provisioning:directory", kwargs={"tenant_id": directory.tenant_id})
    ).content.decode()

    assert "watermark" not in page.lower()


# -- 18. Small: "URL..", Display Name on Users and groups, search in the assignment picker -----


def test_a_refused_tenant_url_ends_its_sentence_once(staff_client):
    app = make_application()

    response = staff_client.post(
        url(app, "test-connection"),
        {"tenant_url": "ftp://scim.example.com/scim", "secret_token": "x"},
        HTTP_X_REQUESTED_WITH="fetch",
    )

    details = response.json()["details"]
    assert details.endswith("https:// URL.")
    assert ".." not in details


def test_users_and_groups_shows_the_display_name_not_the_upn(staff_client):
    app = make_application()
    user = DirectoryUserFactory(directory=app.directory, display_name="Adele Vance")
    AppRoleAssignmentFactory(application=app, principal_user=user, principal_group=None)

    html = staff_client.get(url(app, "app-users")).content.decode()

    row = html.split('data-testid="assignment-list"')[1]
    assert f'<td>Adele Vance<br><small class="az-muted">{user.user_principal_name}' in row


def test_the_assignment_picker_searches_thousands_of_users(staff_client):
    app = make_application()
    DirectoryUserFactory.create_batch(60, directory=app.directory)
    wanted = DirectoryUserFactory(directory=app.directory, display_name="Zoe Quartermaine")

    first = staff_client.get(url(app, "app-users")).content.decode()
    found = staff_client.get(url(app, "app-users"), {"q": "quarterm"}).content.decode()

    assert "Zoe Quartermaine" not in first  # only the first 50 are listed...
    assert "Showing 50 of 61: search to narrow the list." in first
    assert f'value="user:{wanted.object_id}"' in found  # ... a search finds the others
    assert '1 match for "quarterm".' in found
    response = staff_client.post(
        url(app, "app-users"),
        {
            "q": "quarterm",
            "principal": f"user:{wanted.object_id}",
            "role": str(app.roles.first().role_id),
        },
    )
    assert response.status_code == 302
    assert app.assignments.filter(principal_user=wanted).exists()


# -- 21. The chart of recent cycles: a time axis, readable labels, a visible duration ---------


def test_the_cycles_chart_has_a_time_axis_and_a_visible_duration_line(staff_client):
    job = ProvisioningJobFactory()
    start = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    cycles = [
        ProvisioningCycleFactory(
            job=job,
            counts={"Create.Success": n + 1},
            started_at=start + timedelta(minutes=40 * n),
            ended_at=start + timedelta(minutes=40 * n, seconds=5 + n),
        )
        for n in range(3)
    ]
    ProvisioningJobStateFactory(job=job, last_cycle=cycles[-1])

    html = staff_client.get(url(job.application, "status")).content.decode()

    ticks = re.findall(r'data-testid="time-tick">([^<]+)</text>', html)
    assert ticks == ["09:00", "09:40", "10:20"]
    assert "Cycle start (" in html
    assert 'stroke-width="2" data-testid="duration-line"' in html
    assert html.count("<circle") == 3  # a marker per cycle: visible even for a single cycle
    assert "Cycle duration (s, right scale)" in html
    assert 'font-size="10"' not in html  # labels are styled at a readable size


def test_a_single_cycle_still_shows_its_duration_marker(staff_client):
    job = ProvisioningJobFactory()
    cycle = ProvisioningCycleFactory(job=job, counts={"Create.Success": 1})
    ProvisioningJobStateFactory(job=job, last_cycle=cycle)

    html = staff_client.get(url(job.application, "status")).content.decode()

    assert html.count("<circle") == 1


def test_live_expression_feedback_flags_an_attribute_the_directory_lacks(staff_client):
    validate = reverse("provisioning:expression-validate")
    known = ["givenName", "surname", "mail"]

    typo = staff_client.post(
        validate, {"expression": 'Join(" ", [givenName], [surnmae])', "known": known}
    ).json()
    fine = staff_client.post(
        validate, {"expression": 'Join(" ", [givenName], [Surname])', "known": known}
    ).json()

    assert typo == {
        "ok": False,
        "message": "The directory has no attribute [surnmae]. Choose one of the source attributes.",
    }
    assert fine["ok"] is True
