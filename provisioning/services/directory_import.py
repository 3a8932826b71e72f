"""Import users and groups into an emulated directory from real exports.

Accepted formats:

* Microsoft Graph JSON: ``{"value": [...]}`` (or a bare list) of users and/or groups, as
  ``GET /users`` (optionally ``$expand=manager``) and ``GET /groups?$expand=members`` return them.
* The Entra admin center's "Download users" CSV; header names are matched case-insensitively and
  with or without spaces ("userPrincipalName" and "User principal name" are the same column).

The import is an idempotent upsert keyed on the objectId, and all-or-nothing: every row is
validated before anything is written, every problem is reported with its line and field, and
nothing is written unless there is none. Only objects that really change get a change record.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from provisioning.models import Directory, DirectoryGroup, DirectoryGroupMember, DirectoryUser
from provisioning.services.changes import ChangeType, ObjectType, change_records_append_many

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportProblem:
    """One reason the file was refused."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"Line {self.line}" if self.line else "File"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class DirectoryImportError(Exception):
    """The file was refused; ``problems`` lists every bad row and field. Nothing was written."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the import file")
        self.problems = problems


@dataclass
class ImportResult:
    users_created: int = 0
    users_updated: int = 0
    users_unchanged: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    groups_unchanged: int = 0
    memberships_added: int = 0
    memberships_removed: int = 0

    def summary(self) -> str:
        return (
            f"Users: {self.users_created} created, {self.users_updated} updated, "
            f"{self.users_unchanged} unchanged. Groups: {self.groups_created} created, "
            f"{self.groups_updated} updated, {self.groups_unchanged} unchanged. Memberships: "
            f"{self.memberships_added} added, {self.memberships_removed} removed."
        )


@dataclass
class _UserRecord:
    line: int
    object_id: uuid.UUID | None
    fields: dict[str, Any]
    manager: str | None = None  # object id text, None = leave unchanged
    manager_given: bool = False
    extension_attributes: dict[str, Any] | None = None
    deleted_at: datetime | None = None
    deleted_given: bool = False


@dataclass
class _GroupRecord:
    line: int
    object_id: uuid.UUID | None
    fields: dict[str, Any]
    members: list[tuple[str, str]] | None = None  # (kind "user"/"group"/"", id text)


@dataclass
class _Parsed:
    users: list[_UserRecord] = field(default_factory=list)
    groups: list[_GroupRecord] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


# Source names (normalised) → DirectoryUser field. Graph JSON names and the CSV's headers.
USER_ALIASES: dict[str, str] = {
    "userprincipalname": "user_principal_name",
    "upn": "user_principal_name",
    "displayname": "display_name",
    "name": "display_name",
    "surname": "surname",
    "lastname": "surname",
    "givenname": "given_name",
    "firstname": "given_name",
    "mail": "mail",
    "email": "mail",
    "mailnickname": "mail_nickname",
    "usertype": "user_type",
    "jobtitle": "job_title",
    "department": "department",
    "companyname": "company_name",
    "employeeid": "employee_id",
    "preferredlanguage": "preferred_language",
    "usagelocation": "usage_location",
    "streetaddress": "street_address",
    "city": "city",
    "state": "state",
    "stateorprovince": "state",
    "country": "country",
    "countryorregion": "country",
    "postalcode": "postal_code",
    "ziporpostalcode": "postal_code",
    "physicaldeliveryofficename": "physical_delivery_office_name",
    "officelocation": "physical_delivery_office_name",
    "office": "physical_delivery_office_name",
    "telephonenumber": "telephone_number",
    "businessphone": "telephone_number",
    "businessphones": "telephone_number",
    "officephone": "telephone_number",
    "mobile": "mobile",
    "mobilephone": "mobile",
    "facsimiletelephonenumber": "facsimile_telephone_number",
    "faxnumber": "facsimile_telephone_number",
    "fax": "facsimile_telephone_number",
    "accountenabled": "account_enabled",
}
OBJECT_ID_ALIASES = frozenset({"objectid", "id"})
BLOCK_SIGN_IN = "blocksignin"
GROUP_ALIASES: dict[str, str] = {
    "displayname": "display_name",
    "mailnickname": "mail_nickname",
    "description": "description",
    "securityenabled": "security_enabled",
    "mailenabled": "mail_enabled",
}
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def _field_label(field_name: str) -> str:
    """The Graph name of a model field, for messages."""
    return DirectoryUser.GRAPH_NAMES.get(field_name, field_name)


def _max_length(model, field_name: str) -> int | None:
    return getattr(model._meta.get_field(field_name), "max_length", None)


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------------------------
# Reading the formats
# --------------------------------------------------------------------------------------------


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
    keys = {_normalise(key) for key in item}
    if "userprincipalname" in keys:
        return "user"
    if keys & {"securityenabled", "grouptypes", "members", "mailenabled"}:
        return "group"
    return None


def _read_json(text: str, parsed: _Parsed) -> None:
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


def _user_from_graph(line: int, item: dict[str, Any], problems: list[ImportProblem]) -> _UserRecord:
    record = _UserRecord(line=line, object_id=None, fields={})
    extensions: dict[str, Any] = {}
    object_id_given = False
    for key, value in item.items():
        name = _normalise(key)
        if key.startswith("extension_"):
            extensions[key] = value
        elif name == "onpremisesextensionattributes" and isinstance(value, dict):
            extensions.update({k: v for k, v in value.items() if v is not None})
        elif name in OBJECT_ID_ALIASES:
            object_id_given = True
            record.object_id = _parse_uuid(value)
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
            flag = _parse_bool(value)
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
    _check_user_fields(record, problems)
    return record


def _group_from_graph(
    line: int, item: dict[str, Any], problems: list[ImportProblem]
) -> _GroupRecord:
    record = _GroupRecord(line=line, object_id=None, fields={})
    object_id_given = False
    for key, value in item.items():
        name = _normalise(key)
        if name in OBJECT_ID_ALIASES:
            object_id_given = True
            record.object_id = _parse_uuid(value)
            if record.object_id is None:
                problems.append(ImportProblem(line, key, f"{value!r} is not a valid object ID."))
        elif name in ("securityenabled", "mailenabled"):
            flag = _parse_bool(value)
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
        limit = _max_length(DirectoryGroup, name)
        if isinstance(value, str) and limit and len(value) > limit:
            problems.append(ImportProblem(line, name, f"At most {limit} characters."))
    return record


def _read_csv(text: str, parsed: _Parsed) -> None:
    lines = text.splitlines(keepends=True)
    offset = 0
    if lines and lines[0].lower().startswith("version:"):
        offset = 1  # the bulk-operation template's first line
    reader = csv.reader(io.StringIO("".join(lines[offset:])))
    try:
        header = next(reader)
    except StopIteration:
        parsed.problems.append(ImportProblem(0, "", "The file is empty."))
        return
    except csv.Error as error:
        parsed.problems.append(ImportProblem(1 + offset, "", f"Unreadable CSV: {error}"))
        return
    columns: list[tuple[str, str]] = []  # (header as written, normalised)
    for name in header:
        columns.append((name, _normalise(name.replace("*", ""))))
    known = {norm for _, norm in columns}
    if not known & OBJECT_ID_ALIASES:
        parsed.problems.append(
            ImportProblem(1 + offset, "objectId", "The objectId column is missing.")
        )
    if "userprincipalname" not in known:
        parsed.problems.append(
            ImportProblem(
                1 + offset, "userPrincipalName", "The userPrincipalName column is missing."
            )
        )
    if parsed.problems:
        return
    line = 1 + offset
    while True:
        start = reader.line_num + 1 + offset
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            parsed.problems.append(ImportProblem(start, "", f"Unreadable CSV: {error}"))
            break
        line = start
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            parsed.problems.append(
                ImportProblem(line, "", f"Expected {len(columns)} columns, found {len(row)}.")
            )
            continue
        parsed.users.append(_user_from_csv(line, columns, row, parsed.problems))


def _user_from_csv(
    line: int, columns: list[tuple[str, str]], row: list[str], problems: list[ImportProblem]
) -> _UserRecord:
    record = _UserRecord(line=line, object_id=None, fields={})
    for (header, name), raw in zip(columns, row, strict=True):
        value = raw.strip()
        if name in OBJECT_ID_ALIASES:
            record.object_id = _parse_uuid(value)
            if record.object_id is None:
                message = (
                    "The object ID is required."
                    if not value
                    else f"{value!r} is not a valid object ID."
                )
                problems.append(ImportProblem(line, header, message))
        elif name in ("accountenabled", BLOCK_SIGN_IN):
            if value == "":
                continue
            flag = _parse_bool(value)
            if flag is None:
                problems.append(ImportProblem(line, header, "Must be true or false (or Yes/No)."))
            else:
                record.fields["account_enabled"] = flag if name == "accountenabled" else not flag
        elif name in USER_ALIASES:
            record.fields[USER_ALIASES[name]] = value
    _check_user_fields(record, problems)
    return record


def _check_user_fields(record: _UserRecord, problems: list[ImportProblem]) -> None:
    line = record.line
    upn = record.fields.get("user_principal_name", "")
    if not upn:
        problems.append(
            ImportProblem(line, "userPrincipalName", "The user principal name is required.")
        )
    elif upn.count("@") != 1 or " " in upn or upn.startswith("@") or upn.endswith("@"):
        problems.append(
            ImportProblem(line, "userPrincipalName", f"{upn!r} is not a valid user principal name.")
        )
    if not record.fields.get("display_name"):
        problems.append(ImportProblem(line, "displayName", "The display name is required."))
    mail = record.fields.get("mail")
    if mail:
        try:
            validate_email(mail)
        except ValidationError:
            problems.append(ImportProblem(line, "mail", f"{mail!r} is not a valid email address."))
    for name, value in record.fields.items():
        limit = _max_length(DirectoryUser, name)
        if isinstance(value, str) and limit and len(value) > limit:
            problems.append(ImportProblem(line, _field_label(name), f"At most {limit} characters."))


# --------------------------------------------------------------------------------------------
# Cross-row checks and writing
# --------------------------------------------------------------------------------------------


def _chunks(items: list, size: int = 5000) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_users(directory: Directory, ids: list[uuid.UUID]) -> dict[uuid.UUID, DirectoryUser]:
    found: dict[uuid.UUID, DirectoryUser] = {}
    for chunk in _chunks(ids):
        for user in DirectoryUser.objects.filter(directory=directory, object_id__in=chunk):
            found[user.object_id] = user
    return found


def _existing_groups(directory: Directory, ids: list[uuid.UUID]) -> dict[uuid.UUID, DirectoryGroup]:
    found: dict[uuid.UUID, DirectoryGroup] = {}
    for chunk in _chunks(ids):
        for group in DirectoryGroup.objects.filter(directory=directory, object_id__in=chunk):
            found[group.object_id] = group
    return found


def _cross_check(directory: Directory, parsed: _Parsed) -> None:
    problems = parsed.problems
    first_line: dict[uuid.UUID, int] = {}
    upn_line: dict[str, int] = {}
    for record in parsed.users:
        if record.object_id is not None:
            if record.object_id in first_line:
                problems.append(
                    ImportProblem(
                        record.line,
                        "objectId",
                        f"Duplicate object ID (first seen on line {first_line[record.object_id]}).",
                    )
                )
            else:
                first_line[record.object_id] = record.line
        upn = record.fields.get("user_principal_name", "").lower()
        if upn:
            if upn in upn_line:
                problems.append(
                    ImportProblem(
                        record.line,
                        "userPrincipalName",
                        f"Duplicate user principal name (first seen on line {upn_line[upn]}).",
                    )
                )
            else:
                upn_line[upn] = record.line
    file_user_ids = set(first_line)
    # A UPN already held by a directory user that this file does not touch is a conflict.
    if upn_line:
        taken: dict[str, uuid.UUID] = {}
        for chunk in _chunks(list(upn_line)):
            rows = (
                DirectoryUser.objects.filter(directory=directory)
                .annotate(upn_lower=Lower("user_principal_name"))
                .filter(upn_lower__in=chunk)
                .values_list("upn_lower", "object_id")
            )
            taken.update(rows)
        for record in parsed.users:
            upn = record.fields.get("user_principal_name", "").lower()
            holder = taken.get(upn)
            if holder is not None and holder != record.object_id and holder not in file_user_ids:
                problems.append(
                    ImportProblem(
                        record.line,
                        "userPrincipalName",
                        "Another user in the directory already has this user principal name.",
                    )
                )

    group_first: dict[uuid.UUID, int] = {}
    for record in parsed.groups:
        if record.object_id is None:
            continue
        if record.object_id in group_first:
            problems.append(
                ImportProblem(
                    record.line,
                    "id",
                    f"Duplicate object ID (first seen on line {group_first[record.object_id]}).",
                )
            )
        else:
            group_first[record.object_id] = record.line

    # References: managers and members must exist in the file or the directory.
    manager_ids = {_parse_uuid(r.manager) for r in parsed.users if r.manager is not None} - {None}
    member_ids = {
        _parse_uuid(member_id) for r in parsed.groups for _, member_id in (r.members or [])
    } - {None}
    outside = list((manager_ids | member_ids) - file_user_ids - set(group_first))
    known_users = set(
        DirectoryUser.objects.filter(directory=directory, object_id__in=outside).values_list(
            "object_id", flat=True
        )
    )
    known_groups = set(
        DirectoryGroup.objects.filter(directory=directory, object_id__in=outside).values_list(
            "object_id", flat=True
        )
    )
    all_users = file_user_ids | known_users
    all_groups = set(group_first) | known_groups
    for record in parsed.users:
        if record.manager is None:
            continue
        manager_id = _parse_uuid(record.manager)
        if manager_id is None or manager_id not in all_users:
            problems.append(
                ImportProblem(record.line, "manager", f"Unknown manager {record.manager!r}.")
            )
        elif manager_id == record.object_id:
            problems.append(
                ImportProblem(record.line, "manager", "A user cannot manage themselves.")
            )
    for record in parsed.groups:
        for kind, member_text in record.members or []:
            member_id = _parse_uuid(member_text)
            in_users = member_id in all_users
            in_groups = member_id in all_groups
            if member_id is None or not (in_users or in_groups):
                problems.append(
                    ImportProblem(record.line, "members", f"Unknown member {member_text!r}.")
                )
            elif (kind == "user" and not in_users) or (kind == "group" and not in_groups):
                problems.append(
                    ImportProblem(
                        record.line, "members", f"Member {member_text!r} is not a {kind}."
                    )
                )
            elif member_id == record.object_id:
                problems.append(
                    ImportProblem(record.line, "members", "A group cannot contain itself.")
                )


def _write(directory: Directory, parsed: _Parsed, result: ImportResult, advance: Progress) -> None:
    now = timezone.now()
    changes: list[tuple] = []
    existing = _existing_users(directory, [r.object_id for r in parsed.users])
    to_create: list[DirectoryUser] = []
    to_update: list[DirectoryUser] = []
    update_fields: set[str] = set()
    touched: set[uuid.UUID] = set()
    for record in parsed.users:
        values = dict(record.fields)
        if record.extension_attributes is not None:
            values["extension_attributes"] = record.extension_attributes
        if record.deleted_given:
            values["deleted_at"] = record.deleted_at
        user = existing.get(record.object_id)
        if user is None:
            to_create.append(
                DirectoryUser(directory=directory, object_id=record.object_id, **values)
            )
            changes.append((ObjectType.USER, record.object_id, ChangeType.CREATED, None))
            touched.add(record.object_id)
            result.users_created += 1
            continue
        changed = [name for name, value in values.items() if getattr(user, name) != value]
        if changed:
            for name in changed:
                setattr(user, name, values[name])
            user.updated_at = now
            update_fields.update(changed)
            to_update.append(user)
            changes.append((ObjectType.USER, record.object_id, ChangeType.UPDATED, None))
            touched.add(record.object_id)
            result.users_updated += 1
        else:
            result.users_unchanged += 1
    for chunk in _chunks(to_create, 1000):
        DirectoryUser.objects.bulk_create(chunk)
        advance(len(chunk))
    if to_update:
        for chunk in _chunks(to_update, 1000):
            DirectoryUser.objects.bulk_update(chunk, sorted(update_fields | {"updated_at"}))
            advance(len(chunk))
    advance(len(parsed.users) - len(to_create) - len(to_update))

    # Managers, now that every user has a primary key.
    with_manager = [r for r in parsed.users if r.manager_given]
    if with_manager:
        wanted_ids = {r.object_id for r in with_manager} | {
            _parse_uuid(r.manager) for r in with_manager if r.manager
        }
        pk_by_id = dict(
            DirectoryUser.objects.filter(directory=directory, object_id__in=wanted_ids).values_list(
                "object_id", "pk"
            )
        )
        users = _existing_users(directory, [r.object_id for r in with_manager])
        manager_updates = []
        for record in with_manager:
            user = users[record.object_id]
            manager_pk = pk_by_id[_parse_uuid(record.manager)] if record.manager else None
            if user.manager_id != manager_pk:
                user.manager_id = manager_pk
                manager_updates.append(user)
                if record.object_id not in touched:
                    changes.append((ObjectType.USER, record.object_id, ChangeType.UPDATED, None))
                    result.users_updated += 1
                    result.users_unchanged -= 1
                    touched.add(record.object_id)
        DirectoryUser.objects.bulk_update(manager_updates, ["manager"], batch_size=1000)

    # Groups.
    groups = _existing_groups(directory, [r.object_id for r in parsed.groups])
    for record in parsed.groups:
        group = groups.get(record.object_id)
        if group is None:
            group = DirectoryGroup.objects.create(
                directory=directory, object_id=record.object_id, **record.fields
            )
            groups[record.object_id] = group
            changes.append((ObjectType.GROUP, record.object_id, ChangeType.CREATED, None))
            result.groups_created += 1
        else:
            changed = [n for n, v in record.fields.items() if getattr(group, n) != v]
            if changed:
                for name in changed:
                    setattr(group, name, record.fields[name])
                group.save()
                changes.append((ObjectType.GROUP, record.object_id, ChangeType.UPDATED, None))
                result.groups_updated += 1
            else:
                result.groups_unchanged += 1
        advance(1)

    # Memberships: make each listed group's direct members exactly the file's list.
    listed = [r for r in parsed.groups if r.members is not None]
    if listed:
        member_ids = {_parse_uuid(m) for r in listed for _, m in r.members}
        user_pk = dict(
            DirectoryUser.objects.filter(directory=directory, object_id__in=member_ids).values_list(
                "object_id", "pk"
            )
        )
        group_pk = dict(
            DirectoryGroup.objects.filter(
                directory=directory, object_id__in=member_ids
            ).values_list("object_id", "pk")
        )
        for record in listed:
            group = groups[record.object_id]
            wanted: set[tuple[str, int, uuid.UUID]] = set()
            for kind, text in record.members:
                member_id = _parse_uuid(text)
                if kind != "group" and member_id in user_pk:
                    wanted.add(("user", user_pk[member_id], member_id))
                else:
                    wanted.add(("group", group_pk[member_id], member_id))
            current = {
                ("user", row.member_user_id, row.member_user.object_id)
                if row.member_user_id
                else ("group", row.member_group_id, row.member_group.object_id)
                for row in group.members.select_related("member_user", "member_group")
            }
            to_add = wanted - current
            to_remove = current - wanted
            DirectoryGroupMember.objects.bulk_create(
                DirectoryGroupMember(
                    group=group,
                    member_user_id=pk if kind == "user" else None,
                    member_group_id=pk if kind == "group" else None,
                )
                for kind, pk, _ in to_add
            )
            for kind, pk, _ in to_remove:
                key = "member_user_id" if kind == "user" else "member_group_id"
                group.members.filter(**{key: pk}).delete()
            for _, _, member_id in sorted(to_add, key=lambda m: str(m[2])):
                changes.append(
                    (ObjectType.MEMBERSHIP, group.object_id, ChangeType.CREATED, member_id)
                )
            for _, _, member_id in sorted(to_remove, key=lambda m: str(m[2])):
                changes.append(
                    (ObjectType.MEMBERSHIP, group.object_id, ChangeType.DELETED, member_id)
                )
            result.memberships_added += len(to_add)
            result.memberships_removed += len(to_remove)

    change_records_append_many(directory=directory, records=changes)


def directory_import(
    *,
    directory: Directory,
    content: bytes | str,
    filename: str = "",
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate the whole file, then write it in one transaction. ``on_total`` receives the
    number of progress steps and ``progress`` each step done (for a progress bar). Raises
    :class:`DirectoryImportError` listing every problem; nothing is written in that case."""
    advance = progress or (lambda n: None)
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DirectoryImportError(
                [ImportProblem(0, "", "The file must be UTF-8 encoded.")]
            ) from None
    else:
        text = content.lstrip("\ufeff")
    parsed = _Parsed()
    stripped = text.lstrip()
    is_json = filename.lower().endswith(".json") or stripped[:1] in ("{", "[")
    if filename.lower().endswith(".csv"):
        is_json = False
    if not stripped:
        raise DirectoryImportError([ImportProblem(0, "", "The file is empty.")])
    (_read_json if is_json else _read_csv)(text, parsed)
    total = len(parsed.users) * 2 + len(parsed.groups)
    if on_total:
        on_total(total)
    advance(len(parsed.users))
    _cross_check(directory, parsed)
    if parsed.problems:
        raise DirectoryImportError(sorted(parsed.problems, key=lambda p: (p.line, p.field)))
    result = ImportResult()
    try:
        with transaction.atomic():
            _write(directory, parsed, result, advance)
    except IntegrityError:
        raise DirectoryImportError(
            [
                ImportProblem(
                    0, "", "The directory changed while importing; nothing was written. Retry."
                )
            ]
        ) from None
    return result
