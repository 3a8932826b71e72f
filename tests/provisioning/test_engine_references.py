"""References against a local stub SCIM server that records every request: failed manager
updates escrowed with a growing wait, members whose target object is gone removed from the
target group, and a user's attribute change that leaves its groups alone."""

from __future__ import annotations

import pytest

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.models import (
    ConnectorObject,
    ProvisioningCycle,
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
