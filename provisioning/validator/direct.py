"""The direct SCIM checks: requests sent straight to the target as Entra shapes them, in the
names and with the pass rules of Microsoft's gallery validation (and, marked "beyond the gallery
list", the Azure-dialect shapes this project knows from its replays)."""

from __future__ import annotations

import uuid
from typing import Any

from provisioning.engine.scim_client import ScimResult
from provisioning.validator.context import (
    ENTERPRISE,
    GROUP_SCHEMA,
    LIST_RESPONSE,
    USER_SCHEMA,
    CheckFailedError,
    RunContext,
)
from provisioning.validator.registry import DEFAULT, FLAG2020, check
from provisioning.validator.result import Category

PAGE_SIZE = 5
PAGINATION_MINIMUM = 11

# What the default mappings send (entra-scim-behaviour.md §5.1, §5.2): each must be discoverable.
USER_ATTRIBUTES = [
    "userName",
    "displayName",
    "active",
    "title",
    "emails",
    "emails.value",
    "emails.type",
    "name",
    "name.givenName",
    "name.familyName",
]
ENTERPRISE_ATTRIBUTES = ["employeeNumber", "department", "manager"]
GROUP_ATTRIBUTES = ["displayName", "members"]


# -- reading a resource -------------------------------------------------------------------------


def _key(data: Any, name: str) -> Any:
    """``data[name]`` with attribute names compared case-insensitively (RFC 7643 §2.1)."""
    if not isinstance(data, dict):
        return None
    for key, value in data.items():
        if key.lower() == name.lower():
            return value
    return None


def value_at(resource: dict[str, Any], path: str) -> Any:
    """A value of ``resource`` by a simple path: ``name.givenName``, ``emails[work]``,
    ``enterprise:department``, ``enterprise:manager``."""
    if path.startswith("enterprise:"):
        value = _key(_key(resource, ENTERPRISE), path.split(":", 1)[1])
        if path.endswith("manager") and isinstance(value, dict):
            return value.get("value")
        return value
    if path == "emails[work]":
        for email in _key(resource, "emails") or []:
            if isinstance(email, dict) and str(email.get("type", "")).lower() == "work":
                return email.get("value")
        return None
    value: Any = resource
    for part in path.split("."):
        value = _key(value, part)
    return value


def _is_true(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _ok(result: ScimResult, index: int, what: str, *, statuses: tuple[int, ...] = ()) -> None:
    if not result.ok or (statuses and result.status not in statuses):
        detail = result.reason or f"status {result.status}"
        raise CheckFailedError(f"{what}: {detail}", index)


def _read(ctx: RunContext, resource: str, target_id: str) -> tuple[dict[str, Any], int]:
    result, index = ctx.get(f"/{resource}/{target_id}")
    _ok(result, index, f"GET /{resource}/{target_id}", statuses=(200,))
    if not isinstance(result.body, dict):
        raise CheckFailedError("The resource is not SCIM JSON.", index)
    return result.body, index


def _expect(ctx: RunContext, resource: dict, index: int, expected: dict[str, Any]) -> None:
    for path, want in expected.items():
        got = value_at(resource, path)
        if want is None:
            if got not in (None, "", [], {}):
                raise CheckFailedError(f"{path} should be empty but is {got!r}.", index)
        elif isinstance(want, bool):
            if _is_true(got) is not want:
                raise CheckFailedError(f"{path} should be {want} but is {got!r}.", index)
        elif str(got).lower() != str(want).lower():
            raise CheckFailedError(f"{path} should be {want!r} but is {got!r}.", index)


def _members(ctx: RunContext, group_id: str) -> tuple[set[str], int]:
    result, index = ctx.get(f"/Groups/{group_id}")
    _ok(result, index, f"GET /Groups/{group_id}", statuses=(200,))
    members = _key(result.body, "members") or []
    return {str(m.get("value")) for m in members if isinstance(m, dict)}, index


def _user(ctx: RunContext, name: str = "user") -> str:
    """A user created by an earlier check (reused), or a fresh one."""
    if name not in ctx.facts:
        ctx.facts[name] = ctx.create_user()[0]
    return ctx.facts[name]


# -- the checks ---------------------------------------------------------------------------------


@check("Schema_Discoverability", category=Category.DIRECT)
def schema_discoverability(ctx: RunContext) -> str:
    """GET /Schemas answers a ListResponse in which every attribute the default mappings send is
    discoverable (names compared case-insensitively); with groups on, the Group schema too.

    Microsoft: "Schema_Discoverability"."""
    result, index = ctx.get("/Schemas")
    _ok(result, index, "GET /Schemas", statuses=(200,))
    body = result.body if isinstance(result.body, dict) else {}
    schemas = body.get("Resources") if LIST_RESPONSE in (body.get("schemas") or []) else None
    if not isinstance(schemas, list):
        raise CheckFailedError("/Schemas is not a SCIM ListResponse of schemas.", index)
    by_id = {str(s.get("id", "")).lower(): s for s in schemas if isinstance(s, dict)}

    def names(schema: dict | None) -> set[str]:
        found = set()
        for attribute in (schema or {}).get("attributes") or []:
            name = str(attribute.get("name", "")).lower()
            found.add(name)
            for sub in attribute.get("subAttributes") or []:
                found.add(f"{name}.{str(sub.get('name', '')).lower()}")
        return found

    missing = []
    user = by_id.get(USER_SCHEMA.lower())
    if user is None:
        missing.append(USER_SCHEMA)
    missing += [a for a in USER_ATTRIBUTES if user and a.lower() not in names(user)]
    enterprise = names(by_id.get(ENTERPRISE.lower()))
    missing += [f"{ENTERPRISE}:{a}" for a in ENTERPRISE_ATTRIBUTES if a.lower() not in enterprise]
    if ctx.groups:
        group = by_id.get(GROUP_SCHEMA.lower())
        if group is None:
            missing.append(GROUP_SCHEMA)
        else:
            missing += [f"Group:{a}" for a in GROUP_ATTRIBUTES if a.lower() not in names(group)]
    ctx.facts["group_schema"] = GROUP_SCHEMA.lower() in by_id
    if missing:
        raise CheckFailedError("Not discoverable in /Schemas: " + ", ".join(missing), index)
    return f"{len(schemas)} schemas; every mapped attribute is discoverable."


@check("SCIM_User_Create", category=Category.DIRECT)
def scim_user_create(ctx: RunContext) -> str:
    """POST /Users with Entra's body answers 201 with an id; the user is then found by
    ``GET /Users?filter=userName eq "…"`` (exactly one) and by id, with the values sent.

    Microsoft: "SCIM_User_Create"."""
    body = ctx.user_body()
    result, index = ctx.create("Users", body)
    _ok(result, index, "POST /Users", statuses=(201,))
    target_id = str((result.body or {}).get("id") or "")
    if not target_id:
        raise CheckFailedError("The created user has no id.", index)
    ctx.facts["user"] = target_id
    found, index = ctx.query("Users", "userName", body["userName"])
    _ok(found, index, "the filter on userName")
    if len(found.resources) != 1 or str(found.resources[0].get("id")) != target_id:
        raise CheckFailedError("The filter on userName does not return exactly the user.", index)
    resource, index = _read(ctx, "Users", target_id)
    _expect(
        ctx,
        resource,
        index,
        {
            "userName": body["userName"],
            "displayName": body["displayName"],
            "name.givenName": body["name"]["givenName"],
            "name.familyName": "Family",
            "emails[work]": body["emails"][0]["value"],
            "active": True,
            "enterprise:department": "Validation",
        },
    )
    return f"Created {body['userName']} ({target_id})."


@check("SCIM_User_Update", category=Category.DIRECT)
def scim_user_update(ctx: RunContext) -> str:
    """PATCH /Users/{id} in the run's dialect (one Replace per attribute; or, with
    ``aadOptscim062020``, one path-less replace of flat dotted keys) answers 200/204 and GET
    shows every new value.

    Microsoft: "SCIM_User_Update"."""
    target_id = _user(ctx)
    tag = uuid.uuid4().hex[:6]
    values = {
        "displayName": f"Updated {tag}",
        "name.givenName": f"Given{tag}",
        "name.familyName": f"Family{tag}",
        f"{ENTERPRISE}:employeeNumber": tag,
    }
    email = f"{ctx.prefix}-{tag}@validator.example.com"
    mail_op = {"op": ctx.op("replace"), "path": 'emails[type eq "work"].value', "value": email}
    if ctx.flag2020:
        operations = [mail_op, {"op": "replace", "value": values}]
    else:
        operations = [mail_op] + [
            {"op": "Replace", "path": path, "value": value} for path, value in values.items()
        ]
    result, index = ctx.patch("Users", target_id, operations)
    _ok(result, index, "PATCH /Users", statuses=(200, 204))
    resource, index = _read(ctx, "Users", target_id)
    _expect(
        ctx,
        resource,
        index,
        {
            "displayName": values["displayName"],
            "name.givenName": values["name.givenName"],
            "name.familyName": values["name.familyName"],
            "emails[work]": email,
            "enterprise:employeeNumber": tag,
        },
    )
    return "Every updated attribute reads back."


@check("SCIM_Null_Update", category=Category.DIRECT)
def scim_null_update(ctx: RunContext) -> str:
    """Optional attributes are cleared by a Replace with an empty string, and (after being set
    again) by a Replace with null: PATCH answers 200/204 and GET shows them absent or empty.

    Microsoft: "SCIM_Null_Update"."""
    target_id = _user(ctx)
    paths = ["title", f"{ENTERPRISE}:department"]
    for empty in ("", None):
        setting = [{"op": ctx.op("replace"), "path": p, "value": "Set"} for p in paths]
        result, index = ctx.patch("Users", target_id, setting)
        _ok(result, index, "PATCH setting the attributes", statuses=(200, 204))
        clearing = [{"op": ctx.op("replace"), "path": p, "value": empty} for p in paths]
        result, index = ctx.patch("Users", target_id, clearing)
        _ok(result, index, f"PATCH with {empty!r}", statuses=(200, 204))
        resource, index = _read(ctx, "Users", target_id)
        _expect(ctx, resource, index, {"title": None, "enterprise:department": None})
    return "Empty strings and nulls clear title and department."


@check("SCIM_Update_Manager", category=Category.DIRECT)
def scim_update_manager(ctx: RunContext) -> str:
    """The enterprise manager is set (Add), changed (Replace) and removed (Replace with an empty
    value) as Entra sends it — the value a plain string holding the manager's id — and GET shows
    each state.

    Microsoft: "SCIM_Update_Manager"."""
    target_id = _user(ctx)
    first = _user(ctx, "manager")
    second = _user(ctx, "manager2")
    path = f"{ENTERPRISE}:manager"
    for op, value, want in (
        ("add", first, first),
        ("replace", second, second),
        ("replace", "", None),
    ):
        result, index = ctx.patch(
            "Users", target_id, [{"op": ctx.op(op), "path": path, "value": value}]
        )
        _ok(result, index, f"PATCH {op} manager", statuses=(200, 204))
        resource, index = _read(ctx, "Users", target_id)
        _expect(ctx, resource, index, {"enterprise:manager": want})
    return "Manager set, changed and removed."


def _paginate(ctx: RunContext, resource: str, own: int) -> str:
    pages: list[list[str]] = []
    total = 0
    for start in (1, 1 + PAGE_SIZE, 1 + 2 * PAGE_SIZE):
        params = {"startIndex": str(start), "count": str(PAGE_SIZE)}
        if resource == "Groups":
            params["excludedAttributes"] = "members"
        result, index = ctx.send("GET", f"/{resource}", params=params, is_query=True)
        _ok(result, index, f"GET /{resource}?startIndex={start}&count={PAGE_SIZE}", statuses=(200,))
        body = result.body
        total = int(body.get("totalResults") or 0)
        if total < own:
            raise CheckFailedError(
                f"totalResults is {total}, but the run alone created {own} {resource.lower()}.",
                index,
            )
        if int(body.get("startIndex") or 0) != start:
            raise CheckFailedError(
                f"Asked for startIndex={start}, the page says startIndex={body.get('startIndex')}.",
                index,
            )
        ids = [str(r.get("id")) for r in result.resources]
        expected = min(PAGE_SIZE, max(0, total - start + 1))
        if len(ids) != expected:
            raise CheckFailedError(
                f"The page from {start} holds {len(ids)} resources, expected {expected}.", index
            )
        seen = {i for page in pages for i in page}
        if seen & set(ids):
            raise CheckFailedError(
                f"The page from {start} repeats resources of an earlier page: startIndex is "
                "ignored.",
                index,
            )
        pages.append(ids)
    return f"3 pages of {PAGE_SIZE} from {total} {resource.lower()}; startIndex right on each."


def _own(ctx: RunContext, resource: str) -> int:
    return sum(1 for c in ctx.created if c.resource == resource)


@check("SCIM_User_Pagination", category=Category.DIRECT)
def scim_user_pagination(ctx: RunContext) -> str:
    """With at least 11 users (the run creates what is missing), GET /Users?startIndex=N&count=5
    for N = 1, 6, 11 answers pages of 5 whose startIndex is N, none repeating another.

    Microsoft: "SCIM_User_Pagination"."""
    while _own(ctx, "Users") < PAGINATION_MINIMUM:
        ctx.create_user()
    return _paginate(ctx, "Users", _own(ctx, "Users"))


@check("SCIM_Group_Create", category=Category.DIRECT, groups=True)
def scim_group_create(ctx: RunContext) -> str:
    """POST /Groups without members answers 201 with an id; the group is found by
    ``GET /Groups?excludedAttributes=members&filter=displayName eq "…"``.

    Microsoft: "SCIM_Group_Create"."""
    body = ctx.group_body()
    result, index = ctx.create("Groups", body)
    _ok(result, index, "POST /Groups", statuses=(201,))
    target_id = str((result.body or {}).get("id") or "")
    if not target_id:
        raise CheckFailedError("The created group has no id.", index)
    ctx.facts["group"] = target_id
    found, index = ctx.query("Groups", "displayName", body["displayName"])
    _ok(found, index, "the filter on displayName")
    if len(found.resources) != 1 or str(found.resources[0].get("id")) != target_id:
        raise CheckFailedError(
            "The filter on displayName does not return exactly the group.", index
        )
    return f"Created {body['displayName']} ({target_id})."


def _group(ctx: RunContext) -> str:
    if "group" not in ctx.facts:
        ctx.facts["group"] = ctx.create_group()[0]
    return ctx.facts["group"]


@check("SCIM_Group_Update", category=Category.DIRECT, groups=True)
def scim_group_update(ctx: RunContext) -> str:
    """PATCH /Groups/{id} renames the group (Replace displayName) and adds two members in one
    operation; GET shows the new name and both members.

    Microsoft: "SCIM_Group_Update"."""
    group_id = _group(ctx)
    name = ctx.unique("renamed")
    result, index = ctx.patch(
        "Groups", group_id, [{"op": ctx.op("replace"), "path": "displayName", "value": name}]
    )
    _ok(result, index, "PATCH displayName", statuses=(200, 204))
    first, second = _user(ctx), _user(ctx, "manager")
    result, index = ctx.patch(
        "Groups",
        group_id,
        [
            {
                "op": ctx.op("add"),
                "path": "members",
                "value": [{"$ref": None, "value": first}, {"$ref": None, "value": second}],
            }
        ],
    )
    _ok(result, index, "PATCH add members", statuses=(200, 204))
    resource, index = _read(ctx, "Groups", group_id)
    _expect(ctx, resource, index, {"displayName": name})
    members, index = _members(ctx, group_id)
    if not {first, second} <= members:
        raise CheckFailedError("The group does not hold both added members.", index)
    ctx.facts["members"] = [first, second]
    return "Renamed and two members added in one PATCH."


@check("SCIM_Group_Pagination", category=Category.DIRECT, groups=True, mandatory=False)
def scim_group_pagination(ctx: RunContext) -> str:
    """As SCIM_User_Pagination, for /Groups (the run creates groups up to 11).

    Microsoft: "SCIM_Group_Pagination" (optional)."""
    while _own(ctx, "Groups") < PAGINATION_MINIMUM:
        ctx.create_group()
    return _paginate(ctx, "Groups", _own(ctx, "Groups"))


# -- beyond the gallery list: the Azure dialect ---------------------------------------------------


@check("Azure_Empty_Filter_200", category=Category.DIALECT, beyond_gallery=True)
def azure_empty_filter(ctx: RunContext) -> str:
    """A filter that matches nothing (``userName eq "<random GUID>"``, and ``displayName`` on
    /Groups with groups on) answers 200 with an empty ListResponse, never 404: Entra quarantines
    a job whose endpoint answers 404 to a query."""
    targets = [("Users", "userName")] + ([("Groups", "displayName")] if ctx.groups else [])
    for resource, attribute in targets:
        result, index = ctx.query(resource, attribute, str(uuid.uuid4()))
        if result.status != 200:
            raise CheckFailedError(
                f"An empty filter on /{resource} answered {result.status}, not 200.", index
            )
        _ok(result, index, f"the empty filter on /{resource}")
        if result.resources or int((result.body or {}).get("totalResults") or 0) != 0:
            raise CheckFailedError(f"An empty filter on /{resource} returned resources.", index)
    return "Empty filters answer 200 with totalResults 0."


@check(
    "Azure_String_Booleans",
    category=Category.DIALECT,
    beyond_gallery=True,
    mandatory=DEFAULT,
)
def azure_string_booleans(ctx: RunContext) -> str:
    """``{"op":"Replace","path":"active","value":"False"}`` (the string, as Entra disables a user
    without the flag) answers 200/204 and GET shows active false; ``"True"`` re-enables.
    Mandatory in the default dialect."""
    target_id = _user(ctx)
    for text, want in (("False", False), ("True", True)):
        result, index = ctx.patch(
            "Users", target_id, [{"op": "Replace", "path": "active", "value": text}]
        )
        _ok(result, index, f'PATCH active "{text}"', statuses=(200, 204))
        resource, index = _read(ctx, "Users", target_id)
        _expect(ctx, resource, index, {"active": want})
    return 'The strings "False" and "True" set active.'


@check(
    "Azure_Flat_Key_Replace",
    category=Category.DIALECT,
    beyond_gallery=True,
    mandatory=FLAG2020,
)
def azure_flat_key_replace(ctx: RunContext) -> str:
    """A path-less replace whose value holds literal dotted and URN keys
    (``{"name.givenName": …, "urn:…:employeeNumber": …}``) sets the nested attributes.
    Mandatory with ``aadOptscim062020``."""
    target_id = _user(ctx)
    tag = uuid.uuid4().hex[:6]
    value = {"name.givenName": f"Flat{tag}", f"{ENTERPRISE}:employeeNumber": f"F{tag}"}
    result, index = ctx.patch("Users", target_id, [{"op": "replace", "value": value}])
    _ok(result, index, "PATCH path-less replace", statuses=(200, 204))
    resource, index = _read(ctx, "Users", target_id)
    _expect(
        ctx,
        resource,
        index,
        {"name.givenName": f"Flat{tag}", "enterprise:employeeNumber": f"F{tag}"},
    )
    return "Flat dotted and URN keys set the nested attributes."


def _member_pair(ctx: RunContext) -> tuple[str, list[str]]:
    group_id = _group(ctx)
    members = ctx.facts.get("members") or []
    if len(members) < 2:
        members = [_user(ctx), _user(ctx, "manager")]
        result, index = ctx.patch(
            "Groups",
            group_id,
            [{"op": ctx.op("add"), "path": "members", "value": [{"value": m} for m in members]}],
        )
        _ok(result, index, "PATCH add members", statuses=(200, 204))
    return group_id, members


@check(
    "Azure_Member_Remove_Value_List",
    category=Category.DIALECT,
    beyond_gallery=True,
    groups=True,
    mandatory=DEFAULT,
)
def azure_member_remove_value_list(ctx: RunContext) -> str:
    """``{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`` removes exactly that
    member — not every member, as a naive server does. Mandatory in the default dialect."""
    group_id, (first, second) = _member_pair(ctx)
    result, index = ctx.patch(
        "Groups", group_id, [{"op": "Remove", "path": "members", "value": [{"value": first}]}]
    )
    _ok(result, index, "PATCH Remove members by value", statuses=(200, 204))
    members, index = _members(ctx, group_id)
    if first in members:
        raise CheckFailedError("The removed member is still in the group.", index)
    if second not in members:
        raise CheckFailedError("The other member was removed too: the group was emptied.", index)
    result, index = ctx.patch(
        "Groups", group_id, [{"op": ctx.op("add"), "path": "members", "value": [{"value": first}]}]
    )
    _ok(result, index, "PATCH add the member back", statuses=(200, 204))
    return "Only the listed member was removed."


@check(
    "Azure_Member_Remove_Path_Filter",
    category=Category.DIALECT,
    beyond_gallery=True,
    groups=True,
    mandatory=FLAG2020,
)
def azure_member_remove_path_filter(ctx: RunContext) -> str:
    """``{"op":"remove","path":"members[value eq \\"<id>\\"]"}`` removes exactly that member.
    Mandatory with ``aadOptscim062020``."""
    group_id, (first, second) = _member_pair(ctx)
    result, index = ctx.patch(
        "Groups", group_id, [{"op": "remove", "path": f'members[value eq "{second}"]'}]
    )
    _ok(result, index, "PATCH remove members[value eq …]", statuses=(200, 204))
    members, index = _members(ctx, group_id)
    if second in members:
        raise CheckFailedError("The removed member is still in the group.", index)
    if first not in members:
        raise CheckFailedError("The other member was removed too.", index)
    return "Only the filtered member was removed."
