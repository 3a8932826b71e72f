"""Tenant resolution for console views. Fails closed: a tenant the user does not belong to is
a 404, exactly like one that does not exist, so slugs cannot be probed."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from elium_portal.models import Membership, Tenant
from elium_portal.selectors import membership_get


def access_tenant_for_member(*, slug: str, user) -> tuple[Tenant, Membership]:
    tenant = Tenant.objects.filter(slug=slug).first()
    membership = membership_get(tenant=tenant, user=user) if tenant else None
    if membership is None:
        raise Http404("No such tenant")
    return tenant, membership


class TenantMemberRequiredMixin(LoginRequiredMixin):
    """Resolves ``self.tenant`` and ``self.membership`` from the ``slug`` URL argument."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.tenant, self.membership = access_tenant_for_member(
            slug=kwargs["slug"], user=request.user
        )
        request.tenant = self.tenant
        request.membership = self.membership
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(tenant=self.tenant, membership=self.membership)
        return context


class TenantAdminRequiredMixin(TenantMemberRequiredMixin):
    """Like :class:`TenantMemberRequiredMixin`, and 403 for members who are not admins."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        tenant, membership = access_tenant_for_member(slug=kwargs["slug"], user=request.user)
        if not membership.is_admin:
            raise PermissionDenied("Only administrators of this platform can open this page.")
        return super().dispatch(request, *args, **kwargs)
