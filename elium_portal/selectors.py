"""Reads of the Elium side."""

from __future__ import annotations

from django.db.models import QuerySet

from elium_portal.models import Membership, Tenant


def tenant_list_for_user(*, user) -> QuerySet[Tenant]:
    """The tenants ``user`` belongs to, each annotated with the user's ``role`` there."""
    from django.db.models import OuterRef, Subquery

    role = Membership.objects.filter(tenant=OuterRef("pk"), user=user).values("role")[:1]
    return Tenant.objects.for_user(user).annotate(role=Subquery(role)).order_by("name")


def membership_get(*, tenant: Tenant, user) -> Membership | None:
    """The user's membership in ``tenant``, or None. Fails closed for anonymous users."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(tenant=tenant, user=user).select_related("tenant").first()
