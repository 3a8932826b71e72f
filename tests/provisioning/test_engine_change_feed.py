"""Issue 13's "done when": after provisioning cycles of the engine into this project's own tenant
over real HTTP, the tenant's Provisioning activity page shows each kind of change, in words, and
nothing from another tenant. The feed is read as its admin reads it: the console page and its
CSV (the engine tests never import ``scim_api``)."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from elium_portal.models import Membership, ScimToken, Tenant
from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.models import ProvisioningCycle
from provisioning.services import directory as directory_services
from provisioning.services.applications import app_role_assignment_delete
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    DirectoryUserFactory,
    MembershipFactory,
    ScimTokenFactory,
    azure_user,
)
from tests.provisioning.engine_support import assign, make_app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ACTIVITY = "/t/acme/settings/provisioning-activity/"


def run(app) -> None:
    cycle = provisioning_cycle_run(job=app.provisioning_job)
    cycle.refresh_from_db()
    assert cycle.state == ProvisioningCycle.State.SUCCEEDED, (cycle.state, cycle.error)


def feed(client) -> list[list[str]]:
    """Every row of the feed, oldest first, from the CSV download."""
    response = client.get(ACTIVITY + "export.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return list(reversed(rows[1:]))


def test_a_provisioning_cycle_shows_each_kind_of_change_in_words(target, live_server, client):
    app = make_app(target)
    directory = app.directory
    grace = DirectoryUserFactory(directory=directory, given_name="Grace", surname="Hopper")
    ada = DirectoryUserFactory(
        directory=directory, given_name="Ada", surname="Lovelace", job_title="Analyst"
    )
    alan = DirectoryUserFactory(directory=directory, given_name="Alan", surname="Turing")
    team = DirectoryGroupFactory(directory=directory, display_name="Engineers")
    for person in (grace, ada, alan):
        DirectoryGroupMemberFactory(group=team, member_user=person)
        assign(app, person)
    assign(app, team)
    # Another tenant of this installation, provisioned by someone else.
    other = ScimTokenFactory(tenant__slug="other")
    httpx.post(
        f"{live_server.url}/t/other/scim/v2/Users",
        json=azure_user("victim@other.com", displayName="Victor Other"),
        headers={"Authorization": f"Bearer {other.plaintext}"},
        timeout=10,
    ).raise_for_status()
    admin = MembershipFactory(tenant=Tenant.objects.get(slug="acme"), role=Membership.Role.ADMIN)
    client.force_login(admin.user)

    run(app)  # the initial cycle: people, the group, its members
    directory_services.directory_user_update(directory=directory, user=ada, job_title="Engineer")
    app_role_assignment_delete(application=app, assignment=app.assignments.get(principal_user=alan))
    directory_services.directory_group_member_remove(directory=directory, group=team, member=alan)
    directory_services.directory_group_update(
        directory=directory, group=team, display_name="Engineering"
    )
    run(app)  # an update, a deactivation, a member removed, a rename
    assign(app, alan)
    directory_services.directory_group_member_add(directory=directory, group=team, member=alan)
    run(app)  # a reactivation, a member added back
    directory_services.directory_user_soft_delete(directory=directory, user=ada)
    run(app)
    directory_services.directory_user_hard_delete(directory=directory, user=ada)
    directory_services.directory_group_hard_delete(directory=directory, group=team)
    run(app)  # deletes

    sentences = [row[1] for row in feed(client)]
    for expected in (
        "Azure AD created Grace Hopper",
        "Azure AD created Ada Lovelace",
        "Azure AD created Alan Turing",
        "Azure AD created group Engineers",
        "Azure AD added Ada Lovelace to Engineers",
        "Azure AD changed Ada Lovelace's job title from Analyst to Engineer",
        "Azure AD deactivated Alan Turing",
        "Azure AD renamed group Engineers to Engineering",
        "Azure AD reactivated Alan Turing",
        "Azure AD deactivated Ada Lovelace",
        "Azure AD deleted Ada Lovelace",
        "Azure AD deleted group Engineering",
    ):
        assert expected in sentences, (expected, sentences)
    # The rename and the removal go in the same cycle, in either order.
    assert [s for s in sentences if s.startswith("Azure AD removed Alan Turing from Engineer")]
    assert "Azure AD added Alan Turing to Engineering" in sentences
    assert sentences.index("Azure AD created Ada Lovelace") < sentences.index(
        "Azure AD deleted Ada Lovelace"
    )
    kinds = {row[2] for row in feed(client)}
    assert kinds >= {
        "Person created",
        "Person changed",
        "Person deactivated",
        "Person reactivated",
        "Person deleted",
        "Added to a group",
        "Removed from a group",
        "Group created",
        "Group renamed",
        "Group deleted",
    }
    # Each row names the token and the exchange of the engine's log entry.
    token = ScimToken.objects.get(tenant__slug="acme")
    assert {row[10] for row in feed(client)} == {token.display_prefix}
    # In words on the page too, and nothing from the other tenant anywhere.
    page = client.get(ACTIVITY).content.decode()
    assert "Azure AD deleted group Engineering" in page
    assert "Victor" not in page
    assert not [s for s in sentences if "Victor" in s]
    assert client.get("/t/other/settings/provisioning-activity/").status_code == 404
