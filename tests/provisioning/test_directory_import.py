"""Importing Microsoft Graph JSON exports and the Entra "Download users" CSV."""

import json
import uuid

import pytest
from django.core.management import CommandError, call_command

from provisioning.models import ChangeRecord, Directory, DirectoryGroup, DirectoryUser
from provisioning.services.directory_import import DirectoryImportError, directory_import
from tests.factories import DirectoryFactory, DirectoryUserFactory

pytestmark = pytest.mark.django_db

ADA = "11111111-1111-4111-8111-111111111111"
BOB = "22222222-2222-4222-8222-222222222222"
ENG = "33333333-3333-4333-8333-333333333333"
ALL = "44444444-4444-4444-8444-444444444444"


def graph_users():
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": [
            {
                "id": ADA,
                "userPrincipalName": "ada@contoso.com",
                "displayName": "Ada Lovelace",
                "givenName": "Ada",
                "surname": "Lovelace",
                "mail": "ada@contoso.com",
                "jobTitle": "CTO",
                "businessPhones": ["+1 555 0100"],
                "mobilePhone": "+1 555 0101",
                "officeLocation": "HQ",
                "accountEnabled": True,
                "onPremisesExtensionAttributes": {"extensionAttribute1": "E1"},
            },
            {
                "id": BOB,
                "userPrincipalName": "bob@contoso.com",
                "displayName": "Bob",
                "accountEnabled": False,
                "manager": {"id": ADA},
            },
        ],
    }


def graph_groups():
    return {
        "value": [
            {
                "@odata.type": "#microsoft.graph.group",
                "id": ENG,
                "displayName": "Engineering",
                "securityEnabled": True,
                "members": [{"@odata.type": "#microsoft.graph.user", "id": ADA}],
            },
            {
                "id": ALL,
                "displayName": "Everyone",
                "securityEnabled": True,
                "members": [
                    {"@odata.type": "#microsoft.graph.user", "id": BOB},
                    {"@odata.type": "#microsoft.graph.group", "id": ENG},
                ],
            },
        ]
    }


def test_graph_users_then_groups_import_with_managers_and_nested_members():
    directory = DirectoryFactory()
    result = directory_import(directory=directory, content=json.dumps(graph_users()))
    assert (result.users_created, result.users_updated) == (2, 0)
    ada = DirectoryUser.objects.get(object_id=ADA)
    bob = DirectoryUser.objects.get(object_id=BOB)
    assert ada.telephone_number == "+1 555 0100"
    assert ada.mobile == "+1 555 0101"
    assert ada.physical_delivery_office_name == "HQ"
    assert ada.extension_attributes == {"extensionAttribute1": "E1"}
    assert bob.manager == ada
    assert bob.account_enabled is False

    result = directory_import(directory=directory, content=json.dumps(graph_groups()))
    assert (result.groups_created, result.memberships_added) == (2, 3)
    everyone = DirectoryGroup.objects.get(object_id=ALL)
    members = {m.member.object_id for m in everyone.members.all()}
    assert members == {uuid.UUID(BOB), uuid.UUID(ENG)}


def test_reimport_is_idempotent_and_writes_only_real_changes():
    directory = DirectoryFactory()
    directory_import(directory=directory, content=json.dumps(graph_users()))
    directory_import(directory=directory, content=json.dumps(graph_groups()))
    watermark = ChangeRecord.objects.order_by("-id").first().id

    again = directory_import(directory=directory, content=json.dumps(graph_users()))
    assert (again.users_created, again.users_updated, again.users_unchanged) == (0, 0, 2)
    again = directory_import(directory=directory, content=json.dumps(graph_groups()))
    assert (again.groups_unchanged, again.memberships_added) == (2, 0)
    assert not ChangeRecord.objects.filter(id__gt=watermark).exists()

    changed = graph_users()
    changed["value"][1]["jobTitle"] = "Engineer"
    result = directory_import(directory=directory, content=json.dumps(changed))
    assert (result.users_updated, result.users_unchanged) == (1, 1)
    assert list(
        ChangeRecord.objects.filter(id__gt=watermark).values_list("object_id", "change_type")
    ) == [(uuid.UUID(BOB), "updated")]


def test_membership_import_removes_members_no_longer_listed():
    directory = DirectoryFactory()
    directory_import(directory=directory, content=json.dumps(graph_users()))
    directory_import(directory=directory, content=json.dumps(graph_groups()))
    groups = graph_groups()
    groups["value"][1]["members"] = [{"id": BOB}]
    result = directory_import(directory=directory, content=json.dumps(groups))
    assert (result.memberships_added, result.memberships_removed) == (0, 1)


def test_bad_json_rows_are_all_reported_with_lines_and_nothing_is_written():
    directory = DirectoryFactory()
    users = graph_users()
    users["value"][0]["id"] = "not-a-guid"
    users["value"][1]["userPrincipalName"] = "no-at-sign"
    users["value"][1]["manager"] = {"id": "99999999-9999-4999-8999-999999999999"}
    users["value"].append({"id": BOB, "userPrincipalName": "bob2@contoso.com"})
    text = json.dumps(users, indent=2)
    with pytest.raises(DirectoryImportError) as error:
        directory_import(directory=directory, content=text)
    problems = [(p.line, p.field) for p in error.value.problems]
    lines = text.splitlines()
    first_item = next(i for i, line in enumerate(lines, 1) if line.strip() == "{" and i > 2)
    assert (first_item, "id") in problems
    assert any(field == "userPrincipalName" for _, field in problems)
    assert any(field == "displayName" for _, field in problems)  # the third item lacks it
    assert not DirectoryUser.objects.filter(directory=directory).exists()
    assert not ChangeRecord.objects.filter(directory=directory).exists()


def test_cross_row_problems_are_reported():
    directory = DirectoryFactory()
    users = graph_users()
    users["value"][1]["id"] = ADA  # duplicate id
    users["value"][1]["manager"] = {"id": "99999999-9999-4999-8999-999999999999"}
    with pytest.raises(DirectoryImportError) as error:
        directory_import(directory=directory, content=json.dumps(users))
    messages = [str(p) for p in error.value.problems]
    assert any("Duplicate object ID" in m for m in messages)
    assert any("Unknown manager" in m for m in messages)


def test_upn_held_by_another_directory_user_is_a_conflict():
    existing = DirectoryUserFactory(user_principal_name="ADA@contoso.com")
    with pytest.raises(DirectoryImportError) as error:
        directory_import(directory=existing.directory, content=json.dumps(graph_users()))
    assert [p.field for p in error.value.problems] == ["userPrincipalName"]


def test_unknown_group_member_is_reported():
    directory = DirectoryFactory()
    with pytest.raises(DirectoryImportError) as error:
        directory_import(directory=directory, content=json.dumps(graph_groups()))
    assert {p.field for p in error.value.problems} == {"members"}
    assert not DirectoryGroup.objects.exists()


ENTRA_CSV = (
    "userPrincipalName,displayName,surname,mail,givenName,objectId,userType,jobTitle,"
    "department,accountEnabled,usageLocation,streetAddress,state,country,"
    "physicalDeliveryOfficeName,city,postalCode,telephoneNumber,mobile,"
    "authenticationPhoneNumber,alternateEmailAddress\n"
    f"ada@contoso.com,Ada Lovelace,Lovelace,ada@contoso.com,Ada,{ADA},Member,CTO,R&D,True,GB,"
    '"1 Main St, Floor 2",London,United Kingdom,HQ,London,N1,+44 20,+44 77,,\n'
    f"bob@contoso.com,Bob,,,,{BOB},Member,,,False,,,,,,,,,,,\n"
)

PORTAL_CSV = (
    "\ufeffUser principal name,Display name,First name,Last name,Object Id,Block sign in,"
    "Job title,Office location,Mobile phone\n"
    f"ada@contoso.com,Ada Lovelace,Ada,Lovelace,{ADA},No,CTO,HQ,+44 77\n"
)


def test_entra_csv_imports_every_column():
    directory = DirectoryFactory()
    result = directory_import(directory=directory, content=ENTRA_CSV.encode(), filename="u.csv")
    assert result.users_created == 2
    ada = DirectoryUser.objects.get(object_id=ADA)
    assert (ada.street_address, ada.country, ada.usage_location) == (
        "1 Main St, Floor 2",
        "United Kingdom",
        "GB",
    )
    assert (ada.physical_delivery_office_name, ada.telephone_number, ada.mobile) == (
        "HQ",
        "+44 20",
        "+44 77",
    )
    assert DirectoryUser.objects.get(object_id=BOB).account_enabled is False


def test_portal_csv_headers_with_spaces_and_block_sign_in():
    directory = DirectoryFactory()
    directory_import(directory=directory, content=PORTAL_CSV.encode())
    ada = DirectoryUser.objects.get(object_id=ADA)
    assert (ada.given_name, ada.surname, ada.job_title, ada.account_enabled) == (
        "Ada",
        "Lovelace",
        "CTO",
        True,
    )


def test_bad_csv_rows_report_line_and_column():
    directory = DirectoryFactory()
    bad = (
        "userPrincipalName,displayName,objectId,accountEnabled,mail\n"
        f"ada@contoso.com,Ada,{ADA},True,ada@contoso.com\n"
        "bob@contoso.com,Bob,nope,True,\n"
        f"carol@contoso.com,Carol,{BOB},maybe,not-mail\n"
    )
    with pytest.raises(DirectoryImportError) as error:
        directory_import(directory=directory, content=bad)
    assert [(p.line, p.field) for p in error.value.problems] == [
        (3, "objectId"),
        (4, "accountEnabled"),
        (4, "mail"),
    ]
    assert not DirectoryUser.objects.exists()


def test_csv_without_required_columns_is_refused():
    with pytest.raises(DirectoryImportError) as error:
        directory_import(directory=DirectoryFactory(), content="displayName\nAda\n")
    assert {p.field for p in error.value.problems} == {"objectId", "userPrincipalName"}


def test_import_command_creates_the_directory_and_reports_progress(tmp_path, capsys):
    path = tmp_path / "users.json"
    path.write_text(json.dumps(graph_users()))
    call_command("import_directory", str(path), "--directory", "Fabrikam")
    out = capsys.readouterr()
    assert "Users: 2 created" in out.out
    assert "Importing users.json" in out.err
    assert Directory.objects.get(name="Fabrikam").users.count() == 2


def test_import_command_lists_problems_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "users.csv"
    path.write_text("userPrincipalName,displayName,objectId\nbad,Bad,nope\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_directory", str(path), "--directory", "Fabrikam", verbosity=0)
    err = capsys.readouterr().err
    assert "Line 2, objectId" in err
    assert "Line 2, userPrincipalName" in err
    assert not Directory.objects.filter(name="Fabrikam").exists()
