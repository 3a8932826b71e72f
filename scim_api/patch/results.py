"""What the PATCH engine hands back: the new document and the group membership changes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MemberChanges:
    """Group membership changes requested by a PATCH (or a POST/PUT body), by member id.

    The caller applies them in this order: ``remove_all``, then ``replace`` (the exact new
    member list), then ``remove``, then ``add``. Successive operations are folded so that at most
    one of ``remove_all`` / ``replace`` is set, and when ``replace`` is set ``add`` and ``remove``
    are empty. Ids are the client-supplied strings, deduplicated in order; resolving them to
    resources (and checking the tenant) is the caller's job.
    """

    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    replace: list[str] | None = None  # None means no full replacement
    remove_all: bool = False

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.remove or self.replace is not None or self.remove_all)

    def add_ids(self, ids: list[str]) -> None:
        for member_id in ids:
            if self.replace is not None:
                if member_id not in self.replace:
                    self.replace.append(member_id)
                continue
            if member_id in self.remove:
                self.remove.remove(member_id)
            if member_id not in self.add:
                self.add.append(member_id)

    def remove_ids(self, ids: list[str]) -> None:
        for member_id in ids:
            if self.replace is not None:
                if member_id in self.replace:
                    self.replace.remove(member_id)
                continue
            if member_id in self.add:
                self.add.remove(member_id)
            # After remove_all the group is already empty: nothing left to remove.
            if not self.remove_all and member_id not in self.remove:
                self.remove.append(member_id)

    def replace_ids(self, ids: list[str]) -> None:
        self.replace = _dedupe(ids)
        self.add, self.remove, self.remove_all = [], [], False

    def clear(self) -> None:
        self.add, self.remove, self.replace, self.remove_all = [], [], None, True


@dataclass
class PatchResult:
    """What a PATCH did: the new document, the membership changes and any new password."""

    document: dict  # new document (deep copy; the input is never mutated)
    members: MemberChanges  # only for Groups
    password: str | None  # a password set by the patch (caller hashes it); never in document
    changed: bool  # whether anything changed (drives the ETag / version bump)


def _dedupe(ids: list[str]) -> list[str]:
    out: list[str] = []
    for member_id in ids:
        if member_id not in out:
            out.append(member_id)
    return out
