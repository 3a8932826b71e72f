"""What the import stages hand each other: the problems, the result, and the rows as read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
class UserRecord:
    line: int
    object_id: uuid.UUID | None
    fields: dict[str, Any]
    manager: str | None = None  # object id text, None = leave unchanged
    manager_given: bool = False
    extension_attributes: dict[str, Any] | None = None
    deleted_at: datetime | None = None
    deleted_given: bool = False


@dataclass
class GroupRecord:
    line: int
    object_id: uuid.UUID | None
    fields: dict[str, Any]
    members: list[tuple[str, str]] | None = None  # (kind "user"/"group"/"", id text)


@dataclass
class Parsed:
    users: list[UserRecord] = field(default_factory=list)
    groups: list[GroupRecord] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
