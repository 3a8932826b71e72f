"""Provisioning cycles end to end: the engine → this project's own SCIM API over real HTTP.
The target is checked through SCIM GETs, as any client would."""

from __future__ import annotations

import pytest

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.models import (
    ConnectorObject,
    DirectoryGroupMember,
    DirectoryUser,
    ProvisioningCycle,
    ProvisioningLogEntry,
)
from provisioning.services import directory as directory_services
from provisioning.services.applications import app_role_assignment_delete
from provisioning.services.changes import change_record_append
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory
from tests.provisioning import engine_support
from tests.provisioning.engine_support import ENTERPRISE, assign, make_app

pytestmark = pytest.mark.django_db(transaction=True)
target = engine_support.target  # the fixture


def run(app, **kwargs) -> ProvisioningCycle:
    cycle = provisioning_cycle_run(job=app.provisioning_job, **kwargs)
    assert cycle is not None
    cycle.refresh_from_db()
    assert cycle.state in (
        ProvisioningCycle.State.SUCCEEDED,
        ProvisioningCycle.State.ENTRY_LEVEL_ERRORS,
    ), (
        cycle.state,
        cycle.error,
    )
    return cycle


def exports(cycle: ProvisioningCycle) -> int:
    return sum(
        cycle.count(action, "Success") for action in ("Create", "Update", "Disable", "Delete")
    )


@pytest.fixture
def org(target):
    """A directory with a manager chain and a group, an app that provisions users and groups."""
    app = make_app(target)
    directory = app.directory
    boss = DirectoryUserFactory(
        directory=directory,
        given_name="Grace",
        surname="Hopper",
        department="Engineering",
        employee_id="1",
    )
    ada = DirectoryUserFactory(
        directory=directory, given_name="Ada", surname="Lovelace", manager=boss, job_title="Analyst"
    )
    alan = DirectoryUserFactory(
        directory=directory, given_name="Alan", surname="Turing", manager=boss
    )
    outsider = DirectoryUserFactory(
        directory=directory, given_name="Out", surname="Sider", account_enabled=False
    )
    team = DirectoryGroupFactory(directory=directory, display_name="Engineers")
    for member in (boss, ada, alan):
        DirectoryGroupMember.objects.create(group=team, member_user=member)
    DirectoryGroupMember.objects.create(group=team, member_user=outsider)
    assign(app, team)
    for user in (boss, ada, alan):
        assign(app, user)
    return app, {"boss": boss, "ada": ada, "alan": alan, "outsider": outsider, "team": team}


def test_initial_cycle_creates_users_groups_members_and_managers(org, target):
    app, people = org

    cycle = run(app)

    assert cycle.kind == "initial"
    assert cycle.count("Create", "Success") == 4  # three users and the group
    users = {u["userName"]: u for u in target.users()}
    boss, ada = people["boss"], people["ada"]
    assert set(users) == {
        boss.user_principal_name,
        ada.user_principal_name,
        people["alan"].user_principal_name,
    }
    created_ada = users[ada.user_principal_name]
    assert created_ada["active"] is True
    assert created_ada["name"] == {
        "givenName": "Ada",
        "familyName": "Lovelace",
        "formatted": "Ada Lovelace",
    }
    assert created_ada["title"] == "Analyst"
    assert created_ada["emails"][0]["value"] == ada.mail
    assert created_ada[ENTERPRISE]["manager"]["value"] == users[boss.user_principal_name]["id"]
    assert users[boss.user_principal_name][ENTERPRISE]["department"] == "Engineering"
    group = target.group("Engineers")
    member_ids = {m["value"] for m in group["members"]}
    # Only provisioned members: the outsider is a member but disabled, so never provisioned.
    assert member_ids == {u["id"] for u in users.values()}
    assert cycle.percent == 100
    assert (
        ConnectorObject.objects.filter(job=app.provisioning_job).exclude(target_id="").count() == 4
    )


def test_second_cycle_exports_nothing(org, target):
    app, _ = org
    run(app)

    second = run(app)
    third = run(app, restart=True)

    assert second.kind == "incremental"
    assert exports(second) == 0
    assert third.kind == "initial"
    assert exports(third) == 0
    assert third.count("Other", "Skipped") == 5  # RedundantExport ×4, the disabled outsider
    assert len(target.users()) == 3
    assert len(target.groups()) == 1
    codes = set(
        ProvisioningLogEntry.objects.filter(cycle_id=third.cycle_id).values_list(
            "error_code", flat=True
        )
    )
    assert codes == {"RedundantExport", "NotEffectivelyEntitled"}


def test_incremental_cycle_follows_directory_changes(org, target):
    app, people = org
    directory = app.directory
    run(app)
    boss, ada, alan = people["boss"], people["ada"], people["alan"]
    team = people["team"]

    # update, manager change, unassign → disable, soft delete → disable, member removed
    directory_services.directory_user_update(
        directory=directory, user=ada, job_title="Engineer", manager=alan
    )
    assignment = app.assignments.get(principal_user=alan)
    app_role_assignment_delete(application=app, assignment=assignment)
    directory_services.directory_group_member_remove(directory=directory, group=team, member=alan)
    second = run(app)

    assert second.kind == "incremental"
    users = {u["userName"]: u for u in target.users()}
    assert users[ada.user_principal_name]["title"] == "Engineer"
    assert (
        users[ada.user_principal_name][ENTERPRISE]["manager"]["value"]
        == users[alan.user_principal_name]["id"]
    )
    assert users[alan.user_principal_name]["active"] is False
    assert second.count("Disable", "Success") == 1
    members = {m["value"] for m in target.group("Engineers")["members"]}
    assert users[alan.user_principal_name]["id"] not in members

    # reassign → re-enable; member added back
    assign(app, alan)
    directory_services.directory_group_member_add(directory=directory, group=team, member=alan)
    third = run(app)
    users = {u["userName"]: u for u in target.users()}
    assert users[alan.user_principal_name]["active"] is True
    assert third.count("Update", "Success") >= 1
    members = {m["value"] for m in target.group("Engineers")["members"]}
    assert users[alan.user_principal_name]["id"] in members

    # soft delete → disable; hard delete → DELETE
    directory_services.directory_user_soft_delete(directory=directory, user=ada)
    run(app)
    assert target.user(ada.user_principal_name)["active"] is False
    ada_id = ada.object_id
    change_record_append(
        directory=directory, object_type="user", object_id=ada_id, change_type="deleted"
    )
    DirectoryUser.objects.filter(pk=ada.pk).delete()
    fifth = run(app)
    assert fifth.count("Delete", "Success") == 1
    assert target.user(ada.user_principal_name) is None

    # and nothing left to do
    assert exports(run(app)) == 0
    assert exports(run(app, restart=True)) == 0
    del boss
