"""Provision on demand for a group, in a real Chromium: search the group, pick members (more
than five is refused), run, and read the steps of the group and of each member; the target is
this project's own SCIM API, checked over HTTP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import (
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    DirectoryUserFactory,
    UserFactory,
)
from tests.provisioning.engine_support import assign, make_app, make_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(live_server, settings):
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0
    UserFactory(username="admin", is_staff=True)
    target = make_target(live_server)
    app = make_app(target, template="scim", status="off")
    team = DirectoryGroupFactory(directory=app.directory, display_name="Platform team")
    people = [
        DirectoryUserFactory(directory=app.directory, given_name=f"Member{i}", surname="Jones")
        for i in range(6)
    ]
    for person in people:
        DirectoryGroupMemberFactory(group=team, member_user=person)
    assign(app, team)
    base = f"{live_server.url}/azure/directories/{app.directory.tenant_id}/apps/{app.object_id}/"
    return app, team, people, target, base


def test_provision_a_group_with_selected_members_on_demand(scene, live_server, page, log_in):
    app, team, people, target, base = scene
    log_in("admin")
    page.goto(base)
    page.get_by_role("link", name="Provision on demand").click()
    page.get_by_label("Selected user or group").fill("Platform")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Platform team (group, 6 members)").check()
    page.get_by_role("button", name="Provision").click()

    picker = page.get_by_test_id("on-demand-members")
    expect(picker).to_contain_text("Select up to 5 members")
    for person in people:  # six: one too many
        picker.get_by_label(f"{person.display_name} ({person.user_principal_name})").check()
    picker.get_by_role("button", name="Provision").click()
    expect(page.get_by_role("alert")).to_have_text(
        "You can select up to 5 members of a group at a time; 6 are selected."
    )
    assert target.group("Platform team") is None

    picker = page.get_by_test_id("on-demand-members")
    for person in people[2:]:  # the choice was kept; keep the first two only
        picker.get_by_label(f"{person.display_name} ({person.user_principal_name})").uncheck()
    picker.get_by_role("button", name="Provision").click()

    result = page.get_by_test_id("on-demand-result")
    group_steps = result.get_by_test_id("on-demand-object")
    expect(group_steps).to_contain_text("Import group")
    expect(group_steps).to_contain_text("Determine if group is in scope")
    expect(group_steps).to_contain_text("Match group between source and target system")
    expect(group_steps).to_contain_text("Group 'Platform team' was created in")
    expect(group_steps).to_contain_text("Add members to the group")
    expect(group_steps).to_contain_text("Added 2 member(s) to the group 'Platform team'")
    members = result.get_by_test_id("on-demand-member")
    expect(members).to_have_count(2)
    for index, person in enumerate(people[:2]):
        expect(members.nth(index)).to_contain_text(person.user_principal_name)
        expect(members.nth(index)).to_contain_text(
            f"User '{person.user_principal_name}' was created in"
        )

    created = {u["userName"]: u["id"] for u in target.users()}
    assert set(created) == {p.user_principal_name for p in people[:2]}
    assert {m["value"] for m in target.group("Platform team")["members"]} == set(created.values())

    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_test_id("on-demand-object")).to_contain_text("already in sync")
    expect(page.get_by_test_id("on-demand-member")).to_have_count(2)
    assert len(target.users()) == 2
    page.get_by_role("link", name="Provision another object").click()
    expect(page.get_by_label("Selected user or group")).to_be_visible()
