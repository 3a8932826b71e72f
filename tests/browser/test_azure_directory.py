"""The emulated directory in the console: create a directory, users and groups by hand, search,
and bulk import with every problem listed."""

import json

import pytest
from playwright.sync_api import expect

from provisioning.models import Directory, DirectoryUser
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADA = "11111111-1111-4111-8111-111111111111"


def test_admin_builds_a_directory_by_hand_and_by_import(live_server, page, tmp_path, log_in):
    UserFactory(username="admin", is_staff=True)
    page.on("dialog", lambda dialog: dialog.accept())
    log_in("admin")
    page.goto(live_server.url + "/azure/")

    page.get_by_label("Directory name").fill("Fabrikam")
    page.get_by_label("Primary domain").fill("fabrikam.onmicrosoft.com")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Fabrikam | Overview")).to_be_visible()

    # A user by hand.
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="+ New user").click()
    page.get_by_label("User principal name").fill("grace@fabrikam.onmicrosoft.com")
    page.get_by_label("Display name").fill("Grace Hopper")
    page.get_by_label("Department").fill("Navy")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Created user Grace Hopper.")).to_be_visible()

    # A group with that user as member.
    page.get_by_role("link", name="Groups", exact=True).click()
    page.get_by_role("link", name="+ New group").click()
    page.get_by_label("Group name").fill("Admirals")
    page.get_by_role("button", name="Create").click()
    page.get_by_label("Add member").select_option(
        label="Grace Hopper (grace@fabrikam.onmicrosoft.com)"
    )
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_test_id("member-list")).to_contain_text("Grace Hopper")

    # A bad import lists every problem and writes nothing.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "User principal name,Display name,Object Id\n"
        "ada@fabrikam.com,Ada,not-a-guid\n"
        f"grace@fabrikam.onmicrosoft.com,Grace again,{ADA}\n"
    )
    page.get_by_role("link", name="Bulk import").click()
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("button", name="Submit").click()
    problems = page.get_by_test_id("import-problems")
    expect(problems).to_contain_text("Nothing was imported: 2 problems")
    expect(problems).to_contain_text("Object Id")
    expect(problems).to_contain_text("already has this user principal name")
    assert DirectoryUser.objects.filter(directory__name="Fabrikam").count() == 1

    # A good Graph export.
    good = tmp_path / "users.json"
    good.write_text(
        json.dumps(
            {"value": [{"id": ADA, "userPrincipalName": "ada@fabrikam.com", "displayName": "Ada"}]}
        )
    )
    page.get_by_label("File").set_input_files(str(good))
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Users: 1 created")).to_be_visible()

    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_label("Search users").fill("ada")
    page.get_by_label("Search users").press("Enter")
    expect(page.get_by_test_id("user-list").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("user-list")).to_contain_text("ada@fabrikam.com")
    assert Directory.objects.get(name="Fabrikam").changes.count() >= 4
