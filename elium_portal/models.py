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


class TenantQuerySet(models.QuerySet):
    def for_user(self, user) -> TenantQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Tenant(models.Model):
    """One Elium customer platform. Everything on the Elium side — members, SCIM tokens, SCIM
    users and groups — belongs to exactly one tenant, and its URL is ``/t/<slug>``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.CharField(max_length=40, unique=True, validators=[validate_tenant_slug])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

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
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
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
