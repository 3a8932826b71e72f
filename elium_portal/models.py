"""Tenants of the Elium side and the people who belong to them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "static",
        "media",
        "accounts",
        "login",
        "logout",
        "healthz",
        "scim",
        "t",
        "www",
        "azure",
        "portal",
        "settings",
    }
)

slug_format = RegexValidator(
    regex=r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$",
    message=(
        "A tenant slug is 3–40 characters: lowercase letters, digits and hyphens, starting with "
        "a letter and not ending with a hyphen."
    ),
    code="invalid_slug",
)


def validate_tenant_slug(value: str) -> None:
    slug_format(value)
    if "--" in value:
        raise ValidationError(
            "A tenant slug cannot contain two hyphens in a row.", code="invalid_slug"
        )
    if value in RESERVED_SLUGS:
        raise ValidationError(
            f"“{value}” is reserved and cannot be a tenant slug.", code="reserved"
        )


# Every issued Secret token starts with this, so a leaked one is recognisable (secret scanners,
# support) and a pasted value of another kind is refused before any digest is computed.
TOKEN_PREFIX = "elium_scim_"


class TenantQuerySet(models.QuerySet):
    def for_user(self, user) -> TenantQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Tenant(models.Model):
    """One Elium customer platform. Everything on the Elium side — members, SCIM tokens, SCIM
    users and groups — belongs to exactly one tenant, and its URL is ``/t/<slug>``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class ScimCompatibility(models.TextChoices):
        AZURE_AD = "azure", "Azure-AD-tolerant"
        STRICT = "strict", "Strict RFC 7643/7644"

    slug = models.CharField(max_length=40, unique=True, validators=[validate_tenant_slug])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    scim_enabled = models.BooleanField(
        "SCIM provisioning enabled",
        default=True,
        help_text="While off, every SCIM request is refused with a SCIM error.",
    )

    class ScimRequestLogLevel(models.TextChoices):
        OFF = "off", "Off"
        ERRORS = "errors", "Errors only"
        ALL = "all", "All requests"

    scim_request_log_level = models.CharField(
        "SCIM request log",
        max_length=10,
        choices=ScimRequestLogLevel.choices,
        default=ScimRequestLogLevel.ERRORS,
        help_text="Which inbound SCIM requests are kept for support.",
    )
    scim_compatibility = models.CharField(
        "SCIM compatibility policy",
        max_length=20,
        choices=ScimCompatibility.choices,
        default=ScimCompatibility.AZURE_AD,
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # The admin's tenant actions (disable SCIM, revoke tokens, unlock a sign-in) are for the
        # "Support admin" group; "Support" only views.
        permissions = [
            ("operate_tenant", "Can disable SCIM, revoke tokens and unlock sign-ins (admin)"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        """The tenant URL shown to admins: ``${PUBLIC_BASE_URL}/t/<slug>``."""
        return f"{settings.PUBLIC_BASE_URL}/t/{self.slug}"

    @property
    def scim_base_url(self) -> str:
        return f"{self.url}/scim/v2"


class Membership(models.Model):
    """A Django user's role in a tenant. Admins reach Settings → ADVANCED → Security."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Administrator"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,  # membership_unique_per_tenant starts with it
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_per_tenant"),
        ]
        ordering = ["tenant__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class ScimTokenQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> ScimTokenQuerySet:
        return self.filter(tenant=tenant)

    def usable(self, now) -> ScimTokenQuerySet:
        """Not revoked and not expired at ``now``."""
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


#: The ``created_by_label`` of the token ``seed_demo`` issues.
DEMO_SEED_TOKEN_LABEL = "demo seed"


class ScimToken(models.Model):
    """A long-lived bearer token that lets a provisioning client (Azure AD) call the tenant's
    SCIM API. Only a key id and an HMAC-SHA256 digest (peppered with ``TOKEN_PEPPER``) are
    stored; the token itself is shown once, when it is issued."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="scim_tokens")
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = ScimTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "SCIM secret token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.display_prefix

    @property
    def issued_by_demo_seed(self) -> bool:
        """The demo's token: issued by ``seed_demo`` and already saved in the demo's Provisioning
        tab, so nobody ever saw it to copy it (the Security page says so)."""
        return self.created_by_id is None and self.created_by_label == DEMO_SEED_TOKEN_LABEL

    @property
    def display_prefix(self) -> str:
        """What identifies the token on screen: its public key id and last four characters."""
        return f"{TOKEN_PREFIX}{self.key_id}_…{self.last4}"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ScimTokenAddress(models.Model):
    """The IP addresses a token has been used from, so the first use from a new address is
    recorded once in the security log."""

    token = models.ForeignKey(
        ScimToken,
        on_delete=models.CASCADE,
        related_name="addresses",
        db_index=False,  # scim_token_address_once starts with it
    )
    ip = models.GenericIPAddressField()
    first_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "ip"], name="scim_token_address_once"),
        ]

    def __str__(self) -> str:
        return f"{self.ip} for {self.token}"


class TokenFormSubmission(models.Model):
    """The one-time ids of Generate/Regenerate forms that have issued a token. A refreshed,
    re-posted or replayed form carries an id already here, so it never issues a second token
    (which would silently push the token just copied into its grace period). Rows are only
    needed while a form can still be submitted, and are pruned after that."""

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # token_form_submission_once starts with it
    )
    submission_id = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "submission_id"], name="token_form_submission_once"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="token_form_submission_age")]

    def __str__(self) -> str:
        return self.submission_id


class AuditEvent(models.Model):
    """A security-relevant change of a tenant (token issued, revoked, SCIM switched on or off,
    a token first used from a new address), with who did it, when and from where."""

    class Action(models.TextChoices):
        TOKEN_GENERATED = "token.generated", "Secret token generated"
        TOKEN_REGENERATED = "token.regenerated", "Secret token regenerated"
        TOKEN_REVOKED = "token.revoked", "Secret token revoked"
        TOKEN_NEW_ADDRESS = "token.new_address", "Secret token used from a new IP address"
        SCIM_ENABLED = "scim.enabled", "SCIM provisioning enabled"
        SCIM_DISABLED = "scim.disabled", "SCIM provisioning disabled"
        SCIM_SETTINGS_CHANGED = "scim.settings_changed", "SCIM settings changed"
        LOGIN_LOCKED_OUT = "login.locked_out", "Sign-in locked after repeated failures"
        LOGIN_UNLOCKED = "login.unlocked", "Sign-in lockout cleared by support"

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="audit_events",
        db_index=False,  # audit_tenant_recent starts with it
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_recent"),
            # The admin's changelist: newest first, and filtered by action.
            models.Index(fields=["-created_at", "-id"], name="audit_recent"),
            models.Index(fields=["action", "-created_at"], name="audit_action_recent"),
            models.Index(fields=["actor_label", "-created_at"], name="audit_actor_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_label or 'system'}"
