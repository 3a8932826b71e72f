"""Current status and the provisioning logs in the console, from cycles, connector objects and
log entries the factories write — no cycle runs (``test_engine_console`` runs real ones)."""

import io
import json
import re
import zipfile

import pytest
from django.urls import reverse

from provisioning.models import ProvisioningCycle, ProvisioningLogEntry
from tests.factories import (
    ConnectorObjectFactory,
    ProvisioningCycleFactory,
    ProvisioningJobFactory,
    ProvisioningJobStateFactory,
    ProvisioningLogEntryFactory,
)

pytestmark = pytest.mark.django_db


def url(job, name, **kwargs):
    app = job.application
    return reverse(
        f"provisioning:{name}",
        kwargs={"tenant_id": app.directory.tenant_id, "app_id": app.object_id, **kwargs},
    )


def test_current_status_shows_the_last_cycle_its_figures_and_the_chart(staff_client):
    job = ProvisioningJobFactory(mode="automatic", tenant_url="https://scim.example.com/scim")
    cycle = ProvisioningCycleFactory(job=job, counts={"Create.Success": 2, "Update.Success": 1})
    ProvisioningJobStateFactory(job=job, last_cycle=cycle)
    ConnectorObjectFactory.create_batch(2, job=job)

    html = staff_client.get(url(job, "provisioning")).content.decode()

    assert "Initial cycle completed." in html
    assert str(cycle.cycle_id) in html
    assert "100% complete" in html
    assert re.search(r'data-testid="cds-users">\s*<strong>2</strong>\s*Users', html)
    assert re.search(r"<dt>Users and groups created</dt>\s*<dd>2</dd>", html)
    assert re.search(r"<dt>Updated</dt>\s*<dd>1</dd>", html)
    assert 'data-testid="cycles-chart"' in html


def test_a_running_cycle_shows_its_progress_and_the_panel_polls(staff_client):
    job = ProvisioningJobFactory()
    cycle = ProvisioningCycleFactory(
        job=job, state=ProvisioningCycle.State.RUNNING, ended_at=None, percent=40
    )
    ProvisioningJobStateFactory(job=job, last_cycle=cycle)

    partial = staff_client.get(url(job, "status")).content.decode()

    assert "Initial cycle running." in partial
    assert "40% complete" in partial
    assert 'hx-trigger="every 2s"' in partial


def test_log_list_filters_by_status_action_cycle_and_search(staff_client):
    job = ProvisioningJobFactory()
    created = ProvisioningLogEntryFactory(job=job, source_display="ada@contoso.com")
    failed = ProvisioningLogEntryFactory(
        job=job,
        source_display="bob@contoso.com",
        action=ProvisioningLogEntry.Action.UPDATE,
        status=ProvisioningLogEntry.Status.FAILURE,
    )

    def shown(**filters):
        page = staff_client.get(url(job, "logs"), filters).content.decode()
        return {e.source_display for e in (created, failed) if e.source_display in page}

    assert shown() == {"ada@contoso.com", "bob@contoso.com"}
    assert shown(status="Failure") == {"bob@contoso.com"}
    assert shown(action="Create") == {"ada@contoso.com"}
    assert shown(cycle_id=str(failed.cycle_id)) == {"bob@contoso.com"}
    assert shown(search=created.source_id) == {"ada@contoso.com"}
    assert shown(change_id="not-a-uuid") == set()


def test_log_downloads_hold_every_entry(staff_client):
    job = ProvisioningJobFactory()
    entry = ProvisioningLogEntryFactory(job=job)

    as_json = staff_client.get(url(job, "logs"), {"download": "json"})
    as_zip = staff_client.get(url(job, "logs"), {"download": "csv"}).content
    with zipfile.ZipFile(io.BytesIO(as_zip)) as archive:
        as_csv = "".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())

    (row,) = json.loads(as_json.content)
    assert as_json["Content-Disposition"].endswith('ProvisioningLogs.json"')
    assert row["changeId"] == str(entry.change_id)
    assert row["cycleId"] == str(entry.cycle_id)
    assert row["provisioningAction"] == "create"
    assert row["provisioningStatusInfo"]["status"] == "success"
    assert str(entry.change_id) in as_csv


def test_a_log_entry_of_another_directory_is_not_found(staff_client):
    entry = ProvisioningLogEntryFactory()
    other = ProvisioningJobFactory()

    response = staff_client.get(url(other, "log-detail", change_id=entry.change_id))

    assert response.status_code == 404
    own = staff_client.get(url(entry.job, "log-detail", change_id=entry.change_id))
    assert own.status_code == 200
