"""The Entra admin center's "Download users" CSV (and the bulk-operation template)."""

from __future__ import annotations

import csv
import io

from provisioning.services.directory_import.fields import (
    BLOCK_SIGN_IN,
    OBJECT_ID_ALIASES,
    USER_ALIASES,
    check_user_fields,
    normalise,
    parse_bool,
    parse_uuid,
)
from provisioning.services.directory_import.records import ImportProblem, Parsed, UserRecord


def read_csv(text: str, parsed: Parsed) -> None:
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
        columns.append((name, normalise(name.replace("*", ""))))
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
) -> UserRecord:
    record = UserRecord(line=line, object_id=None, fields={})
    for (header, name), raw in zip(columns, row, strict=True):
        value = raw.strip()
        if name in OBJECT_ID_ALIASES:
            record.object_id = parse_uuid(value)
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
            flag = parse_bool(value)
            if flag is None:
                problems.append(ImportProblem(line, header, "Must be true or false (or Yes/No)."))
            else:
                record.fields["account_enabled"] = flag if name == "accountenabled" else not flag
        elif name in USER_ALIASES:
            record.fields[USER_ALIASES[name]] = value
    check_user_fields(record, problems)
    return record
