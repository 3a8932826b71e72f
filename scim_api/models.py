"""SCIM resources of Elium tenants.

Each resource keeps its full SCIM representation (minus ``id``, ``meta``, ``password`` and the
computed ``groups``) in ``data`` — a JSONB document with canonical attribute names — and copies
the attributes that need uniqueness, indexes or fast filters into columns. Group membership has
its own table so that adding or removing one member touches one row, whatever the group's size.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Lower

from elium_portal.models import Tenant


class TenantScopedQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant):
        return self.filter(tenant=tenant)


class ScimUser(models.Model):
    """A user provisioned into an Elium tenant over SCIM (RFC 7643 §4.1 + extensions)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="scim_users",
        db_index=False,  # scim_user_page_order starts with it
    )
    user_name = models.CharField(max_length=256)
    # NULL means "no externalId"; an empty string is a value a client sent.
    external_id = models.CharField(max_length=256, null=True, blank=True)  # noqa: DJ001
    display_name = models.CharField(max_length=256, blank=True, default="")
    active = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)
    password = models.CharField(
        max_length=256, blank=True, default=""
    )  # a Django hash, never returned
    created = models.DateTimeField()
    last_modified = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "SCIM user"
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("user_name"), name="scim_user_username_unique_per_tenant"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "external_id"], name="scim_user_external_id"),
            models.Index(fields=["tenant", "last_modified"], name="scim_user_last_modified"),
            # The admin's search (prefix, case-insensitive) across every tenant.
            models.Index(
                OpClass(Lower("user_name"), name="text_pattern_ops"), name="scim_user_name_pfx"
            ),
            # The default order of a page (RFC 7644 paging): a page is read off this index
            # instead of sorting every user of the tenant.
            models.Index(fields=["tenant", "created", "id"], name="scim_user_page_order"),
        ]
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.user_name


class ScimGroup(models.Model):
    """A group provisioned into an Elium tenant over SCIM (RFC 7643 §4.2)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="scim_groups",
        db_index=False,  # scim_group_page_order starts with it
    )
    display_name = models.CharField(max_length=256)
    # NULL means "no externalId"; an empty string is a value a client sent.
    external_id = models.CharField(max_length=256, null=True, blank=True)  # noqa: DJ001
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField()
    last_modified = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "SCIM group"
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("display_name"), name="scim_group_display_name_unique_per_tenant"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "external_id"], name="scim_group_external_id"),
            models.Index(
                OpClass(Lower("display_name"), name="text_pattern_ops"),
                name="scim_group_name_pfx",
            ),
            models.Index(fields=["tenant", "created", "id"], name="scim_group_page_order"),
        ]
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.display_name


class ScimGroupMember(models.Model):
    """One member of a group: a user or a (nested) group of the same tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(
        ScimGroup,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,  # scim_member_user_once starts with it
    )
    user = models.ForeignKey(
        ScimUser,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="group_memberships",
        db_index=False,  # scim_member_by_user starts with it
    )
    member_group = models.ForeignKey(
        ScimGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parent_memberships",
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "SCIM group member"
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="scim_member_user_once"),
            models.UniqueConstraint(
                fields=["group", "member_group"], name="scim_member_group_once"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, member_group__isnull=True)
                    | models.Q(user__isnull=True, member_group__isnull=False)
                ),
                name="scim_member_is_user_xor_group",
            ),
        ]
        indexes = [models.Index(fields=["user"], name="scim_member_by_user")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.group_id}"

    @property
    def member_id(self):
        return self.user_id or self.member_group_id


class ScimResourceCount(models.Model):
    """How many users (or groups) a tenant has, kept exact by PostgreSQL triggers (migration
    ``0009_resource_counts``) so that a page's ``totalResults`` sums a few rows instead of
    counting every resource of the tenant on every request.

    A tenant's total is the sum of its rows. Each database connection adds to its own ``slot``
    (its backend pid modulo :data:`SLOTS`), so concurrent writers in one tenant seldom wait on
    the same row; the triggers count the rows a statement actually inserted or deleted, in the
    writer's transaction, so the sum is as exact as ``COUNT(*)`` under every snapshot. Written
    by the triggers only; ``tenant_id`` has no foreign key, so a tenant's deletion cannot trip
    on the rows its own resources' deletion writes (a trigger on the tenant removes them)."""

    SLOTS = 32

    class Resource(models.TextChoices):
        USER = "User"
        GROUP = "Group"

    tenant_id = models.BigIntegerField()
    resource = models.CharField(max_length=5, choices=Resource.choices)
    slot = models.SmallIntegerField()
    n = models.BigIntegerField()
    #: How many rows were ever inserted or deleted, the slot's share. The tenant's sum grows
    #: with every committed insert or delete and with nothing else (a row's tenant, ``created``
    #: and id never change), so two snapshots that see the same sum see the same rows in the
    #: same order: the test :mod:`scim_api.paging` makes before it trusts what it remembers.
    writes = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = "SCIM resource count"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "resource", "slot"], name="scim_resource_count_slot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource} of tenant {self.tenant_id}, slot {self.slot}: {self.n}"


class ScimRequestLog(models.Model):
    """One inbound SCIM request, kept for support staff to diagnose a customer's provisioning
    (what Azure AD sent, what we answered). Bodies are redacted and truncated; the bearer token
    is never recorded. Pruned after ``SCIM_REQUEST_LOG_DAYS`` days.

    Requests refused before a token was accepted (401s) share one row per tenant, address,
    status and minute, with their ``count``: anyone can send them, and a flood of them must not
    fill the table nor push real failures off the Security page."""

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="scim_requests",
        null=True,
        blank=True,
        db_index=False,  # scim_request_recent starts with it
    )
    created_at = models.DateTimeField()
    request_id = models.UUIDField(default=uuid.uuid4, editable=False)
    #: The ``client-request-id`` header the client sent (Azure AD sends one with every request;
    #: this installation's provisioning engine sends its log entry's Change ID), so support can
    #: go from a request to the provisioning log entry of the same exchange and back.
    client_request_id = models.UUIDField(null=True, blank=True, editable=False)
    token_prefix = models.CharField(max_length=60, blank=True, default="")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.TextField(blank=True, default="")
    status = models.PositiveSmallIntegerField()
    duration_ms = models.FloatField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_body = models.TextField(blank=True, default="")
    response_body = models.TextField(blank=True, default="")
    #: How many requests this row stands for: 1, or more for an aggregated row.
    count = models.PositiveIntegerField(default=1)
    #: "<status> <address> <minute>" for an aggregated row, else NULL.
    aggregate_key = models.CharField(max_length=100, null=True, blank=True, editable=False)  # noqa: DJ001

    class Meta:
        verbose_name = "inbound SCIM request"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="scim_request_recent"),
            models.Index(fields=["created_at"], name="scim_request_created"),
            # The admin's searches and filters.
            models.Index(fields=["request_id"], name="scim_request_request_id"),
            models.Index(fields=["client_request_id"], name="scim_request_client_id"),
            models.Index(fields=["status", "-created_at"], name="scim_request_status"),
            models.Index(fields=["method", "-created_at"], name="scim_request_method"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "aggregate_key"],
                condition=models.Q(aggregate_key__isnull=False),
                name="scim_request_aggregate_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


class ScimChange(models.Model):
    """One change a SCIM write made to a tenant's people and groups: the tenant's change feed
    (Settings › People › Provisioning activity, and the admin). Written by the SCIM services in
    the same transaction as the change itself, so a rolled-back write leaves no row and a
    committed one always has its row. Names are copied in (denormalised) so that a row still
    reads "… deleted Bob Jones" after Bob is gone. Pruned after ``SCIM_CHANGE_FEED_DAYS``."""

    class Kind(models.TextChoices):
        USER_CREATED = "user_created", "Person created"
        USER_UPDATED = "user_updated", "Person changed"
        USER_DEACTIVATED = "user_deactivated", "Person deactivated"
        USER_REACTIVATED = "user_reactivated", "Person reactivated"
        USER_DELETED = "user_deleted", "Person deleted"
        MEMBER_ADDED = "member_added", "Added to a group"
        MEMBER_REMOVED = "member_removed", "Removed from a group"
        GROUP_CREATED = "group_created", "Group created"
        GROUP_RENAMED = "group_renamed", "Group renamed"
        GROUP_UPDATED = "group_updated", "Group changed"
        GROUP_DELETED = "group_deleted", "Group deleted"

    class ObjectType(models.TextChoices):
        USER = "user", "Person"
        GROUP = "group", "Group"

    #: No index of its own: ``scim_change_tenant_recent`` begins with it. Every SCIM write
    #: inserts feed rows, and each index is one more write per row.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="scim_changes", db_index=False
    )
    created_at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    #: The person or group the change is about; for a member change, the member.
    object_type = models.CharField(max_length=5, choices=ObjectType.choices)
    object_id = models.UUIDField()
    #: Its name when the change was made (display name, else full name, else userName).
    object_name = models.CharField(max_length=256)
    #: Its userName when it is a person, so the feed can be searched by it.
    user_name = models.CharField(max_length=256, blank=True, default="")
    #: For a member change, the group (its id and its name at the time).
    group_id = models.UUIDField(null=True, blank=True)
    group_name = models.CharField(max_length=256, blank=True, default="")
    #: For a change of attributes: ``[{"attribute": "title", "old": …, "new": …}, …]``.
    changes = models.JSONField(default=list, blank=True)
    #: The token that authenticated the write (its display prefix, never the secret).
    token_prefix = models.CharField(max_length=60, blank=True, default="")
    #: The request's ``client-request-id`` (Azure AD's, or this installation's engine's Change
    #: ID), else the id the SCIM API gave the request: what the request log records too.
    request_id = models.UUIDField()

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "SCIM change"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The console's page of a tenant, newest first (keyset paging).
            models.Index(fields=["tenant", "-created_at", "-id"], name="scim_change_tenant_recent"),
            # One person's or group's changes. Object ids are UUIDs, unique across tenants: the
            # same index serves the admin's search by id and the console's filter (which adds
            # the tenant).
            models.Index(fields=["object_id", "-created_at"], name="scim_change_object"),
            models.Index(
                fields=["group_id", "-created_at"],
                condition=models.Q(group_id__isnull=False),
                name="scim_change_group",
            ),
            # The admin's changelist across tenants, and pruning by age.
            models.Index(fields=["-created_at", "-id"], name="scim_change_recent"),
            models.Index(fields=["kind", "-created_at"], name="scim_change_kind"),
            models.Index(fields=["request_id"], name="scim_change_request_id"),
            # Searches by the beginning of a name or userName, case-insensitive (not partial:
            # a prefix search does not imply "not empty", so the planner could not use them).
            models.Index(
                OpClass(Lower("object_name"), name="text_pattern_ops"),
                name="scim_change_name_pfx",
            ),
            models.Index(
                OpClass(Lower("user_name"), name="text_pattern_ops"),
                name="scim_change_user_name_pfx",
            ),
            models.Index(
                OpClass(Lower("group_name"), name="text_pattern_ops"),
                name="scim_change_group_name_pfx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.object_name}"
