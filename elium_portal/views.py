"""Console pages of the Elium side, and the health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from elium_portal.access import TenantMemberRequiredMixin
from elium_portal.selectors import tenant_list_for_user


class HomeView(LoginRequiredMixin, TemplateView):
    """Landing page: the platforms (tenants) the signed-in user belongs to."""

    template_name = "elium_portal/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tenants"] = tenant_list_for_user(user=self.request.user)
        return context


class TenantHomeView(TenantMemberRequiredMixin, TemplateView):
    template_name = "elium_portal/tenant_home.html"


@never_cache
def healthz(request):
    """Liveness and readiness for load balancers: 200 when the database answers, else 503.

    Reports the age of the freshest procrastinate worker heartbeat so an operator sees at a
    glance whether background work (provisioning cycles) is being picked up.
    """
    body: dict = {"status": "ok", "database": {"status": "ok"}}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.execute("SELECT max(last_heartbeat) FROM procrastinate_workers")
            (last_heartbeat,) = cursor.fetchone()
    except DatabaseError as exc:
        body["status"] = "error"
        body["database"] = {"status": "unreachable", "error": exc.__class__.__name__}
        body["worker"] = {"status": "unknown", "last_heartbeat_age_seconds": None}
        return JsonResponse(body, status=503)
    if last_heartbeat is None:
        body["worker"] = {"status": "none", "last_heartbeat_age_seconds": None}
    else:
        age = max(0.0, (timezone.now() - last_heartbeat).total_seconds())
        stale = age > settings.WORKER_HEARTBEAT_STALE_SECONDS
        body["worker"] = {
            "status": "stale" if stale else "ok",
            "last_heartbeat_age_seconds": round(age, 1),
        }
    return JsonResponse(body)
