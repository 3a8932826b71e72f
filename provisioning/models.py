"""The Azure side's data: an emulated Entra directory, its enterprise applications, and each
application's provisioning job with its object and attribute mappings.

Every directory-owned row hangs off a :class:`Directory`; selectors and services take the
directory (or the job) explicitly. Public ids are UUIDs (``object_id``) as in Entra.

One module, though past 600 lines, on purpose: the models are one chain of foreign keys, read
top to bottom — directory → users, groups, memberships, change feed → applications, roles,
assignments → provisioning job → mappings, audit, state, cycles, connector data store, logs
(and the directory's import jobs). Split into a package, each file would import the one
before it and the package would re-export them all; nothing would be decoupled.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower


class Directory(models.Model):
    """One emulated Entra tenant. Several may exist side by side; nothing is shared between
    them, so a directory is the isolation boundary of the Azure side."""

    name = models.CharField(max_length=200, unique=True)
    tenant_id = models.UUIDField("Tenant ID", default=uuid.uuid4, unique=True, editable=False)
    domain = models.CharField(
        "Primary domain", max_length=253, help_text="e.g. contoso.onmicrosoft.com"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "directories"

    def __str__(self) -> str:
        return self.name


class DirectoryUserQuerySet(models.QuerySet):
    def for_directory(self, directory: Directory) -> DirectoryUserQuerySet:
        return self.filter(directory=directory)

    def active(self) -> DirectoryUserQuerySet:
        return self.filter(deleted_at__isnull=True)


class DirectoryUser(models.Model):
    """A user of the emulated directory, with the Graph attributes the attribute mappings read.
    Soft deletion (Entra's recycle bin) sets ``deleted_at``; the row stays so the provisioning
    engine can disable the target user, as Entra does."""

    directory = models.ForeignKey(
        Directory,
        on_delete=models.CASCADE,
        related_name="users",
        db_index=False,  # provisioning_user_unique_object_id starts with it
    )
    object_id = models.UUIDField("Object ID", default=uuid.uuid4, editable=False)
    user_principal_name = models.CharField("User principal name", max_length=255)
    mail = models.CharField("Email", max_length=255, blank=True)
    mail_nickname = models.CharField("Mail nickname", max_length=64, blank=True)
    given_name = models.CharField("First name", max_length=64, blank=True)
    surname = models.CharField("Last name", max_length=64, blank=True)
    display_name = models.CharField("Display name", max_length=256)
    job_title = models.CharField("Job title", max_length=128, blank=True)
    department = models.CharField(max_length=64, blank=True)
    company_name = models.CharField("Company name", max_length=64, blank=True)
    employee_id = models.CharField("Employee ID", max_length=16, blank=True)
    user_type = models.CharField("User type", max_length=16, default="Member")
    usage_location = models.CharField("Usage location", max_length=2, blank=True)
    preferred_language = models.CharField("Preferred language", max_length=16, blank=True)
    street_address = models.CharField("Street address", max_length=1024, blank=True)
    city = models.CharField(max_length=128, blank=True)
    state = models.CharField("State or province", max_length=128, blank=True)
    postal_code = models.CharField("ZIP or postal code", max_length=40, blank=True)
    country = models.CharField("Country or region", max_length=128, blank=True)
    telephone_number = models.CharField("Business phone", max_length=64, blank=True)
    mobile = models.CharField("Mobile phone", max_length=64, blank=True)
    facsimile_telephone_number = models.CharField("Fax number", max_length=64, blank=True)
    physical_delivery_office_name = models.CharField("Office location", max_length=128, blank=True)
    account_enabled = models.BooleanField("Account enabled", default=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    extension_attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DirectoryUserQuerySet.as_manager()

    # Model field → Graph attribute name as the mapping editor lists it.
    GRAPH_NAMES: dict[str, str] = {
        "user_principal_name": "userPrincipalName",
        "mail": "mail",
        "mail_nickname": "mailNickname",
        "given_name": "givenName",
        "surname": "surname",
        "display_name": "displayName",
        "job_title": "jobTitle",
        "department": "department",
        "company_name": "companyName",
        "employee_id": "employeeId",
        "user_type": "userType",
        "usage_location": "usageLocation",
        "preferred_language": "preferredLanguage",
        "street_address": "streetAddress",
        "city": "city",
        "state": "state",
        "postal_code": "postalCode",
        "country": "country",
        "telephone_number": "telephoneNumber",
        "mobile": "mobile",
        "facsimile_telephone_number": "facsimileTelephoneNumber",
        "physical_delivery_office_name": "physicalDeliveryOfficeName",
        "account_enabled": "accountEnabled",
    }

    class Meta:
        ordering = ["display_name", "user_principal_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["directory", "object_id"], name="provisioning_user_unique_object_id"
            ),
            models.UniqueConstraint(
                "directory", Lower("user_principal_name"), name="provisioning_user_unique_upn"
            ),
        ]
        indexes = [
            # The admin's searches (prefix, case-insensitive) across every directory.
            models.Index(
                OpClass(Lower("user_principal_name"), name="text_pattern_ops"),
                name="provisioning_user_upn_pfx",
            ),
            models.Index(
                OpClass(Lower("display_name"), name="text_pattern_ops"),
                name="provisioning_user_name_pfx",
            ),
            models.Index(fields=["object_id"], name="provisioning_user_object_any"),
            models.Index(
                fields=["display_name", "user_principal_name", "id"],
                name="provisioning_user_ordering",
            ),
        ]

    def __str__(self) -> str:
        return self.user_principal_name

    @property
    def is_soft_deleted(self) -> bool:
        return self.deleted_at is not None

    def source_attributes(self) -> dict[str, Any]:
        """The user as the mapping engine and scoping filters see it (Graph names; empty
        strings are null, because Entra never provisions nulls)."""
        return self.source_attributes_with(
            manager_object_id=self.manager.object_id if self.manager_id else None
        )

    def source_attributes_with(self, *, manager_object_id: uuid.UUID | None) -> dict[str, Any]:
        """:meth:`source_attributes`, given the manager's object id (read with the user, so
        that a chunk of users does not load their managers whole)."""
        data: dict[str, Any] = {"objectId": str(self.object_id)}
        for field_name, graph_name in self.GRAPH_NAMES.items():
            value = getattr(self, field_name)
            data[graph_name] = None if value == "" else value
        data["manager"] = str(manager_object_id) if manager_object_id else None
        data.update(self.extension_attributes or {})
        return data


class DirectoryGroup(models.Model):
    """A group of the emulated directory. Members may be users or (nested) groups."""

    directory = models.ForeignKey(
        Directory,
        on_delete=models.CASCADE,
        related_name="groups",
        db_index=False,  # provisioning_group_unique_object_id starts with it
    )
    object_id = models.UUIDField("Object ID", default=uuid.uuid4, editable=False)
    display_name = models.CharField("Group name", max_length=256)
    mail_nickname = models.CharField("Mail nickname", max_length=64, blank=True)
    description = models.CharField(max_length=1024, blank=True)
    security_enabled = models.BooleanField("Security enabled", default=True)
    mail_enabled = models.BooleanField("Mail enabled", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["directory", "object_id"], name="provisioning_group_unique_object_id"
            ),
        ]
        indexes = [
            models.Index(
                OpClass(Lower("display_name"), name="text_pattern_ops"),
                name="provisioning_group_name_pfx",
            ),
            models.Index(fields=["object_id"], name="provisioning_group_object_any"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def source_attributes(self) -> dict[str, Any]:
        return {
            "objectId": str(self.object_id),
            "displayName": self.display_name,
            "mailNickname": self.mail_nickname or None,
            "description": self.description or None,
            "securityEnabled": self.security_enabled,
            "mailEnabled": self.mail_enabled,
        }


class DirectoryGroupMember(models.Model):
    """One direct member of a group: a user or a nested group (exactly one is set)."""

    group = models.ForeignKey(DirectoryGroup, on_delete=models.CASCADE, related_name="members")
    member_user = models.ForeignKey(
        DirectoryUser, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    member_group = models.ForeignKey(
        DirectoryGroup,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="parent_memberships",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(member_user__isnull=False) & Q(member_group__isnull=True))
                | (Q(member_user__isnull=True) & Q(member_group__isnull=False)),
                name="provisioning_member_exactly_one",
            ),
            models.UniqueConstraint(
                fields=["group", "member_user"],
                condition=Q(member_user__isnull=False),
                name="provisioning_member_unique_user",
            ),
            models.UniqueConstraint(
                fields=["group", "member_group"],
                condition=Q(member_group__isnull=False),
                name="provisioning_member_unique_group",
            ),
            models.CheckConstraint(
                condition=~Q(member_group=models.F("group")),
                name="provisioning_member_not_self",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} in {self.group}"

    @property
    def member(self) -> DirectoryUser | DirectoryGroup:
        return self.member_user if self.member_user_id else self.member_group


class ChangeRecord(models.Model):
    """Append-only change feed of a directory: every change to a user, group, membership or app
    assignment adds a row in the same transaction as the change. ``id`` is a bigserial; a
    provisioning cycle remembers the highest id it has seen (its watermark) and the next
    incremental cycle reads only rows above it."""

    class ObjectType(models.TextChoices):
        USER = "user", "User"
        GROUP = "group", "Group"
        MEMBERSHIP = "membership", "Group membership"
        ASSIGNMENT = "assignment", "App role assignment"

    class ChangeType(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"
        RESTORED = "restored", "Restored"

    id = models.BigAutoField(primary_key=True)
    directory = models.ForeignKey(
        Directory,
        on_delete=models.CASCADE,
        related_name="changes",
        db_index=False,  # provisioning_change_feed starts with it
    )
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    object_id = models.UUIDField(help_text="The user or group the change is about.")
    related_object_id = models.UUIDField(
        null=True, blank=True, help_text="The member (membership) or application (assignment)."
    )
    change_type = models.CharField(max_length=16, choices=ChangeType.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # The id (xid8, as a bigint) of the transaction that wrote the row, filled in by PostgreSQL.
    # Incremental readers window on it rather than on ``id``: see provisioning.engine.changes.
    txid = models.BigIntegerField(
        db_default=RawSQL("pg_current_xact_id()::text::bigint", ()), editable=False
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["directory", "id"], name="provisioning_change_feed"),
            models.Index(fields=["directory", "txid"], name="provisioning_change_txid"),
            models.Index(fields=["object_id"], name="provisioning_change_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.object_type} {self.object_id} {self.change_type}"


class EnterpriseApplication(models.Model):
    """An enterprise application (service principal) of a directory, added from the gallery."""

    class Template(models.TextChoices):
        ELIUM = "elium", "Elium"
        SCIM = "scim", "Generic SCIM app"

    directory = models.ForeignKey(Directory, on_delete=models.CASCADE, related_name="applications")
    name = models.CharField(max_length=120)
    template = models.CharField("Gallery template", max_length=16, choices=Template.choices)
    object_id = models.UUIDField("Object ID", default=uuid.uuid4, unique=True, editable=False)
    application_id = models.UUIDField(
        "Application ID", default=uuid.uuid4, unique=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def supports_groups(self) -> bool:
        """Elium's connector provisions users only; the generic SCIM template also groups."""
        return self.template == self.Template.SCIM

    @property
    def excludes_default_access(self) -> bool:
        """Whether assignments with only the "Default Access" role are left out of provisioning
        when the app has a role of its own. The Elium gallery connector does (its tutorial: "you
        must select any valid application-specific role (if available) … Users with the Default
        Access role are excluded from provisioning"); a generic SCIM app, a configuration of
        today, evaluates Default Access like any role (entra-scim-behaviour.md §3.4)."""
        return self.template == self.Template.ELIUM


class AppRole(models.Model):
    """A role of an application that assignments carry; every app has "Default Access"."""

    DEFAULT_ACCESS = "Default Access"
    #: The application-specific role of the Elium gallery app.
    USER = "User"

    application = models.ForeignKey(
        EnterpriseApplication,
        on_delete=models.CASCADE,
        related_name="roles",
        db_index=False,  # provisioning_role_unique_name starts with it
    )
    role_id = models.UUIDField(default=uuid.uuid4, editable=False)
    display_name = models.CharField(max_length=120)
    value = models.CharField(max_length=120, blank=True)
    description = models.CharField(max_length=500, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "display_name"], name="provisioning_role_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class AppRoleAssignment(models.Model):
    """A user or group assigned to an application with a role ("Users and groups")."""

    application = models.ForeignKey(
        EnterpriseApplication, on_delete=models.CASCADE, related_name="assignments"
    )
    role = models.ForeignKey(AppRole, on_delete=models.CASCADE, related_name="assignments")
    principal_user = models.ForeignKey(
        DirectoryUser,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="app_assignments",
    )
    principal_group = models.ForeignKey(
        DirectoryGroup,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="app_assignments",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(principal_user__isnull=False) & Q(principal_group__isnull=True))
                | (Q(principal_user__isnull=True) & Q(principal_group__isnull=False)),
                name="provisioning_assignment_exactly_one",
            ),
            models.UniqueConstraint(
                fields=["application", "principal_user", "role"],
                condition=Q(principal_user__isnull=False),
                name="provisioning_assignment_unique_user",
            ),
            models.UniqueConstraint(
                fields=["application", "principal_group", "role"],
                condition=Q(principal_group__isnull=False),
                name="provisioning_assignment_unique_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.principal} → {self.application} ({self.role})"

    @property
    def principal(self) -> DirectoryUser | DirectoryGroup:
        return self.principal_user if self.principal_user_id else self.principal_group


def _new_job_id() -> str:
    return f"scim.{secrets.token_hex(16)}"


class AuthMethod(models.TextChoices):
    """The Admin Credentials' "Authentication Method", of a job and of a validation run."""

    BEARER = "bearer", "Bearer authentication"
    OAUTH = "oauth", "OAuth2 client credentials grant"


class ProvisioningJob(models.Model):
    """The Provisioning tab's configuration of one application (Graph's synchronizationJob).
    The Secret Token and the OAuth Client Secret are Fernet-encrypted with ``CREDENTIALS_KEY``
    and never rendered back."""

    class Mode(models.TextChoices):
        MANUAL = "manual", "Manual"
        AUTOMATIC = "automatic", "Automatic"

    class Scope(models.TextChoices):
        ASSIGNED = "assigned", "Sync only assigned users and groups"
        ALL = "all", "Sync all users and groups"

    class Status(models.TextChoices):
        ON = "on", "On"
        OFF = "off", "Off"

    AuthMethod = AuthMethod

    application = models.OneToOneField(
        EnterpriseApplication, on_delete=models.CASCADE, related_name="provisioning_job"
    )
    job_id = models.CharField("Job ID", max_length=64, unique=True, default=_new_job_id)
    mode = models.CharField(
        "Provisioning Mode", max_length=16, choices=Mode.choices, default=Mode.MANUAL
    )
    tenant_url = models.CharField("Tenant URL", max_length=2048, blank=True)
    auth_method = models.CharField(
        "Authentication Method",
        max_length=8,
        choices=AuthMethod.choices,
        default=AuthMethod.BEARER,
    )
    secret_token_encrypted = models.TextField(blank=True, editable=False)
    # OAuth2 client credentials grant: cycles get their access tokens from the Token Endpoint.
    oauth_token_url = models.CharField("Token Endpoint", max_length=2048, blank=True)
    oauth_client_id = models.CharField("Client Identifier", max_length=255, blank=True)
    oauth_client_secret_encrypted = models.TextField(blank=True, editable=False)
    notification_email = models.EmailField("Notification Email", blank=True)
    send_failure_email = models.BooleanField(
        "Send an email notification when a failure occurs", default=False
    )
    prevent_accidental_deletion = models.BooleanField("Prevent accidental deletion", default=False)
    deletion_threshold = models.PositiveIntegerField("Accidental deletion threshold", default=500)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.ASSIGNED)
    status = models.CharField(
        "Provisioning Status", max_length=8, choices=Status.choices, default=Status.OFF
    )
    credentials_tested_at = models.DateTimeField(null=True, blank=True)
    cycle_interval_minutes = models.PositiveIntegerField(
        "Cycle interval (minutes)",
        default=40,
        help_text="Minutes between incremental cycles; Entra's is fixed at 40. Lower it for "
        "rehearsals.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The admin's Start/Stop/Restart/Allow deletes are for the "Support admin" group.
        permissions = [
            ("operate_provisioningjob", "Can start, stop, restart and allow deletes (admin)"),
        ]

    def __str__(self) -> str:
        return self.job_id

    @property
    def has_secret_token(self) -> bool:
        return bool(self.secret_token_encrypted)

    @property
    def has_client_secret(self) -> bool:
        return bool(self.oauth_client_secret_encrypted)

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method == self.AuthMethod.OAUTH

    @property
    def is_configured(self) -> bool:
        return self.mode == self.Mode.AUTOMATIC and bool(self.tenant_url)


class ObjectMapping(models.Model):
    """One "Mappings" row of a job: how users (or groups) flow to the target, with its Target
    Object Actions and its Source Object Scope (scoping filters, stored through
    ``provisioning.scoping.filters_to_json``)."""

    class ObjectType(models.TextChoices):
        USER = "user", "User"
        GROUP = "group", "Group"

    job = models.ForeignKey(
        ProvisioningJob,
        on_delete=models.CASCADE,
        related_name="mappings",
        db_index=False,  # provisioning_object_mapping_unique_type starts with it
    )
    object_type = models.CharField(max_length=8, choices=ObjectType.choices)
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    target_object = models.CharField("Target Object", max_length=120)
    action_create = models.BooleanField("Create", default=True)
    action_update = models.BooleanField("Update", default=True)
    action_delete = models.BooleanField("Delete", default=True)
    scoping_filters = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-object_type"]  # "user" before "group", as the portal lists them
        constraints = [
            models.UniqueConstraint(
                fields=["job", "object_type"], name="provisioning_object_mapping_unique_type"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def source_object(self) -> str:
        return self.get_object_type_display()


class AttributeMapping(models.Model):
    """One row of the Attribute Mapping table: how one target attribute gets its value."""

    class MappingType(models.TextChoices):
        DIRECT = "Direct", "Direct"
        CONSTANT = "Constant", "Constant"
        EXPRESSION = "Expression", "Expression"
        NONE = "None", "None"

    class Apply(models.TextChoices):
        ALWAYS = "Always", "Always"
        ON_CREATE = "OnlyDuringCreation", "Only during object creation"

    object_mapping = models.ForeignKey(
        ObjectMapping,
        on_delete=models.CASCADE,
        related_name="attributes",
        db_index=False,  # provisioning_attribute_unique_target starts with it
    )
    mapping_type = models.CharField(
        "Mapping type", max_length=16, choices=MappingType.choices, default=MappingType.DIRECT
    )
    source_attribute = models.CharField("Source attribute", max_length=200, blank=True)
    constant_value = models.CharField("Constant Value", max_length=1000, blank=True)
    expression = models.TextField(blank=True)
    default_value = models.CharField("Default value if null", max_length=1000, blank=True)
    target_attribute = models.CharField("Target attribute", max_length=300)
    matching_precedence = models.PositiveSmallIntegerField(
        "Matching precedence", default=0, help_text="0 = not a matching attribute"
    )
    apply = models.CharField(
        "Apply this mapping", max_length=24, choices=Apply.choices, default=Apply.ALWAYS
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_mapping", "target_attribute"],
                name="provisioning_attribute_unique_target",
            ),
            models.UniqueConstraint(
                fields=["object_mapping", "matching_precedence"],
                condition=Q(matching_precedence__gt=0),
                name="provisioning_attribute_unique_precedence",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_display} → {self.target_attribute}"

    @property
    def is_matching(self) -> bool:
        return self.matching_precedence > 0

    @property
    def source_display(self) -> str:
        """The Source column of the table: expressions shown verbatim, constants quoted."""
        if self.mapping_type == self.MappingType.EXPRESSION:
            return self.expression
        if self.mapping_type == self.MappingType.CONSTANT:
            return f'"{self.constant_value}"'
        if self.mapping_type == self.MappingType.NONE:
            return ""
        return self.source_attribute


class ProvisioningAuditEvent(models.Model):
    """A configuration change of an application's provisioning, named as the portal's audit
    activities ("Update provisioning setting or credentials", ...)."""

    class Activity(models.TextChoices):
        UPDATE_SETTINGS = (
            "Update provisioning setting or credentials",
            "Update provisioning setting or credentials",
        )
        START = "Enable/start provisioning configuration", "Enable/start provisioning configuration"
        STOP = (
            "Disable/pause provisioning configuration",
            "Disable/pause provisioning configuration",
        )
        RESTART = (
            "Enable/restart provisioning configuration",
            "Enable/restart provisioning configuration",
        )
        UPDATE_MAPPINGS = "Update attribute mappings or scope", "Update attribute mappings or scope"
        QUARANTINE = "Quarantine", "Quarantine"
        TEST_CONNECTION = "Test connection", "Test connection"

    application = models.ForeignKey(
        EnterpriseApplication, on_delete=models.CASCADE, related_name="audit_events"
    )
    activity = models.CharField(max_length=80, choices=Activity.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, default="system")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="provisioning_audit_recent"),
            models.Index(fields=["activity", "-created_at"], name="provisioning_audit_activity"),
            models.Index(fields=["actor_label", "-created_at"], name="provisioning_audit_actor"),
        ]

    def __str__(self) -> str:
        return self.activity


# --------------------------------------------------------------------------------------------
# The provisioning engine's state: job status, cycles, the connector data store, logs
# --------------------------------------------------------------------------------------------


class ProvisioningJobState(models.Model):
    """What the provisioning service knows about a job between cycles (Graph's
    ``synchronizationStatus``): status code, the change-feed watermark, quarantine. Kept apart
    from :class:`ProvisioningJob` so that saving the Provisioning blade (a full-row save) never
    overwrites what a worker wrote in the meantime, and the other way round."""

    class Code(models.TextChoices):
        NOT_RUN = "NotRun", "Not run"
        ACTIVE = "Active", "Active"
        PAUSED = "Paused", "Paused"
        QUARANTINE = "Quarantine", "Quarantine"

    class QuarantineReason(models.TextChoices):
        QUARANTINE_EXCEPTION = "EncounteredQuarantineException", "Encountered quarantine exception"
        BASE_ESCROW = "EncounteredBaseEscrowThreshold", "Encountered base escrow threshold"
        TOTAL_ESCROW = "EncounteredTotalEscrowThreshold", "Encountered total escrow threshold"
        ESCROW_PROPORTION = (
            "EncounteredEscrowProportionThreshold",
            "Encountered escrow proportion threshold",
        )
        TOO_MANY_DELETES = "TooManyDeletes", "Too many deletes"
        ON_DEMAND = "QuarantinedOnDemand", "Quarantined on demand"
        UNKNOWN = "Unknown", "Unknown"

    job = models.OneToOneField(ProvisioningJob, on_delete=models.CASCADE, related_name="state")
    code = models.CharField(max_length=16, choices=Code.choices, default=Code.NOT_RUN)
    watermark = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Change-feed horizon (xid8) the next incremental reads from.",
    )
    mapping_fingerprint = models.CharField(max_length=64, blank=True)
    next_cycle_at = models.DateTimeField(null=True, blank=True)
    successive_complete_failures = models.PositiveIntegerField(default=0)
    allow_deletes = models.BooleanField(
        default=False, help_text="Set by Allow deletes: the next cycle exports staged deletes."
    )
    quarantine_reason = models.CharField(
        max_length=48, choices=QuarantineReason.choices, blank=True
    )
    quarantine_error = models.TextField(blank=True)
    quarantine_began = models.DateTimeField(null=True, blank=True)
    quarantine_series_began = models.DateTimeField(null=True, blank=True)
    quarantine_series_count = models.PositiveIntegerField(default=0)
    quarantine_next_attempt = models.DateTimeField(null=True, blank=True)
    quarantine_notified_reason = models.CharField(max_length=48, blank=True)
    last_cycle = models.ForeignKey(
        "ProvisioningCycle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.job} {self.code}"

    @property
    def is_quarantined(self) -> bool:
        return self.code == self.Code.QUARANTINE


class ProvisioningCycle(models.Model):
    """One run of a job over its directory: the Activity ID of Current status, the progress
    bar, and the per-action/status counts the statistics and the chart are drawn from."""

    class Kind(models.TextChoices):
        INITIAL = "initial", "Initial"
        INCREMENTAL = "incremental", "Incremental"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "Succeeded", "Succeeded"
        ENTRY_LEVEL_ERRORS = "EntryLevelErrors", "Completed with entry-level errors"
        FAILED = "Failed", "Failed"
        QUARANTINED = "Quarantined", "Quarantined"

    job = models.ForeignKey(
        ProvisioningJob,
        on_delete=models.CASCADE,
        related_name="cycles",
        db_index=False,  # provisioning_cycle_recent starts with it
    )
    cycle_id = models.UUIDField("Cycle ID", default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=24, choices=State.choices, default=State.RUNNING)
    phase = models.CharField(max_length=32, blank=True)
    initiated_by = models.CharField(max_length=32, default="system")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    watermark_from = models.BigIntegerField(null=True, blank=True)
    watermark_to = models.BigIntegerField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    percent = models.PositiveSmallIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text='{"Create.Success": 3, …}')
    error_code = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"], name="provisioning_cycle_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} cycle {self.cycle_id}"

    @property
    def progress_percent(self) -> int:
        if self.state != self.State.RUNNING:
            return 100 if self.ended_at else 0
        return self.percent

    @property
    def duration_seconds(self) -> float | None:
        if not self.ended_at:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def count(self, action: str | None = None, status: str | None = None) -> int:
        total = 0
        for key, value in (self.counts or {}).items():
            key_action, _, key_status = key.partition(".")
            if (action is None or key_action == action) and (
                status is None or key_status == status
            ):
                total += value
        return total


class ConnectorObject(models.Model):
    """The connector data store: one row per job and source object the job has seen, with the
    link to the target object, what was last exported, and the escrow of a failed export.
    Links survive Restart provisioning; only escrows and staged deletes are cleared."""

    class ObjectType(models.TextChoices):
        USER = "user", "User"
        GROUP = "group", "Group"

    class TargetState(models.TextChoices):
        NONE = "", "Not provisioned"
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        DELETED = "deleted", "Deleted"

    class StagedAction(models.TextChoices):
        NONE = "", "None"
        DISABLE = "Disable", "Disable"
        DELETE = "Delete", "Delete"

    job = models.ForeignKey(
        ProvisioningJob,
        on_delete=models.CASCADE,
        related_name="connector_objects",
        db_index=False,  # provisioning_connector_object_unique starts with it
    )
    object_type = models.CharField(max_length=8, choices=ObjectType.choices)
    source_id = models.UUIDField()
    display_name = models.CharField(max_length=256, blank=True)
    target_id = models.CharField(max_length=255, blank=True)
    target_state = models.CharField(
        max_length=8, choices=TargetState.choices, default=TargetState.NONE, blank=True
    )
    exported = models.JSONField(
        default=dict, blank=True, help_text="Target attribute → value last exported or read."
    )
    staged_action = models.CharField(
        max_length=8, choices=StagedAction.choices, default=StagedAction.NONE, blank=True
    )
    needs_reference = models.BooleanField(default=False)
    last_cycle_id = models.UUIDField(null=True, blank=True)
    escrow_attempts = models.PositiveIntegerField(default=0)
    escrow_next_attempt = models.DateTimeField(null=True, blank=True)
    escrow_error_code = models.CharField(max_length=120, blank=True)
    escrow_error = models.TextField(blank=True)
    # A failed reference update (manager, group members) is escrowed apart from the object's
    # own export: an export that succeeds must not reset the reference's back-off.
    reference_attempts = models.PositiveIntegerField(default=0)
    reference_next_attempt = models.DateTimeField(null=True, blank=True)
    reference_error_code = models.CharField(max_length=120, blank=True)
    reference_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "object_type", "source_id"],
                name="provisioning_connector_object_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["job", "object_type", "escrow_next_attempt"],
                name="provisioning_cds_escrow",
            ),
            models.Index(
                fields=["job", "object_type", "target_id"], name="provisioning_cds_target"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.source_id} → {self.target_id or '-'}"


class ProvisioningLogEntry(models.Model):
    """One provisioning log entry (Graph's ``provisioningObjectSummary``): what happened to one
    object in one cycle or on-demand run, with its steps and modified properties."""

    class Action(models.TextChoices):
        CREATE = "Create", "Create"
        UPDATE = "Update", "Update"
        DELETE = "Delete", "Delete"
        DISABLE = "Disable", "Disable"
        STAGED_DELETE = "StagedDelete", "StagedDelete"
        OTHER = "Other", "Other"

    class Status(models.TextChoices):
        SUCCESS = "Success", "Success"
        FAILURE = "Failure", "Failure"
        SKIPPED = "Skipped", "Skipped"
        WARNING = "Warning", "Warning"

    job = models.ForeignKey(
        ProvisioningJob,
        on_delete=models.CASCADE,
        related_name="log_entries",
        db_index=False,  # provisioning_log_recent starts with it
    )
    cycle_id = models.UUIDField("Cycle ID", null=True, blank=True)
    change_id = models.UUIDField("Change ID", default=uuid.uuid4, unique=True, editable=False)
    activity_at = models.DateTimeField()
    initiated_by = models.CharField(max_length=64, default="Azure AD Provisioning Service")
    action = models.CharField(max_length=16, choices=Action.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    object_type = models.CharField(max_length=8)
    source_id = models.CharField(max_length=64, blank=True)
    source_display = models.CharField(max_length=256, blank=True)
    target_id = models.CharField(max_length=255, blank=True)
    target_display = models.CharField(max_length=256, blank=True)
    source_system = models.CharField(max_length=120)
    target_system = models.CharField(max_length=120)
    modified_properties = models.JSONField(default=list, blank=True)
    steps = models.JSONField(default=list, blank=True)
    error_code = models.CharField(max_length=120, blank=True)
    error_reason = models.TextField(blank=True)
    error_recommendation = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-activity_at", "-id"]
        indexes = [
            models.Index(fields=["job", "-activity_at"], name="provisioning_log_recent"),
            models.Index(fields=["job", "cycle_id"], name="provisioning_log_cycle"),
            models.Index(fields=["job", "source_id"], name="provisioning_log_source"),
            # The admin searches and filters across every job (support does not know the job).
            models.Index(fields=["-activity_at", "-id"], name="provisioning_log_all_recent"),
            models.Index(fields=["action", "-activity_at"], name="provisioning_log_action"),
            models.Index(fields=["status", "-activity_at"], name="provisioning_log_status"),
            models.Index(fields=["source_id"], name="provisioning_log_source_any"),
            models.Index(fields=["target_id"], name="provisioning_log_target_any"),
            models.Index(fields=["cycle_id"], name="provisioning_log_cycle_any"),
            models.Index(
                OpClass(Lower("source_display"), name="text_pattern_ops"),
                name="provisioning_log_display_pfx",
            ),
        ]
        verbose_name_plural = "provisioning log entries"

    def __str__(self) -> str:
        return f"{self.action} {self.status} {self.source_display}"


class DirectoryImportJob(models.Model):
    """A large import file, run by a worker so the console can show its progress. The file's
    text is kept until the import ends; problems and the summary are kept afterwards."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    directory = models.ForeignKey(Directory, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField(max_length=255)
    content = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class ScimValidationRun(models.Model):
    """One run of the SCIM Validator started from the console: what was asked, its progress
    while a worker runs it, and its result (the report as JSON). The token is kept encrypted
    only until the run ends."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ERROR = "error", "Could not run"

    class Dialect(models.TextChoices):
        DEFAULT = "default", "Default"
        FLAG2020 = "aadOptscim062020", "aadOptscim062020"

    AuthMethod = AuthMethod

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    directory = models.ForeignKey(
        Directory, on_delete=models.CASCADE, related_name="scim_validation_runs"
    )
    tenant_url = models.CharField("Tenant URL", max_length=2048)
    auth_method = models.CharField(
        "Authentication Method", max_length=8, choices=AuthMethod.choices, default=AuthMethod.BEARER
    )
    # The Secret Token, or with OAuth the client secret: encrypted, and only until the run ends.
    token_encrypted = models.TextField(blank=True)
    oauth_token_url = models.CharField("Token URL", max_length=2048, blank=True)
    oauth_client_id = models.CharField("Client ID", max_length=255, blank=True)
    groups = models.BooleanField(default=True)
    dialect = models.CharField(max_length=24, choices=Dialect.choices, default=Dialect.DEFAULT)
    lifecycle = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    current = models.CharField(max_length=64, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # While it runs: the prefix of everything it creates, the procrastinate job running it, and
    # the objects it created on the target — what a run whose worker died is healed from.
    prefix = models.CharField(max_length=32, blank=True)
    worker_job_id = models.BigIntegerField(null=True, blank=True)
    created_objects = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The recovery sweep reads the running runs every minute.
            models.Index(
                fields=["status"],
                name="scimval_run_running",
                condition=models.Q(status="running"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_url} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.ERROR)
