"""The requests on the wire, recorded by a small local SCIM server: the shapes Azure AD sends in
its default dialect and with ``aadOptscim062020`` (entra-scim-behaviour.md §1.1–1.5, §1.7)."""

from __future__ import annotations

import logging
import re
import urllib.parse

import pytest

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.services import directory as directory_services
from provisioning.services.applications import app_role_assignment_delete
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryGroupMemberFactory,
    DirectoryUserFactory,
    make_application,
)
from tests.provisioning.engine_support import ENTERPRISE, StubScim, assign, configure

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def query_of(recorded) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(recorded.path.partition("?")[2]))


def setup(stub: StubScim, *, flag: bool):
    app = make_application(template="scim")
    url = stub.url + ("?aadOptscim062020" if flag else "")
    configure(app, url=url, token="stub-token")
    directory = app.directory
    boss = DirectoryUserFactory(directory=directory, given_name="Grace", surname="Hopper")
    ada = DirectoryUserFactory(
        directory=directory, given_name="Ada", surname="Lovelace", manager=boss, employee_id="42"
    )
    team = DirectoryGroupFactory(directory=directory, display_name="Engineers")
    for member in (boss, ada):
        DirectoryGroupMemberFactory(group=team, member_user=member)
    for principal in (boss, ada, team):
        assign(app, principal)
    return app, boss, ada, team


@pytest.mark.parametrize("flag", [False, True], ids=["default", "aadOptscim062020"])
def test_initial_cycle_requests(flag):
    with StubScim() as stub:
        app, boss, ada, team = setup(stub, flag=flag)
        provisioning_cycle_run(job=app.provisioning_job)
        sent = stub.requests

    # 1. the random-GUID probes, users then groups (groups without members)
    assert sent[0].method == "GET"
    assert sent[0].path.startswith("/scim/v2/Users?")
    attribute, _, value = query_of(sent[0])["filter"].partition(" eq ")
    assert attribute == "userName"
    assert GUID.match(value.strip('"'))
    assert "aadOptscim062020" not in sent[0].path
    assert query_of(sent[1])["excludedAttributes"] == "members"
    assert query_of(sent[1])["filter"].startswith("displayName eq ")
    # 2. matching query then POST, per user; the matching query is URL-encoded as Entra does
    ada_query = next(
        r for r in sent if ada.user_principal_name in urllib.parse.unquote_plus(r.path)
    )
    assert ada_query.method == "GET"
    assert (
        f"filter=userName+eq+%22{urllib.parse.quote(ada.user_principal_name)}%22" in ada_query.path
    )
    post = next(
        r for r in sent if r.method == "POST" and r.body.get("userName") == ada.user_principal_name
    )
    assert post.body["schemas"] == [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ENTERPRISE,
    ]
    assert post.body["active"] is True
    assert post.body["meta"] == {"resourceType": "User"}
    assert post.body["emails"] == [{"primary": True, "type": "work", "value": ada.mail}]
    assert post.body["name"]["givenName"] == "Ada"
    assert post.body[ENTERPRISE] == {"employeeNumber": "42"}  # manager is not in the POST
    group_post = next(
        r
        for r in sent
        if r.method == "POST"
        and "displayName" in r.body
        and r.body.get("schemas", [None])[0].endswith("Group")
    )
    assert group_post.body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Group", ADSCIM]
    assert "members" not in group_post.body
    assert group_post.body["externalId"] == str(team.object_id)
    # 3. references: the manager's target id as a plain string, then members added
    ids = {u["userName"]: u["id"] for u in stub.users.values()}
    manager_patch = next(r for r in sent if r.method == "PATCH" and "/Users/" in r.path)
    assert manager_patch.path == f"/scim/v2/Users/{ids[ada.user_principal_name]}"
    assert manager_patch.body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "add" if flag else "Add",
                "path": f"{ENTERPRISE}:manager",
                "value": ids[boss.user_principal_name],
            }
        ],
    }
    member_patch = next(r for r in sent if r.method == "PATCH" and "/Groups/" in r.path)
    (operation,) = member_patch.body["Operations"]
    assert operation["op"] == ("add" if flag else "Add")
    assert operation["path"] == "members"
    assert sorted(operation["value"], key=lambda v: v["value"]) == sorted(
        ({"$ref": None, "value": ids[u.user_principal_name]} for u in (boss, ada)),
        key=lambda v: v["value"],
    )
    # users first, then groups, then references
    order = [r.method + (" Users" if "/Users" in r.path else " Groups") for r in sent]
    assert order.index("POST Groups") > max(i for i, o in enumerate(order) if o == "POST Users")
    assert sent.index(manager_patch) > sent.index(group_post)


@pytest.mark.parametrize("flag", [False, True], ids=["default", "aadOptscim062020"])
def test_update_disable_and_member_removal_requests(flag):
    with StubScim() as stub:
        app, boss, ada, team = setup(stub, flag=flag)
        provisioning_cycle_run(job=app.provisioning_job)
        ids = {u["userName"]: u["id"] for u in stub.users.values()}
        group_id = next(iter(stub.groups))
        stub.requests.clear()
        directory = app.directory
        directory_services.directory_user_update(
            directory=directory,
            user=ada,
            display_name="Ada King",
            given_name="Augusta",
            job_title="Countess",
        )
        directory_services.directory_group_member_remove(
            directory=directory, group=team, member=boss
        )
        app_role_assignment_delete(
            application=app, assignment=app.assignments.get(principal_user=boss)
        )
        provisioning_cycle_run(job=app.provisioning_job)
        sent = stub.requests

    # The stub does not apply PATCHes, so collect every operation sent to each resource.
    patches: dict[str, list] = {}
    for r in sent:
        if r.method == "PATCH":
            patches.setdefault(r.path, []).extend(r.body["Operations"])
    ada_ops = patches[f"/scim/v2/Users/{ids[ada.user_principal_name]}"]
    if flag:
        # new attribute: add with a path; changed simple attributes: one path-less replace
        assert {"op": "add", "path": "title", "value": "Countess"} in ada_ops
        replace = next(op for op in ada_ops if "path" not in op)
        assert replace == {
            "op": "replace",
            "value": {
                "displayName": "Ada King",
                "name.givenName": "Augusta",
                "name.formatted": "Augusta Lovelace",
            },
        }
    else:
        assert {"op": "Add", "path": "title", "value": "Countess"} in ada_ops
        assert {"op": "Replace", "path": "displayName", "value": "Ada King"} in ada_ops
        assert {"op": "Replace", "path": "name.givenName", "value": "Augusta"} in ada_ops
        assert all("path" in op for op in ada_ops)
    disable = patches[f"/scim/v2/Users/{ids[boss.user_principal_name]}"]
    assert disable[-1:] == [
        {"op": "replace", "path": "active", "value": False}
        if flag
        else {"op": "Replace", "path": "active", "value": "False"}
    ]
    removal = patches[f"/scim/v2/Groups/{group_id}"]
    boss_id = ids[boss.user_principal_name]
    if flag:
        assert removal == [{"op": "remove", "path": f'members[value eq "{boss_id}"]'}]
    else:
        assert removal == [{"op": "Remove", "path": "members", "value": [{"value": boss_id}]}]
    # the linked objects are read by id before the update (groups without members)
    assert any(
        r.method == "GET" and r.path == f"/scim/v2/Users/{ids[ada.user_principal_name]}"
        for r in sent
    )
    assert any(
        r.method == "GET" and r.path == f"/scim/v2/Groups/{group_id}?excludedAttributes=members"
        for r in sent
    )


def test_the_secret_token_is_sent_as_bearer_and_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    with StubScim() as stub:
        app, *_ = setup(stub, flag=False)
        provisioning_cycle_run(job=app.provisioning_job)
    assert stub.requests
    assert {r.headers["Authorization"] for r in stub.requests} == {"Bearer stub-token"}
    assert {r.headers.get("Content-Type") for r in stub.requests if r.body} == {
        "application/scim+json"
    }
    assert "stub-token" not in caplog.text
