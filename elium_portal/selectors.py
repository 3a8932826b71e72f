"""Reads of the Elium side."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from elium_portal.models import AuditEvent, Membership, ScimToken, Tenant


def tenant_list_for_user(*, user) -> QuerySet[Tenant]:
    """The tenants ``user`` belongs to, each annotated with the user's ``role`` there."""
    role = Membership.objects.filter(tenant=OuterRef("pk"), user=user).values("role")[:1]
    return Tenant.objects.for_user(user).annotate(role=Subquery(role)).order_by("name")


def membership_get(*, tenant: Tenant, user) -> Membership | None:
    """The user's membership in ``tenant``, or None. Fails closed for anonymous users."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(tenant=tenant, user=user).select_related("tenant").first()


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__username")
    )


@dataclass(frozen=True)
class TenantTokens:
    """The token the Security page shows, and older ones still inside their grace period."""

    current: ScimToken | None
    in_grace: list[ScimToken]
    #: The most recent token that no longer works (revoked or expired), for "was revoked on…".
    ended: ScimToken | None = None


def scim_token_list(*, tenant: Tenant, now) -> TenantTokens:
    usable = list(
        ScimToken.objects.for_tenant(tenant)
        .usable(now)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )
    ended = None
    if not usable:
        ended = ScimToken.objects.for_tenant(tenant).order_by("-created_at", "-pk").first()
    return TenantTokens(current=usable[0] if usable else None, in_grace=usable[1:], ended=ended)


def scim_token_get(*, tenant: Tenant, key_id: str) -> ScimToken | None:
    """A token of ``tenant`` by key id; None for another tenant's (fails closed)."""
    return ScimToken.objects.for_tenant(tenant).filter(key_id=key_id).first()


def audit_event_list(*, tenant: Tenant, limit: int = 50) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(tenant=tenant).order_by("-created_at", "-id")[:limit])
