"""Default Access (the Elium tutorial): "you must select any valid application-specific role (if
available) in the assignment dialog. Users with the Default Access role are excluded from
provisioning." A local stub SCIM server is the target."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.engine.ondemand import provisioning_on_demand_run
from provisioning.engine.works import DEFAULT_ACCESS_SKIP_TEXT
from provisioning.models import AppRole, AppRoleAssignment, ProvisioningLogEntry
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    DirectoryUserFactory,
    make_application,
)
from tests.provisioning.engine_support import StubScim, assign, configure

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_elium_app_has_a_user_role_besides_default_access():
    app = make_application(template="elium")

    assert list(app.roles.values_list("display_name", "is_default")) == [
        ("Default Access", True),
        ("User", False),
    ]


def test_elium_assignments_with_default_access_are_skipped_with_the_reason():
    with StubScim() as stub:
        app = make_application(template="elium")
        configure(app, url=stub.url, token="stub-token")
        directory = app.directory
        ada, bob, carl, dan = (DirectoryUserFactory(directory=directory) for _ in range(4))
        plain, roled = (DirectoryGroupFactory(directory=directory) for _ in range(2))
        DirectoryGroupMemberFactory(group=plain, member_user=carl)
        DirectoryGroupMemberFactory(group=roled, member_user=dan)
        assign(app, ada, role="Default Access")
        assign(app, bob)
        assign(app, plain, role="Default Access")
        assign(app, roled)

        cycle = provisioning_cycle_run(job=app.provisioning_job)
        on_demand = provisioning_on_demand_run(job=app.provisioning_job, user=ada)

    created = {u["userName"] for u in stub.users.values()}
    assert created == {bob.user_principal_name, dan.user_principal_name}
    skipped = ProvisioningLogEntry.objects.filter(cycle_id=cycle.cycle_id, status="Skipped")
    assert {e.source_id for e in skipped} == {str(ada.object_id), str(carl.object_id)}
    for entry in skipped:
        assert entry.error_code == "NotEffectivelyEntitled"
        assert entry.error_reason == DEFAULT_ACCESS_SKIP_TEXT
        scoping = next(s for s in entry.steps if s["type"] == "Scoping")
        assert scoping["details"]["Assigned"] is True
        assert scoping["details"]["HasRequiredRole"] is False
    # Provision on demand says the same.
    assert on_demand.status == "Skipped"
    assert on_demand.error_code == "NotEffectivelyEntitled"
    scope_step = next(s for s in on_demand.steps if s.title == "Determine if user is in scope")
    assert DEFAULT_ACCESS_SKIP_TEXT in scope_step.description
    rows = {row["name"]: row["value"] for row in scope_step.rows}
    assert rows["Assigned to application"] is True
    assert rows["User has required role"] is False


def test_a_generic_scim_app_provisions_default_access_like_any_role():
    # A configuration of today (entra-scim-behaviour.md §3.4).
    with StubScim() as stub:
        app = make_application(template="scim")
        configure(app, url=stub.url, token="stub-token")
        user = DirectoryUserFactory(directory=app.directory)
        assign(app, user, role="Default Access")

        provisioning_cycle_run(job=app.provisioning_job)

    assert [u["userName"] for u in stub.users.values()] == [user.user_principal_name]


def test_the_migration_gives_existing_elium_apps_the_role_and_moves_their_assignments():
    app = make_application(template="elium")
    app.roles.filter(display_name="User").delete()  # an app added before the role existed
    default = app.roles.get(is_default=True)
    user, both = (DirectoryUserFactory(directory=app.directory) for _ in range(2))
    group = DirectoryGroupFactory(directory=app.directory)
    for principal in (user, group, both):
        assign(app, principal, role="Default Access")
    migration = importlib.import_module("provisioning.migrations.0006_elium_user_role")

    migration.elium_user_role_add(apps, None)
    role = AppRole.objects.get(application=app, display_name="User")
    AppRoleAssignment.objects.create(application=app, role=default, principal_user=both)
    migration.elium_user_role_add(apps, None)  # again: idempotent, a duplicate goes

    assert set(
        AppRoleAssignment.objects.filter(application=app).values_list(
            "role", "principal_user", "principal_group"
        )
    ) == {(role.pk, user.pk, None), (role.pk, None, group.pk), (role.pk, both.pk, None)}
