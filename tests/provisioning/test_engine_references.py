"""References against a local stub SCIM server that records every request: failed manager
updates escrowed with a growing wait, members whose target object is gone removed from the
target group, and a user's attribute change that leaves its groups alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.models import (
    ConnectorObject,
    ProvisioningCycle,
    ProvisioningJobState,
    ProvisioningLogEntry,
)
from provisioning.services import directory as directory_services
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    DirectoryUserFactory,
    make_application,
)
from tests.provisioning.engine_support import ENTERPRISE, StubScim, assign, configure

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MANAGER = f"{ENTERPRISE}:manager"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def run(app) -> ProvisioningCycle:
    cycle = provisioning_cycle_run(job=app.provisioning_job)
    assert cycle is not None
    cycle.refresh_from_db()
    return cycle


def scim_app(stub: StubScim):
    app = make_application(template="scim")
    configure(app, url=stub.url, token="stub-token")
    return app


def manager_patches(stub: StubScim) -> list:
    return [
        r
        for r in stub.requests
        if r.method == "PATCH"
        and "/Users/" in r.path
        and any(op.get("path") == MANAGER for op in r.body["Operations"])
    ]


def group_requests(stub: StubScim, group_id: str) -> list:
    return [r for r in stub.requests if f"/Groups/{group_id}" in r.path]


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "WebExceptionProtocolError"), (501, "NotImplemented")],
)
def test_failed_manager_updates_are_escrowed_with_a_growing_wait(settings, status, code):
    def responder(method, path, body):
        if method == "PATCH" and any(op.get("path") == MANAGER for op in body["Operations"]):
            return status, {}, {"schemas": [SCIM_ERROR], "status": str(status), "detail": "no"}
        return None

    with StubScim(responder=responder) as stub:
        app = scim_app(stub)
        boss = DirectoryUserFactory(directory=app.directory)
        reports = [DirectoryUserFactory(directory=app.directory, manager=boss) for _ in range(2)]
        for user in (boss, *reports):
            assign(app, user)

        first = run(app)
        sent_first = len(manager_patches(stub))
        second = run(app)
        sent_second = len(manager_patches(stub)) - sent_first
        third = run(app)
        sent_third = len(manager_patches(stub)) - sent_first - sent_second
        settings.PROVISIONING_ESCROW_TOTAL_THRESHOLD = 1
        fourth = run(app)

    # Sent, retried at the next cycle, then held back for a cycle interval (not every cycle).
    assert (sent_first, sent_second, sent_third) == (2, 2, 0)
    job = app.provisioning_job
    rows = ConnectorObject.objects.filter(job=job, source_id__in=[u.object_id for u in reports])
    for row in rows:
        assert row.reference_attempts == 2
        assert row.reference_error_code == code
        assert row.reference_next_attempt > timezone.now() + timedelta(minutes=30)
        assert row.escrow_attempts == 0  # the user itself exported fine
    # Shown in the logs: a failure per attempt, none for the cycle that waited.
    failures = ProvisioningLogEntry.objects.filter(job=job, status="Failure", error_code=code)
    assert failures.filter(cycle_id=first.cycle_id).count() == 2
    assert failures.filter(cycle_id=second.cycle_id).count() == 2
    assert not failures.filter(cycle_id=third.cycle_id).exists()
    # Counted toward quarantine though nothing was sent in that cycle.
    assert fourth.state == ProvisioningCycle.State.QUARANTINED
    job.state.refresh_from_db()
    assert job.state.quarantine_reason == ProvisioningJobState.QuarantineReason.TOTAL_ESCROW


def test_a_hard_deleted_member_is_removed_from_the_group_before_its_delete():
    with StubScim() as stub:
        app = scim_app(stub)
        team = DirectoryGroupFactory(directory=app.directory, display_name="Team")
        leaver, stayer = (DirectoryUserFactory(directory=app.directory) for _ in range(2))
        for user in (leaver, stayer):
            DirectoryGroupMemberFactory(group=team, member_user=user)
        assign(app, team)
        run(app)
        links = dict(
            ConnectorObject.objects.filter(job=app.provisioning_job).values_list(
                "source_id", "target_id"
            )
        )
        group_id, leaver_id = links[team.object_id], links[leaver.object_id]
        stub.requests.clear()

        directory_services.directory_user_hard_delete(directory=app.directory, user=leaver)
        run(app)

    requests = [(r.method, r.path.split("?")[0], r.body) for r in stub.requests]
    removal = (
        "PATCH",
        f"/scim/v2/Groups/{group_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": leaver_id}]}],
        },
    )
    delete = ("DELETE", f"/scim/v2/Users/{leaver_id}", None)
    assert removal in requests
    assert delete in requests
    assert requests.index(removal) < requests.index(delete)
    team_row = ConnectorObject.objects.get(job=app.provisioning_job, source_id=team.object_id)
    assert team_row.exported["members"] == [links[stayer.object_id]]


def test_a_member_re_created_after_a_404_replaces_its_old_id_in_the_group():
    with StubScim() as stub:
        app = scim_app(stub)
        team = DirectoryGroupFactory(directory=app.directory, display_name="Team")
        member = DirectoryUserFactory(directory=app.directory, job_title="Analyst")
        DirectoryGroupMemberFactory(group=team, member_user=member)
        assign(app, team)
        run(app)
        links = dict(
            ConnectorObject.objects.filter(job=app.provisioning_job).values_list(
                "source_id", "target_id"
            )
        )
        group_id, old_id = links[team.object_id], links[member.object_id]
        del stub.users[old_id]  # deleted in the target behind the service's back
        stub.requests.clear()

        directory_services.directory_user_update(
            directory=app.directory, user=member, job_title="Lead"
        )
        run(app)

    new_id = ConnectorObject.objects.get(
        job=app.provisioning_job, source_id=member.object_id
    ).target_id
    assert new_id != old_id
    operations = [
        op
        for r in group_requests(stub, group_id)
        if r.method == "PATCH"
        for op in r.body["Operations"]
    ]
    assert {
        "op": "Add",
        "path": "members",
        "value": [{"$ref": None, "value": new_id}],
    } in operations
    assert {"op": "Remove", "path": "members", "value": [{"value": old_id}]} in operations


def test_an_attribute_change_of_a_user_leaves_its_groups_alone():
    with StubScim() as stub:
        app = scim_app(stub)
        user = DirectoryUserFactory(directory=app.directory, job_title="Analyst")
        teams = [DirectoryGroupFactory(directory=app.directory) for _ in range(3)]
        for team in teams:
            DirectoryGroupMemberFactory(group=team, member_user=user)
            assign(app, team)
        run(app)
        group_ids = list(
            ConnectorObject.objects.filter(
                job=app.provisioning_job, object_type="group"
            ).values_list("target_id", flat=True)
        )
        stub.requests.clear()

        directory_services.directory_user_update(
            directory=app.directory, user=user, job_title="Lead"
        )
        cycle = run(app)

    assert len(group_ids) == 3
    assert [r for r in stub.requests if "/Groups" in r.path and "filter=" not in r.path] == []
    entries = ProvisioningLogEntry.objects.filter(cycle_id=cycle.cycle_id)
    assert list(entries.values_list("object_type", "action", "status")) == [
        ("user", "Update", "Success")
    ]
