"""Creating tenants and their first administrators."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from elium_portal.models import Membership, Tenant, validate_tenant_slug
from elium_portal.services.token_cache import token_cache_invalidate


class UsernameTakenError(ValidationError):
    """The username belongs to an account that is not an administrator of this tenant."""


def tenant_ensure(*, slug: str, name: str | None = None) -> tuple[Tenant, bool]:
    """Return the tenant ``slug``, creating it when absent. Idempotent.

    An existing tenant keeps its name unless a new ``name`` is given.
    """
    validate_tenant_slug(slug)
    with transaction.atomic():
        tenant, created = Tenant.objects.select_for_update().get_or_create(
            slug=slug, defaults={"name": name or slug.replace("-", " ").title()}
        )
        if not created and name and tenant.name != name:
            tenant.name = name
            tenant.save(update_fields=["name"])
            token_cache_invalidate()  # authenticated tokens carry their tenant
    return tenant, created


def tenant_admin_ensure(*, tenant: Tenant, username: str, password: str) -> tuple[object, bool]:
    """Make ``username`` an administrator of ``tenant``, creating the account when absent.

    Idempotent for an account that already administers this tenant (its password is left
    alone). An account of the same name that is not this tenant's administrator is never
    taken over: that raises :class:`UsernameTakenError`.
    """
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.filter(username__iexact=username).first()
        if user is not None:
            is_admin_here = Membership.objects.filter(
                tenant=tenant, user=user, role=Membership.Role.ADMIN
            ).exists()
            if not is_admin_here:
                raise UsernameTakenError(
                    f"The username “{username}” is already taken by another account.",
                    code="username_taken",
                )
            return user, False
        candidate = User(username=username)
        validate_password(password, user=candidate)
        user = User.objects.create_user(username=username, password=password)
        Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.ADMIN)
    return user, True
