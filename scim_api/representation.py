"""Turning stored resources into SCIM representations, and the ``attributes`` /
``excludedAttributes`` projection (RFC 7644 §3.4.2.5, §3.9)."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

from scim_api.errors import ScimError
from scim_api.models import ScimGroup, ScimUser
from scim_api.schema import (
    CORE_GROUP,
    CORE_USER,
    CUSTOM_EXTENSION_PREFIX,
    CUSTOM_EXTENSION_SUFFIXES,
    ENTERPRISE_USER,
    is_custom_extension,
    split_schema_urn,
)

#: Returned whatever ``attributes``/``excludedAttributes`` say (RFC 7643 §2.2 ``returned``).
ALWAYS = frozenset({"id", "schemas"})


def etag(version: int) -> str:
    return f'W/"{version}"'


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


@functools.lru_cache(maxsize=4096)
def _names_user_schema(key: str) -> bool:
    """Whether a key of a user's document is a schema the user has (the enterprise extension or
    a custom one). The same few keys come back on every user: each is judged once."""
    return key.lower() == _ENTERPRISE_USER_LOWER or is_custom_extension(key)


_ENTERPRISE_USER_LOWER = ENTERPRISE_USER.lower()


def user_to_scim(user: ScimUser, *, base_url: str, groups: list[tuple[str, str]]) -> dict:
    """The full SCIM representation of ``user``; ``groups`` are (id, displayName) pairs of the
    groups it is a direct member of.

    Its nested values are ``user.data``'s own, not copies (copying them was a tenth of a page's
    time): change a nested value only after copying it, as :func:`project` does."""
    data = user.data
    schemas = [CORE_USER]
    for key in data:
        if _names_user_schema(key):
            schemas.append(key)
    body = {"schemas": schemas, "id": str(user.id)}
    body.update(data)
    body["userName"] = user.user_name
    body["active"] = user.active
    if user.external_id is not None:
        body["externalId"] = user.external_id
    if groups:
        body["groups"] = [
            {
                "value": str(gid),
                "$ref": f"{base_url}/Groups/{gid}",
                "display": name,
                "type": "direct",
            }
            for gid, name in groups
        ]
    body["meta"] = {
        "resourceType": "User",
        "created": _iso(user.created),
        "lastModified": _iso(user.last_modified),
        "location": f"{base_url}/Users/{user.id}",
        "version": etag(user.version),
    }
    return body


# --- The same representation, written by PostgreSQL ----------------------------------------------
#
# Building a page of 100 users one dict at a time, and writing it out, was most of the Python time
# of a plain list request. For a page without ``attributes``/``excludedAttributes`` PostgreSQL
# writes each user's JSON text itself, in the page's own statement: the document
# :func:`user_to_scim` gives once the manager's ``$ref`` and ``displayName`` are added (as
# ``UserRenderMixin.render`` adds them). ``tests/scim_api/test_documents_sql.py`` holds the two
# to the same documents, key order included. Spacing may differ (PostgreSQL writes
# ``"key": value`` inside stored documents): JSON does not care.


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: Keys that :func:`user_to_scim` sets over the stored document's own: a document holding one
#: of them (none written through the API does) is rendered by Python.
_SET_OVER = ("schemas", "id", "userName", "active", "externalId", "groups", "meta")


def _iso_sql(column: str) -> str:
    """SQL: the JSON string :func:`_iso` writes for the ``timestamptz`` ``column`` (Python
    leaves out a fraction of 0 microseconds; PostgreSQL's own output would trim zeros)."""
    return (
        f"to_json(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE to_char({column}, 'US') WHEN '000000' THEN '' ELSE to_char({column}, '.US') END "
        "|| 'Z')::text"
    )


def _names_user_schema_sql(lowered: str) -> str:
    """SQL: :func:`_names_user_schema` of a key, given the key in lower case (ASCII only, as
    ``lower(… COLLATE "C")`` folds it: the URNs compared with are ASCII, and no other
    character folds to one of theirs)."""
    suffixes = " OR ".join(
        f"right({lowered}, {len(suffix)}) = {_sql_literal(suffix)}"
        for suffix in CUSTOM_EXTENSION_SUFFIXES
    )
    return (
        f"({lowered} = {_sql_literal(_ENTERPRISE_USER_LOWER)} OR "
        f"(starts_with({lowered}, {_sql_literal(CUSTOM_EXTENSION_PREFIX.lower())}) "
        f"AND ({suffixes})))"
    )


def user_group_sql(group_id: str, display_name: str, *, base: str) -> str:
    """SQL: one entry of a user's ``groups`` as :func:`user_to_scim` writes it (a JSON object),
    for the group ``group_id`` named ``display_name``; ``base`` is the SCIM base URL (SQL)."""
    return (
        f"json_build_object('value', {group_id}, '$ref', {base} || '/Groups/' || {group_id}, "
        f"'display', {display_name}, 'type', 'direct')"
    )


def user_document_sql(row: str, *, groups: str, manager_name: str, base: str) -> str:
    """SQL: the JSON text of the user row ``row``, as :func:`user_to_scim` and the manager's
    ``$ref``/``displayName`` make it; NULL where ``row`` is NULL (an outer join's missing row),
    and ``''`` for a user whose stored document PostgreSQL cannot render the way Python
    does (a key of :data:`_SET_OVER`, or a manager ``value`` that is not text).

    ``groups``: SQL of the JSON array of the user's :func:`user_group_sql` entries, or NULL
    for none; ``manager_name``: SQL of the manager's shown name, NULL when the manager is not
    a user of the tenant; ``base``: SQL of the SCIM base URL."""
    enterprise = _sql_literal(ENTERPRISE_USER)
    manager = f"({row}.data -> {enterprise} -> 'manager')"
    manager_value = f"({manager} ->> 'value')"
    renderable = (
        f"jsonb_typeof({row}.data) = 'object' "
        f"AND NOT {row}.data ?| ARRAY[{', '.join(map(_sql_literal, _SET_OVER))}] "
        f"AND COALESCE(jsonb_typeof({manager} -> 'value') IN ('string', 'null'), TRUE)"
    )
    data = (
        f"CASE WHEN jsonb_typeof({manager} -> 'value') = 'string' AND {manager_value} <> '' "
        f"THEN jsonb_set({row}.data, ARRAY[{enterprise}, 'manager'], {manager} "
        f"|| jsonb_build_object('$ref', {base} || '/Users/' || {manager_value}) "
        f"|| CASE WHEN {manager_name} IS NULL THEN '{{}}'::jsonb "
        f"ELSE jsonb_build_object('displayName', {manager_name}) END) "
        f"ELSE {row}.data END"
    )
    lowered_key = 'lower(k COLLATE "C")'
    schemas = (
        "(SELECT string_agg(',' || to_json(k)::text, '' ORDER BY o) "
        f"FROM jsonb_object_keys({row}.data) WITH ORDINALITY AS keys(k, o) "
        f"WHERE {_names_user_schema_sql(lowered_key)})"
    )
    opening = _sql_literal('{"schemas":["' + CORE_USER + '"')
    return (
        f"CASE WHEN {row}.id IS NULL THEN NULL WHEN {renderable} THEN "
        f"{opening} || COALESCE({schemas}, '') || '],\"id\":\"' || {row}.id || '\"' "
        # The stored document's members, between the braces ('{}' has none).
        f"|| rtrim(',' || left(substr(({data})::text, 2), -1), ',') "
        f"|| ',\"userName\":' || to_json({row}.user_name)::text "
        f"|| ',\"active\":' || CASE WHEN {row}.active THEN 'true' ELSE 'false' END "
        f"|| COALESCE(',\"externalId\":' || to_json({row}.external_id)::text, '') "
        f"|| COALESCE(',\"groups\":' || {groups}, '') "
        f'|| \',"meta":{{"resourceType":"User","created":\' || {_iso_sql(f"{row}.created")} '
        f"|| ',\"lastModified\":' || {_iso_sql(f'{row}.last_modified')} "
        f"|| ',\"location\":' || to_json({base} || '/Users/' || {row}.id)::text "
        f"|| ',\"version\":' || to_json('W/\"' || {row}.version || '\"')::text || '}}}}' "
        "ELSE '' END"
    )


@dataclass(frozen=True)
class Member:
    id: str
    type: str  # "User" or "Group"
    display: str


def group_to_scim(group: ScimGroup, *, base_url: str, members: list[Member] | None) -> dict:
    """The SCIM representation of ``group``; ``members`` None means "not loaded" (excluded).
    Its nested values are ``group.data``'s own, as :func:`user_to_scim`'s are."""
    data = group.data
    schemas = [CORE_GROUP] + [k for k in data if is_custom_extension(k)]
    body = {"schemas": schemas, "id": str(group.id)}
    body.update(data)
    body["displayName"] = group.display_name
    if group.external_id is not None:
        body["externalId"] = group.external_id
    if members is not None:
        body["members"] = [
            {
                "value": m.id,
                "$ref": f"{base_url}/{'Users' if m.type == 'User' else 'Groups'}/{m.id}",
                "display": m.display,
                "type": m.type,
            }
            for m in members
        ]
    body["meta"] = {
        "resourceType": "Group",
        "created": _iso(group.created),
        "lastModified": _iso(group.last_modified),
        "location": f"{base_url}/Groups/{group.id}",
        "version": etag(group.version),
    }
    return body


@dataclass(frozen=True)
class AttrRef:
    """An attribute named in ``attributes``/``excludedAttributes``: where it lives in the
    representation (``container`` is None for core attributes, else the extension URN key),
    the attribute and optionally one sub-attribute."""

    container: str | None
    name: str
    sub: str | None


def parse_attribute_list(value: str | None, *, core_schema: str) -> list[AttrRef]:
    if not value:
        return []
    refs = []
    for raw in value.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if len(raw) > 300:
            raise ScimError("An attribute name is too long.", scim_type="invalidValue")
        container = None
        urn, rest = split_schema_urn(raw)
        if urn is not None:
            if urn.lower() != core_schema.lower():
                container = urn
            if rest is None:  # the whole extension
                refs.append(AttrRef(container, "*", None))
                continue
            raw = rest
        name, _, sub = raw.partition(".")
        if not name:
            raise ScimError(f"Invalid attribute name {raw!r}.", scim_type="invalidValue")
        refs.append(AttrRef(container, name, sub or None))
    return refs


def _find_key(obj: dict, name: str) -> str | None:
    lowered = name.lower()
    return next((k for k in obj if k.lower() == lowered), None)


def _pick(source: dict, refs: list[AttrRef]) -> dict:
    out: dict = {}
    for ref in refs:
        holder_src = source
        holder_out = out
        if ref.container:
            key = _find_key(source, ref.container)
            if key is None:
                continue
            holder_src = source[key]
            holder_out = out.setdefault(key, {})
            if ref.name == "*":
                out[key] = copy.deepcopy(holder_src)
                continue
        key = _find_key(holder_src, ref.name)
        if key is None:
            continue
        value = holder_src[key]
        if ref.sub is None:
            holder_out[key] = copy.deepcopy(value)
        elif isinstance(value, list):
            existing = holder_out.setdefault(key, [{} for _ in value])
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    sub_key = _find_key(item, ref.sub)
                    if sub_key is not None:
                        existing[index][sub_key] = copy.deepcopy(item[sub_key])
        elif isinstance(value, dict):
            sub_key = _find_key(value, ref.sub)
            if sub_key is not None:
                holder_out.setdefault(key, {})[sub_key] = copy.deepcopy(value[sub_key])
    for key, value in list(out.items()):
        if isinstance(value, list):
            out[key] = [v for v in value if v]
    return {k: v for k, v in out.items() if v not in ({}, [])}


def _drop(target: dict, refs: list[AttrRef]) -> None:
    for ref in refs:
        holder = target
        if ref.container:
            key = _find_key(target, ref.container)
            if key is None:
                continue
            if ref.name == "*":
                del target[key]
                continue
            holder = target[key]
        key = _find_key(holder, ref.name)
        if key is None or (holder is target and key in ALWAYS):
            continue
        if ref.sub is None:
            del holder[key]
        else:
            values = holder[key] if isinstance(holder[key], list) else [holder[key]]
            for item in values:
                if isinstance(item, dict):
                    sub_key = _find_key(item, ref.sub)
                    if sub_key is not None:
                        del item[sub_key]


def project(representation: dict, *, attributes: list[AttrRef], excluded: list[AttrRef]) -> dict:
    """Apply ``attributes`` (only these, plus the always-returned ones) or
    ``excludedAttributes`` (all but these) to a full representation."""
    if attributes:
        picked = _pick(representation, attributes)
        for key in ALWAYS:
            if key in representation:
                picked[key] = representation[key]
        # Keep ``schemas`` first and ``id`` second, as clients print them.
        ordered = {k: picked.pop(k) for k in ("schemas", "id") if k in picked}
        ordered.update(picked)
        return ordered
    if excluded:
        result = copy.deepcopy(representation)
        _drop(result, excluded)
        return result
    return representation


def wants(refs_in: list[AttrRef], refs_out: list[AttrRef], name: str) -> bool:
    """Whether a top-level attribute ``name`` (e.g. ``members``, ``groups``) will be returned,
    so expensive ones are not loaded for nothing."""
    lowered = name.lower()
    if refs_in:
        return any(r.container is None and r.name.lower() == lowered for r in refs_in)
    return not any(
        r.container is None and r.name.lower() == lowered and r.sub is None for r in refs_out
    )
