"""The console over the engine: Current status, its actions, provisioning logs (filters, the four
tabs, downloads), provision on demand — through Django's test client, the target real."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.engine.ondemand import (
    provisioning_on_demand_group_run,
    provisioning_on_demand_run,
)
from provisioning.exports import CSV_FILES
from provisioning.models import ProvisioningJob, ProvisioningLogEntry
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    DirectoryUserFactory,
    make_application,
)
from tests.provisioning.engine_support import StubScim, assign, configure, make_app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def url(app, name, **kwargs):
    return reverse(
        f"provisioning:{name}",
        kwargs={"tenant_id": app.directory.tenant_id, "app_id": app.object_id, **kwargs},
    )


@pytest.fixture
def provisioned(target):
    app = make_app(target, template="elium")
    ada = DirectoryUserFactory(directory=app.directory, given_name="Ada", surname="Lovelace")
    assign(app, ada)
    cycle = provisioning_cycle_run(job=app.provisioning_job)
    return app, ada, cycle


def test_current_status_shows_the_last_cycle(staff_client, provisioned):
    app, ada, cycle = provisioned
    for page in ("app-overview", "provisioning"):
        html = staff_client.get(url(app, page)).content.decode()
        assert 'data-testid="current-status"' in html
        assert "Initial cycle completed." in html
        assert "100% complete" in html
        assert str(cycle.cycle_id) in html
        assert app.provisioning_job.job_id in html
        assert 'data-testid="cycles-chart"' in html
    partial = staff_client.get(url(app, "status")).content.decode()
    assert partial.lstrip().startswith('<section class="az-section az-current-status"')
    assert 'hx-trigger="every 2s"' not in partial  # nothing running: no polling


def test_stop_and_restart_from_the_toolbar(staff_client, provisioned):
    app, ada, cycle = provisioned
    job = app.provisioning_job
    staff_client.post(url(app, "control"), {"action": "stop", "next": url(app, "app-overview")})
    job.refresh_from_db()
    assert job.status == ProvisioningJob.Status.OFF
    staff_client.post(url(app, "control"), {"action": "restart"})
    assert job.state.__class__.objects.get(job=job).watermark is None
    response = staff_client.post(url(app, "control"), {"action": "allow_deletes"}, follow=True)
    assert "not quarantined for too many deletes" in response.content.decode()
    assert staff_client.post(url(app, "control"), {"action": "nope"}).status_code == 404


def test_log_list_filters_and_tabs(staff_client, provisioned):
    app, ada, cycle = provisioned
    entry = ProvisioningLogEntry.objects.get(job=app.provisioning_job, action="Create")
    html = staff_client.get(url(app, "logs")).content.decode()
    assert ada.user_principal_name in html
    assert (
        staff_client.get(url(app, "logs"), {"status": "Failure"})
        .content.decode()
        .count(ada.user_principal_name)
        == 0
    )
    assert (
        ada.user_principal_name
        in staff_client.get(url(app, "logs"), {"search": str(ada.object_id)}).content.decode()
    )
    assert (
        ada.user_principal_name
        in staff_client.get(
            url(app, "logs"), {"cycle_id": str(cycle.cycle_id), "action": "Create"}
        ).content.decode()
    )
    assert (
        "No provisioning log entries"
        in staff_client.get(url(app, "logs"), {"change_id": "not-a-uuid"}).content.decode()
    )

    detail = url(app, "log-detail", change_id=entry.change_id)
    steps = staff_client.get(detail).content.decode()
    assert "EntryImport" in steps
    assert "EntryExportAdd" in steps
    modified = staff_client.get(detail, {"tab": "modified"}).content.decode()
    assert "userName" in modified
    assert ada.user_principal_name in modified
    summary = staff_client.get(detail, {"tab": "summary"}).content.decode()
    assert str(entry.change_id) in summary
    assert entry.target_id in summary
    trouble = staff_client.get(detail, {"tab": "troubleshooting"}).content.decode()
    assert "nothing to troubleshoot" in trouble


def test_log_downloads(staff_client, provisioned):
    app, ada, cycle = provisioned
    as_json = staff_client.get(url(app, "logs"), {"download": "json"})
    rows = json.loads(as_json.content)
    assert as_json["Content-Disposition"].endswith('ProvisioningLogs.json"')
    create = next(r for r in rows if r["provisioningAction"] == "create")
    assert create["cycleId"] == str(cycle.cycle_id)
    assert create["provisioningStatusInfo"]["status"] == "success"
    assert create["sourceIdentity"]["displayName"] == ada.user_principal_name
    as_zip = staff_client.get(url(app, "logs"), {"download": "csv"})
    assert as_zip["Content-Disposition"].endswith('ProvisioningLogs.zip"')
    with zipfile.ZipFile(io.BytesIO(as_zip.content)) as archive:
        assert archive.namelist() == list(CSV_FILES)
        tables = {
            name: list(csv.reader(io.StringIO(archive.read(name).decode()))) for name in CSV_FILES
        }
    entries = tables["ProvisioningLogs.csv"]
    assert entries[0][:2] == ["Date (UTC)", "Change ID"]
    assert str(create["changeId"]) in [row[1] for row in entries[1:]]
    steps = tables["ProvisioningLogs_ProvisioningSteps.csv"]
    assert steps[0] == ["Change ID", "Step", "Type", "Status", "Description"]
    assert all(len(row) == 5 for row in steps)
    props = tables["ProvisioningLogs_ModifiedProperties.csv"]
    assert props[0] == ["Change ID", "Property", "Old Value", "New Value"]


def test_other_directories_logs_are_not_found(staff_client, provisioned, target):
    app, ada, cycle = provisioned
    other = make_app(target)
    entry = ProvisioningLogEntry.objects.filter(job=app.provisioning_job).first()
    response = staff_client.get(url(other, "log-detail", change_id=entry.change_id))
    assert response.status_code == 404


def test_provision_on_demand_runs_one_user_and_shows_the_steps(staff_client, target):
    app = make_app(target, template="elium")
    ada = DirectoryUserFactory(directory=app.directory, given_name="Ada", surname="Lovelace")
    bob = DirectoryUserFactory(directory=app.directory, given_name="Bob", surname="Out")
    assign(app, ada)

    page = staff_client.get(url(app, "on-demand"), {"q": "Lovelace"}).content.decode()
    assert ada.user_principal_name in page
    assert bob.user_principal_name not in page
    html = staff_client.post(url(app, "on-demand"), {"user": str(ada.object_id)}).content.decode()
    assert "Import user" in html
    assert "Determine if user is in scope" in html
    assert "Match user between source and target system" in html
    assert "Perform action" in html
    assert f"User &#x27;{ada.user_principal_name}&#x27; was created in Elium" in html
    assert target.user(ada.user_principal_name)["active"] is True
    entry = ProvisioningLogEntry.objects.get(job=app.provisioning_job, source_id=ada.object_id)
    assert entry.initiated_by == "On-demand provisioning"
    assert entry.cycle_id is None

    skipped = staff_client.post(
        url(app, "on-demand"), {"user": str(bob.object_id)}
    ).content.decode()
    assert "will be skipped due to the following reasons" in skipped
    assert "not assigned to the application" in skipped
    assert target.user(bob.user_principal_name) is None


def test_on_demand_shows_a_failed_connection_test():
    with StubScim(responder=lambda m, p, b: (401, {}, {"status": "401"})) as stub:
        app = make_application(template="elium")
        configure(app, url=stub.url, token="x")
        user = DirectoryUserFactory(directory=app.directory)

        result = provisioning_on_demand_run(job=app.provisioning_job, user=user)
    assert result.steps[0].title == "Test connection"
    assert result.steps[0].status == "Failure"
    assert result.error_code == "Unauthorized"


@pytest.fixture
def group_scene(target):
    """A generic SCIM app (it provisions groups) with a group of seven, assigned."""
    app = make_app(target, template="scim")
    team = DirectoryGroupFactory(directory=app.directory, display_name="Engineers")
    people = [
        DirectoryUserFactory(directory=app.directory, given_name=f"Eng{i}", surname="Smith")
        for i in range(7)
    ]
    for person in people:
        DirectoryGroupMemberFactory(group=team, member_user=person)
    assign(app, team)
    return app, team, people


def test_on_demand_search_finds_users_by_name_upn_and_mail_and_groups_by_name(
    staff_client, group_scene, target
):
    app, team, people = group_scene
    other = DirectoryUserFactory(directory=app.directory, mail="someone@elsewhere.example")
    for search in ("Eng3", people[3].user_principal_name):
        page = staff_client.get(url(app, "on-demand"), {"q": search}).content.decode()
        assert f'value="user:{people[3].object_id}"' in page
    page = staff_client.get(url(app, "on-demand"), {"q": "elsewhere.example"}).content.decode()
    assert f'value="user:{other.object_id}"' in page
    page = staff_client.get(url(app, "on-demand"), {"q": "Engineers"}).content.decode()
    assert f'value="group:{team.object_id}"' in page
    assert "7 members" in page
    # An app that provisions users only offers no group.
    elium = make_app(target, template="elium")
    DirectoryGroupFactory(directory=elium.directory, display_name="Engineers")
    page = staff_client.get(url(elium, "on-demand"), {"q": "Engineers"}).content.decode()
    assert 'value="group:' not in page
    assert "does not provision groups" in page


def test_provision_on_demand_a_group_with_up_to_five_members(staff_client, group_scene, target):
    app, team, people = group_scene
    job = app.provisioning_job

    picker = staff_client.post(url(app, "on-demand"), {"object": f"group:{team.object_id}"})
    html = picker.content.decode()
    assert "Select up to 5 members" in html
    for person in people:
        assert f'value="{person.object_id}"' in html

    too_many = staff_client.post(
        url(app, "on-demand"),
        {
            "group": str(team.object_id),
            "run": "1",
            "members": [str(p.object_id) for p in people[:6]],
        },
    ).content.decode()
    assert "You can select up to 5 members of a group at a time; 6 are selected." in too_many
    assert target.group("Engineers") is None
    assert target.users() == []

    chosen = people[:3]
    html = staff_client.post(
        url(app, "on-demand"),
        {"group": str(team.object_id), "run": "1", "members": [str(p.object_id) for p in chosen]},
    ).content.decode()
    for title in (
        "Import group",
        "Determine if group is in scope",
        "Match group between source and target system",
        "Add members to the group",
        "Import user",
        "Determine if user is in scope",
    ):
        assert title in html
    assert "Group &#x27;Engineers&#x27; was created in" in html
    assert html.count('data-testid="on-demand-member"') == 3
    assert "Added 3 member(s) to the group" in html

    users = {u["userName"]: u["id"] for u in target.users()}
    assert set(users) == {p.user_principal_name for p in chosen}
    group = target.group("Engineers")
    assert {m["value"] for m in group["members"]} == set(users.values())
    entry = ProvisioningLogEntry.objects.get(job=job, source_id=team.object_id)
    assert (entry.action, entry.status, entry.initiated_by) == (
        "Create",
        "Success",
        "On-demand provisioning",
    )
    assert ProvisioningLogEntry.objects.filter(job=job, object_type="user").count() == 3

    # Retry: nothing new to do
    again = staff_client.post(
        url(app, "on-demand"),
        {"group": str(team.object_id), "run": "1", "members": [str(p.object_id) for p in chosen]},
    ).content.decode()
    assert "already in sync" in again
    assert "3 selected member(s) already in the group" in again
    assert len(target.users()) == 3

    # The next cycle provisions the rest, without duplicates.
    cycle = provisioning_cycle_run(job=job)
    assert cycle.count("Create", "Success") == 4
    assert len(target.users()) == 7
    assert len(target.groups()) == 1
    assert len(target.group("Engineers")["members"]) == 7


def test_on_demand_group_service_refuses_more_than_five_or_non_members(group_scene):
    app, team, people = group_scene
    job = app.provisioning_job
    with pytest.raises(ValidationError, match="up to 5 members"):
        provisioning_on_demand_group_run(job=job, group=team, members=people[:6])
    stranger = DirectoryUserFactory(directory=app.directory, given_name="Not", surname="Member")
    with pytest.raises(ValidationError, match="Not Member is not a member of Engineers"):
        provisioning_on_demand_group_run(job=job, group=team, members=[people[0], stranger])


def test_on_demand_group_member_out_of_scope_is_not_added(group_scene, target):
    app, team, people = group_scene
    outsider = people[0]
    outsider.account_enabled = False
    outsider.save()

    result = provisioning_on_demand_group_run(
        job=app.provisioning_job, group=team, members=[outsider, people[1]]
    )

    assert result.status == "Success"
    assert [m.status for m in result.members] == ["Skipped", "Success"]
    assert result.steps[-1].title == "Add members to the group"
    assert {r["value"] for r in result.steps[-1].rows} == {
        "Not provisioned",
        target.user(people[1].user_principal_name)["id"],
    }
    assert [m["value"] for m in target.group("Engineers")["members"]] == [
        target.user(people[1].user_principal_name)["id"]
    ]
    assert target.user(outsider.user_principal_name) is None
