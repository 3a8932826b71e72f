"""Pieces the user and group services share."""

from __future__ import annotations

import uuid
from contextlib import contextmanager, nullcontext

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q

from elium_portal import clock
from elium_portal.models import Tenant
from scim_api.errors import ScimError, Uniqueness
from scim_api.models import ScimGroup, ScimGroupMember
from scim_api.representation import etag
from scim_api.validation import parse_uuid

__all__ = [
    "check_if_match",
    "member_groups_touch",
    "parse_uuid",
    "statement_scope",
    "unique_violation",
]


def check_if_match(if_match: str | None, version: int) -> None:
    """RFC 7644 §3.14: a stale ``If-Match`` is a 412 and changes nothing."""
    if not if_match:
        return
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" in candidates:
        return
    current = etag(version)
    strong = current[2:]  # accept a client that dropped the weak prefix
    if current not in candidates and strong not in candidates:
        raise ScimError(
            f"The resource changed: its version is {current}, the request expected {if_match}.",
            status=412,
            scim_type=None,
        )


def statement_scope():
    """The scope of a write that is one statement: none in autocommit (the statement is its
    own transaction — no BEGIN and COMMIT round trips), a savepoint inside a transaction (Bulk),
    so that its failure rolls back itself alone."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


@contextmanager
def unique_violation(detail: str):
    """Turn a unique-constraint violation into 409 ``uniqueness`` without database text."""
    try:
        yield
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "23505":
            raise Uniqueness(detail) from None
        raise


def member_groups_touch(
    *, tenant: Tenant, user_id: uuid.UUID | None = None, member_group_id: uuid.UUID | None = None
) -> None:
    """A member leaving by deletion changes its groups' representation: a new version (ETag)
    and lastModified for each group it belonged to, in one statement."""
    member = Q(user_id=user_id) if user_id else Q(member_group_id=member_group_id)
    parents = ScimGroupMember.objects.filter(member, tenant=tenant).values("group_id")
    ScimGroup.objects.filter(tenant=tenant, pk__in=parents).update(
        version=F("version") + 1, last_modified=clock.now()
    )
