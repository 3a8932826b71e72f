"""What support staff read in the admin (issue 13): provisioning log entries found by UPN, ids
and filters; an entry's steps, modified properties and links; the directory user's
assignments, scope and last outcome; the job's state; the tenant's SCIM side."""

import datetime as dt
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning.models import ConnectorObject, ProvisioningJob, ProvisioningJobState
from provisioning.scoping import ScopingClause, ScopingFilter, ScopingOperator, filters_to_json
from tests.factories import (
    AppRoleAssignmentFactory,
    ConnectorObjectFactory,
    DirectoryGroupFactory,
    DirectoryUserFactory,
    ProvisioningCycleFactory,
    ProvisioningJobStateFactory,
    ProvisioningLogEntryFactory,
    ScimRequestLogFactory,
    ScimTokenFactory,
    ScimUserFactory,
    TenantFactory,
    make_application,
)

pytestmark = pytest.mark.django_db

LOGS = "admin:provisioning_provisioninglogentry_changelist"
#: A script element without ``src``: the Content-Security-Policy would refuse to run it.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")


def _elium_app():
    app = make_application(name="Elium")
    job = app.provisioning_job
    job.mode = ProvisioningJob.Mode.AUTOMATIC
    job.tenant_url = "https://elium.example/t/acme/scim/v2"
    job.save()
    return app, job


def _found(client, **query):
    html = client.get(reverse(LOGS), query).content.decode()
    return html


def test_log_entries_are_found_by_upn_name_and_every_id(support_client):
    app, job = _elium_app()
    alice = DirectoryUserFactory(
        directory=app.directory, user_principal_name="Alice.Smith@contoso.com"
    )
    entry = ProvisioningLogEntryFactory(
        job=job, source_id=str(alice.object_id), source_display="Alice Smith"
    )
    other = ProvisioningLogEntryFactory(job=job, source_display="Bob Jones")

    for term in (
        "alice.smith@contoso.com",
        "ALICE.S",
        "alice sm",
        str(alice.object_id),
        entry.target_id,
        str(entry.change_id),
        str(entry.cycle_id),
    ):
        html = _found(support_client, q=term)
        assert "Alice Smith" in html, term
        assert "Bob Jones" not in html, term
    assert "Bob Jones" in _found(support_client, q=str(other.change_id))


def test_log_entries_filter_by_app_action_status_and_date(support_client):
    _, job = _elium_app()
    other_job = make_application(name="Other").provisioning_job
    ProvisioningLogEntryFactory(job=job, source_display="Recent failure", status="Failure")
    ProvisioningLogEntryFactory(
        job=job,
        source_display="Old skip",
        status="Skipped",
        action="Other",
        activity_at=timezone.now() - dt.timedelta(days=3),
    )
    ProvisioningLogEntryFactory(job=other_job, source_display="Elsewhere")

    by_app = _found(support_client, app=job.application_id)
    by_status = _found(support_client, status__exact="Failure")
    by_action = _found(support_client, action__exact="Other")
    by_date = _found(support_client, since="24h")

    assert "Elsewhere" not in by_app
    assert "Recent failure" in by_app
    assert ("Recent failure", "Old skip") == (
        "Recent failure" if "Recent failure" in by_status else "",
        "Old skip" if "Old skip" in by_action else "",
    )
    assert "Old skip" not in by_status
    assert "Recent failure" not in by_action
    assert "Old skip" not in by_date


def test_entry_page_shows_steps_modified_properties_and_links(support_client):
    app, job = _elium_app()
    alice = DirectoryUserFactory(directory=app.directory, display_name="Alice Smith")
    entry = ProvisioningLogEntryFactory(
        job=job,
        source_id=str(alice.object_id),
        source_display="Alice Smith",
        action="Other",
        status="Skipped",
        steps=[
            {
                "name": "EntrySynchronizationScoping",
                "type": "Scoping",
                "status": "Skipped",
                "description": "Determine if User is in scope: out of scope",
                "details": {
                    "ScopingClauses": [
                        {
                            "filter": "Sales only",
                            "attribute": "department",
                            "operator": "EQUALS",
                            "value": "Sales",
                            "actual": "Finance",
                            "result": False,
                            "reason": "values differ",
                        }
                    ]
                },
            }
        ],
        modified_properties=[
            {"displayName": "title", "oldValue": "Analyst", "newValue": "Manager"}
        ],
    )

    html = support_client.get(
        reverse("admin:provisioning_provisioninglogentry_change", args=[entry.pk])
    ).content.decode()

    assert "<td>EntrySynchronizationScoping</td>" in html
    assert "<td>department</td>" in html
    assert "<td>values differ</td>" in html
    assert "<td>Analyst</td><td>Manager</td>" in html
    assert reverse("admin:provisioning_directoryuser_change", args=[alice.pk]) in html
    assert reverse("admin:provisioning_provisioningjob_change", args=[job.pk]) in html
    scim_log = reverse("admin:scim_api_scimrequestlog_changelist")
    assert f"{scim_log}?q={entry.change_id}" in html


def test_request_log_row_links_to_its_log_entry_and_is_found_by_change_id(support_client):
    _, job = _elium_app()
    entry = ProvisioningLogEntryFactory(job=job, status="Failure")
    row = ScimRequestLogFactory(status=409, method="POST", client_request_id=entry.change_id)
    ScimRequestLogFactory(status=400, path="/t/x/scim/v2/Unrelated")

    page = support_client.get(
        reverse("admin:scim_api_scimrequestlog_change", args=[row.pk])
    ).content.decode()
    listing = support_client.get(
        reverse("admin:scim_api_scimrequestlog_changelist"), {"q": str(entry.change_id)}
    ).content.decode()

    assert f"{reverse(LOGS)}?q={entry.change_id}" in page
    assert reverse("admin:scim_api_scimrequestlog_change", args=[row.pk]) in listing
    assert "Unrelated" not in listing


def test_directory_user_page_shows_assignment_scope_and_last_outcome(support_client):
    app, job = _elium_app()
    assignment = AppRoleAssignmentFactory(application=app)
    alice = assignment.principal_user
    alice.department = "Finance"
    alice.save()
    mapping = job.mappings.get(object_type="user")
    mapping.scoping_filters = filters_to_json(
        [
            ScopingFilter(
                "Sales only", (ScopingClause("department", ScopingOperator.EQUALS, "Sales"),)
            )
        ]
    )
    mapping.save()
    entry = ProvisioningLogEntryFactory(
        job=job, source_id=str(alice.object_id), action="Other", status="Skipped"
    )

    html = support_client.get(
        reverse("admin:provisioning_directoryuser_change", args=[alice.pk])
    ).content.decode()

    assert "Default Access" in html
    assert "Out of scope" in html
    assert "Sales only: department" in html
    assert reverse("admin:provisioning_provisioninglogentry_change", args=[entry.pk]) in html
    assert reverse("admin:provisioning_provisioningjob_change", args=[job.pk]) in html
    assert 'name="_save"' not in html


def test_job_page_shows_state_cycles_escrows_and_staged_deletes(support_admin_client):
    _, job = _elium_app()
    cycle = ProvisioningCycleFactory(job=job, counts={"Create.Success": 3, "Disable.Skipped": 1})
    ProvisioningCycleFactory(job=job, started_at=timezone.now() - dt.timedelta(hours=1))
    ProvisioningJobStateFactory(
        job=job,
        code=ProvisioningJobState.Code.QUARANTINE,
        quarantine_reason=ProvisioningJobState.QuarantineReason.TOO_MANY_DELETES,
        quarantine_began=timezone.now(),
        last_cycle=cycle,
    )
    ConnectorObjectFactory(job=job, escrow_attempts=2, escrow_error_code="SystemForCrossDomain")
    ConnectorObjectFactory(job=job, staged_action=ConnectorObject.StagedAction.DELETE)

    html = support_admin_client.get(
        reverse("admin:provisioning_provisioningjob_change", args=[job.pk])
    ).content.decode()

    assert "Too many deletes since" in html
    assert str(cycle.cycle_id) in html
    assert "Create.Success: 3" in html
    assert html.count(f"{reverse(LOGS)}?q=") >= 3  # the last cycle and both recent cycles
    assert f"{reverse(LOGS)}?app={job.application_id}" in html
    for label in (
        "Start provisioning",
        "Stop provisioning",
        "Restart provisioning",
        "Allow deletes",
    ):
        assert label in html
    assert not INLINE_SCRIPT.findall(html)


def test_tenant_page_shows_tokens_counts_last_request_and_the_chart(support_client):
    tenant = TenantFactory()
    token = ScimTokenFactory(tenant=tenant)
    ScimUserFactory.create_batch(3, tenant=tenant)
    ScimRequestLogFactory(tenant=tenant, status=500, path="/t/x/scim/v2/Users/boom")
    ScimRequestLogFactory(
        tenant=tenant, status=200, created_at=timezone.now() - dt.timedelta(days=2)
    )
    ScimRequestLogFactory(
        tenant=tenant, status=200, created_at=timezone.now() - dt.timedelta(days=9)
    )

    html = support_client.get(
        reverse("admin:elium_portal_tenant_change", args=[tenant.pk])
    ).content.decode()

    assert token.display_prefix in html
    assert "/Users/boom" in html
    assert "<svg" in html
    assert html.count('fill="#79aec8"') == 7 * 24
    assert "2 requests logged, 1 errors" in html
    assert "<td>" in html
    assert not INLINE_SCRIPT.findall(html)
    assert "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_unknown_search_term_uuid_finds_nothing(support_client):
    ProvisioningLogEntryFactory(source_display="Carol")

    assert "Carol" not in _found(support_client, q=str(uuid.uuid4()))


def test_directory_group_page_shows_its_assignment_and_provisioning(support_client):
    app, job = _elium_app()
    group = DirectoryGroupFactory(directory=app.directory, display_name="Finance")
    AppRoleAssignmentFactory(application=app, principal_group=group)
    ConnectorObjectFactory(job=job, object_type="group", source_id=group.object_id, target_id="g-1")

    html = support_client.get(
        reverse("admin:provisioning_directorygroup_change", args=[group.pk])
    ).content.decode()

    assert "Default Access" in html
    assert "id g-1" in html
    assert 'name="_save"' not in html
