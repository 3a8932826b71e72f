"""Provisioning cycles end to end: the engine → this project's own SCIM API over real HTTP.
The target is checked through SCIM GETs, as any client would."""

from __future__ import annotations

import pytest

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.models import (
    ConnectorObject,
    ProvisioningCycle,
    ProvisioningLogEntry,
)
from provisioning.scoping import ScopingClause, ScopingFilter, ScopingOperator
from provisioning.services import directory as directory_services
from provisioning.services.applications import app_role_assignment_delete
from provisioning.services.jobs import provisioning_job_restart
from provisioning.services.mappings import attribute_mapping_save, object_mapping_scoping_filter_add
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    DirectoryUserFactory,
)
from tests.provisioning.engine_support import ENTERPRISE, assign, make_app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


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
        DirectoryGroupMemberFactory(group=team, member_user=member)
    DirectoryGroupMemberFactory(group=team, member_user=outsider)
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
    ada_target_id = target.user(ada.user_principal_name)["id"]
    directory_services.directory_user_hard_delete(directory=directory, user=ada)
    fifth = run(app)
    assert fifth.kind == "incremental"
    assert fifth.count("Delete", "Success") == 1
    assert target.user(ada.user_principal_name) is None
    members = {m["value"] for m in target.group("Engineers")["members"]}
    assert ada_target_id not in members

    # and nothing left to do
    assert exports(run(app)) == 0
    assert exports(run(app, restart=True)) == 0
    del boss


def users_mapping(app):
    return app.provisioning_job.mappings.get(object_type="user")


def test_scoping_filter_change_starts_an_initial_cycle_that_disables_users_out_of_scope(
    org, target
):
    app, people = org
    boss, ada, alan = people["boss"], people["ada"], people["alan"]
    directory_services.directory_user_update(directory=app.directory, user=ada, department="Sales")
    run(app)
    before = {u["userName"]: u for u in target.users()}
    assert all(u["active"] is True for u in before.values())

    object_mapping_scoping_filter_add(
        mapping=users_mapping(app),
        scoping_filter=ScopingFilter(
            "Sales only", (ScopingClause("department", ScopingOperator.EQUALS, "Sales"),)
        ),
    )
    second = run(app)

    assert second.kind == "initial"
    assert second.count("Disable", "Success") == 2
    assert second.count("Create", "Success") == 0
    assert second.count("Update", "Success") == 0
    assert second.count("Delete", "Success") == 0
    after = {u["userName"]: u for u in target.users()}
    assert set(after) == set(before)  # nothing created, nothing deleted
    assert after[boss.user_principal_name]["active"] is False
    assert after[alan.user_principal_name]["active"] is False
    assert after[ada.user_principal_name] == before[ada.user_principal_name]  # untouched
    logged = ProvisioningLogEntry.objects.get(cycle_id=second.cycle_id, source_id=boss.object_id)
    assert (logged.action, logged.status) == ("Disable", "Success")
    untouched = ProvisioningLogEntry.objects.get(cycle_id=second.cycle_id, source_id=ada.object_id)
    assert (untouched.status, untouched.error_code) == ("Skipped", "RedundantExport")
    assert {m["value"] for m in target.group("Engineers")["members"]} == {
        u["id"] for u in after.values()
    }

    third = run(app)
    assert third.kind == "incremental"
    assert exports(third) == 0
    assert {u["userName"]: u["active"] for u in target.users()} == {
        u["userName"]: u["active"] for u in after.values()
    }


def test_mapping_change_starts_an_initial_cycle_that_updates_every_user(org, target):
    app, people = org
    run(app)
    mapping = users_mapping(app)
    title = mapping.attributes.get(target_attribute="title")

    attribute_mapping_save(
        mapping=mapping,
        instance=title,
        mapping_type="Constant",
        constant_value="Staff",
        target_attribute="title",
    )
    second = run(app)

    assert second.kind == "initial"
    assert second.count("Update", "Success") == 3
    assert second.count("Create", "Success") == 0
    users = target.users()
    assert len(users) == 3
    assert {u["title"] for u in users} == {"Staff"}
    assert exports(run(app)) == 0

    # and again with an expression: a new initial cycle, every user updated
    attribute_mapping_save(
        mapping=mapping,
        instance=title,
        mapping_type="Expression",
        expression='Append(ToUpper([surname]), " team")',
        target_attribute="title",
    )
    fourth = run(app)
    assert fourth.kind == "initial"
    assert fourth.count("Update", "Success") == 3
    titles = {u["userName"]: u["title"] for u in target.users()}
    assert titles == {
        person.user_principal_name: f"{person.surname.upper()} team"
        for person in (people["boss"], people["ada"], people["alan"])
    }
    fifth = run(app)
    assert fifth.kind == "incremental"
    assert exports(fifth) == 0


def test_restart_runs_an_initial_cycle_that_keeps_links_and_creates_nothing(org, target):
    app, people = org
    job = app.provisioning_job
    run(app)
    links = dict(ConnectorObject.objects.filter(job=job).values_list("source_id", "target_id"))
    ids = {u["userName"]: u["id"] for u in target.users()}
    # a change made before the restart is still exported by the initial cycle
    directory_services.directory_user_update(
        directory=app.directory, user=people["alan"], job_title="Cryptanalyst"
    )

    provisioning_job_restart(job=job)
    job.state.refresh_from_db()
    assert job.state.watermark is None
    second = run(app)

    assert second.kind == "initial"
    assert second.count("Create", "Success") == 0
    assert second.count("Update", "Success") == 1
    assert (
        dict(ConnectorObject.objects.filter(job=job).values_list("source_id", "target_id")) == links
    )
    with target.client() as client:
        listed = client.get("/Users", params={"count": 100}).json()
        groups = client.get("/Groups", params={"count": 100}).json()
    assert listed["totalResults"] == 3  # no duplicates on the target
    assert groups["totalResults"] == 1
    assert {u["userName"]: u["id"] for u in listed["Resources"]} == ids
    assert target.user(people["alan"].user_principal_name)["title"] == "Cryptanalyst"
    assert exports(run(app)) == 0


def test_hard_delete_of_a_manager_deletes_it_and_clears_its_reports_managers(org, target):
    app, people = org
    directory = app.directory
    boss, ada, alan = people["boss"], people["ada"], people["alan"]
    run(app)
    boss_id = target.user(boss.user_principal_name)["id"]
    assert target.user(ada.user_principal_name)[ENTERPRISE]["manager"]["value"] == boss_id
    directory_services.directory_user_soft_delete(directory=directory, user=boss)
    assert run(app).count("Disable", "Success") == 1

    directory_services.directory_user_hard_delete(directory=directory, user=boss)
    cycle = run(app)

    assert cycle.kind == "incremental"
    assert cycle.count("Delete", "Success") == 1
    assert target.user(boss.user_principal_name) is None
    for report in (ada, alan):
        assert "manager" not in (target.user(report.user_principal_name).get(ENTERPRISE) or {})
    members = {m["value"] for m in target.group("Engineers")["members"]}
    assert boss_id not in members
    assert len(members) == 2
    assert not ConnectorObject.objects.filter(
        job=app.provisioning_job, source_id=boss.object_id, target_state="active"
    ).exists()
    assert exports(run(app)) == 0
    assert exports(run(app, restart=True)) == 0


def test_hard_delete_of_an_assigning_group_deletes_it_and_disables_its_members(target):
    app = make_app(target)
    directory = app.directory
    team = DirectoryGroupFactory(directory=directory, display_name="Contractors")
    people = [DirectoryUserFactory(directory=directory) for _ in range(2)]
    for person in people:
        DirectoryGroupMemberFactory(group=team, member_user=person)
    assign(app, team)  # the users are assigned only through the group
    run(app)
    assert len(target.users()) == 2
    assert target.group("Contractors") is not None

    directory_services.directory_group_hard_delete(directory=directory, group=team)
    cycle = run(app)

    assert cycle.kind == "incremental"
    assert cycle.count("Delete", "Success") == 1
    assert cycle.count("Disable", "Success") == 2
    assert target.group("Contractors") is None
    assert [u["active"] for u in target.users()] == [False, False]
    assert exports(run(app)) == 0
