"""Microsoft Graph JSON: users and groups as ``GET /users`` and ``GET /groups`` return them.

``{"value": [...]}`` or a bare list; every problem names the line its object starts on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from provisioning.models import DirectoryGroup
from provisioning.services.directory_import.fields import (
    GROUP_ALIASES,
    OBJECT_ID_ALIASES,
    USER_ALIASES,
    check_user_fields,
    max_length,
    normalise,
    parse_bool,
    parse_uuid,
)
from provisioning.services.directory_import.records import (
    GroupRecord,
    ImportProblem,
    Parsed,
    UserRecord,
)


def _json_items_with_lines(text: str) -> Iterator[tuple[int, Any]]:
    """Yield (line, item) for the items of ``{"value": [...]}`` or a top-level list, so each
    problem can name the line its object starts on. Raises ``ValueError`` on malformed JSON."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"\s*")

    def skip(pos: int) -> int:
        return ws.match(text, pos).end()

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def array_items(pos: int) -> Iterator[tuple[int, Any]]:
        pos = skip(pos + 1)
        if text.startswith("]", pos):
            return
        while True:
            pos = skip(pos)
            item, end = decoder.raw_decode(text, pos)
            yield line_of(pos), item
            pos = skip(end)
            if text.startswith(",", pos):
                pos += 1
                continue
            if text.startswith("]", pos):
                return
            raise ValueError(f"expected ',' or ']' at line {line_of(pos)}")

    pos = skip(0)
    if text.startswith("[", pos):
        yield from array_items(pos)
        return
    if not text.startswith("{", pos):
        raise ValueError('expected a JSON object with a "value" list')
    # Walk the top-level object key by key; only "value" is read item by item.
    document, _ = decoder.raw_decode(text, pos)
    if not isinstance(document, dict) or not isinstance(document.get("value"), list):
        raise ValueError('expected a JSON object with a "value" list')
    pos = skip(pos + 1)
    while not text.startswith("}", pos):
        key, pos = decoder.raw_decode(text, pos)
        pos = skip(skip(pos) + 1)  # the colon
        if key == "value":
            depth_start = pos
            yield from array_items(depth_start)
            _, pos = decoder.raw_decode(text, depth_start)
        else:
            _, pos = decoder.raw_decode(text, pos)
        pos = skip(pos)
        if text.startswith(",", pos):
            pos = skip(pos + 1)


def _kind_of(item: dict[str, Any]) -> str | None:
    odata = str(item.get("@odata.type", "")).lower()
    if odata.endswith(".user"):
        return "user"
    if odata.endswith(".group"):
        return "group"
    keys = {normalise(key) for key in item}
    if "userprincipalname" in keys:
        return "user"
    if keys & {"securityenabled", "grouptypes", "members", "mailenabled"}:
        return "group"
    return None


def read_json(text: str, parsed: Parsed) -> None:
    try:
        items = list(_json_items_with_lines(text))
    except ValueError as error:
        parsed.problems.append(ImportProblem(0, "", f"The file is not valid JSON: {error}"))
        return
    for line, item in items:
        if not isinstance(item, dict):
            parsed.problems.append(ImportProblem(line, "", "Each item must be a JSON object."))
            continue
        kind = _kind_of(item)
        if kind == "user":
            parsed.users.append(_user_from_graph(line, item, parsed.problems))
        elif kind == "group":
            parsed.groups.append(_group_from_graph(line, item, parsed.problems))
        else:
            parsed.problems.append(
                ImportProblem(line, "@odata.type", "Cannot tell whether this is a user or a group.")
            )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value).strip()


def _user_from_graph(line: int, item: dict[str, Any], problems: list[ImportProblem]) -> UserRecord:
    record = UserRecord(line=line, object_id=None, fields={})
    extensions: dict[str, Any] = {}
    object_id_given = False
    for key, value in item.items():
        name = normalise(key)
        if key.startswith("extension_"):
            extensions[key] = value
        elif name == "onpremisesextensionattributes" and isinstance(value, dict):
            extensions.update({k: v for k, v in value.items() if v is not None})
        elif name in OBJECT_ID_ALIASES:
            object_id_given = True
            record.object_id = parse_uuid(value)
            if record.object_id is None:
                problems.append(ImportProblem(line, key, f"{value!r} is not a valid object ID."))
        elif name == "manager":
            record.manager_given = True
            if isinstance(value, dict):
                value = value.get("id")
            record.manager = _text(value) or None
        elif name == "deleteddatetime":
            record.deleted_given = True
            if value:
                try:
                    record.deleted_at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                except ValueError:
                    problems.append(ImportProblem(line, key, "Enter an ISO 8601 date and time."))
        elif name == "accountenabled":
            flag = parse_bool(value)
            if flag is None:
                problems.append(ImportProblem(line, key, "Must be true or false."))
            else:
                record.fields["account_enabled"] = flag
        elif name in USER_ALIASES:
            record.fields[USER_ALIASES[name]] = _text(value)
    if extensions:
        record.extension_attributes = extensions
    if not object_id_given:
        problems.append(ImportProblem(line, "id", "The object ID is required."))
    check_user_fields(record, problems)
    return record


def _group_from_graph(
    line: int, item: dict[str, Any], problems: list[ImportProblem]
) -> GroupRecord:
    record = GroupRecord(line=line, object_id=None, fields={})
    object_id_given = False
    for key, value in item.items():
        name = normalise(key)
        if name in OBJECT_ID_ALIASES:
            object_id_given = True
            record.object_id = parse_uuid(value)
            if record.object_id is None:
                problems.append(ImportProblem(line, key, f"{value!r} is not a valid object ID."))
        elif name in ("securityenabled", "mailenabled"):
            flag = parse_bool(value)
            if flag is None:
                problems.append(ImportProblem(line, key, "Must be true or false."))
            else:
                record.fields[GROUP_ALIASES[name]] = flag
        elif name in GROUP_ALIASES:
            record.fields[GROUP_ALIASES[name]] = _text(value)
        elif name == "members":
            if not isinstance(value, list):
                problems.append(ImportProblem(line, key, "members must be a list."))
                continue
            record.members = []
            for member in value:
                member_id = member.get("id") if isinstance(member, dict) else member
                odata = str(member.get("@odata.type", "")) if isinstance(member, dict) else ""
                kind = (
                    "user"
                    if odata.lower().endswith(".user")
                    else "group"
                    if odata.lower().endswith(".group")
                    else ""
                )
                record.members.append((kind, _text(member_id)))
    if not object_id_given:
        problems.append(ImportProblem(line, "id", "The object ID is required."))
    if not record.fields.get("display_name"):
        problems.append(ImportProblem(line, "displayName", "The group name is required."))
    for name, value in record.fields.items():
        limit = max_length(DirectoryGroup, name)
        if isinstance(value, str) and limit and len(value) > limit:
            problems.append(ImportProblem(line, name, f"At most {limit} characters."))
    return record
