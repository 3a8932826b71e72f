"""Console pages of the Elium side, and the health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import DatabaseError, connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from elium_portal import clock
from elium_portal.access import TenantAdminRequiredMixin, TenantMemberRequiredMixin
from elium_portal.forms import (
    GenerateTokenForm,
    RegenerateTokenForm,
    ScimSettingsForm,
    ScimSwitchForm,
)
from elium_portal.selectors import (
    audit_event_list,
    membership_list,
    scim_token_get,
    scim_token_list,
    tenant_list_for_user,
)
from elium_portal.services.tokens import (
    TokenFormAlreadySubmittedError,
    scim_token_issue,
    scim_token_revoke,
    tenant_scim_set_enabled,
    tenant_scim_settings_update,
)


class HomeView(LoginRequiredMixin, TemplateView):
    """Landing page: the platforms (tenants) the signed-in user belongs to."""

    template_name = "elium_portal/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tenants"] = tenant_list_for_user(user=self.request.user)
        context["azure_product_name"] = settings.AZURE_DIRECTORY_PRODUCT_NAME
        return context


class TenantHomeView(TenantMemberRequiredMixin, TemplateView):
    template_name = "elium_portal/tenant_home.html"


@never_cache
def healthz(request):
    """Liveness and readiness for load balancers: 200 when the database answers, else 503.

    Reports the age of the freshest procrastinate worker heartbeat so an operator sees at a
    glance whether background work (provisioning cycles) is being picked up. Monitoring that
    must also fail when no worker runs asks ``/healthz?require=worker``: then a missing or stale
    heartbeat is a 503 too.
    """
    require_worker = "worker" in request.GET.getlist("require")
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
    if require_worker and body["worker"]["status"] != "ok":
        body["status"] = "error"
        return JsonResponse(body, status=503)
    return JsonResponse(body)


def login_locked_out(request, response=None, credentials=None):
    """What a locked-out sign-in sees (django-axes' lockout response, console and admin alike):
    a 429 saying why and for how long, never whether the password was right."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return render(
        request,
        "registration/locked_out.html",
        {"lockout_minutes": minutes},
        status=429,
    )


class ProfileView(TenantMemberRequiredMixin, TemplateView):
    """My Profile: who I am on this platform; the way to Settings."""

    template_name = "elium_portal/profile.html"


class SettingsMixin(TenantMemberRequiredMixin):
    """Pages of the Settings area share its left-hand menu; ``settings_page`` marks the entry."""

    settings_page = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["settings_page"] = self.settings_page
        return context


class SettingsGeneralView(SettingsMixin, TemplateView):
    template_name = "elium_portal/settings/general.html"
    settings_page = "general"


class SettingsMembersView(SettingsMixin, TemplateView):
    template_name = "elium_portal/settings/members.html"
    settings_page = "members"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["memberships"] = membership_list(tenant=self.tenant)
        return context


# Every response of the Security page and its forms is ``Cache-Control: no-store``: a token is
# shown once and must never come back from a cache, the Back button or a restored tab.
security_page = method_decorator(never_cache, name="dispatch")


@security_page
class SecurityView(TenantAdminRequiredMixin, SettingsMixin, TemplateView):
    """Settings › ADVANCED › Security: the tenant URL, the SCIM switch and the Secret token."""

    template_name = "elium_portal/settings/security.html"
    settings_page = "security"
    http_method_names = ["get"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = clock.now()
        tokens = scim_token_list(tenant=self.tenant, now=now)
        context.update(
            now=now,
            current_token=tokens.current,
            grace_tokens=tokens.in_grace,
            ended_token=tokens.ended,
            audit_events=audit_event_list(tenant=self.tenant, limit=25),
            generate_form=kwargs.get("generate_form")
            or GenerateTokenForm(tenant=self.tenant, user=self.request.user),
            settings_form=kwargs.get("settings_form")
            or ScimSettingsForm(
                initial={
                    "compatibility": self.tenant.scim_compatibility,
                    "request_log_level": self.tenant.scim_request_log_level,
                }
            ),
            regenerate_form=kwargs.get("regenerate_form")
            or RegenerateTokenForm(tenant=self.tenant, user=self.request.user),
        )
        return context


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@security_page
class TokenGenerateView(TenantAdminRequiredMixin, SettingsMixin, TemplateView):
    """Issues a token and shows it once, in this response only (never stored, never redirected
    through a session), with ``Cache-Control: no-store``. The form's one-time id makes a refresh
    or a replay of this POST answer "already submitted" instead of issuing another token."""

    template_name = "elium_portal/settings/security.html"
    settings_page = "security"
    http_method_names = ["post"]
    regenerate = False

    def _page(self, *, status: int = 200, **context):
        view = SecurityView(request=self.request, kwargs=self.kwargs, args=self.args)
        view.tenant, view.membership = self.tenant, self.membership
        return view.render_to_response(view.get_context_data(**context), status=status)

    def post(self, request, *args, **kwargs):
        form_class = RegenerateTokenForm if self.regenerate else GenerateTokenForm
        form = form_class(request.POST, tenant=self.tenant, user=request.user)
        if not form.is_valid():
            key = "regenerate_form" if self.regenerate else "generate_form"
            return self._page(status=400, **{key: form})
        try:
            issued = scim_token_issue(
                tenant=self.tenant,
                actor=request.user,
                expires_at=form.cleaned_data["expires_at"],
                replace=form.cleaned_data["old_token_stops"] if self.regenerate else None,
                ip=_client_ip(request),
                submission_id=form.cleaned_data["submission"],
            )
        except TokenFormAlreadySubmittedError:
            return self._page(status=409, already_submitted=True)
        return self._page(new_token=issued.plaintext)


@security_page
class TokenRevokeView(TenantAdminRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, slug, key_id):
        token = scim_token_get(tenant=self.tenant, key_id=key_id)
        if token is None:
            raise Http404("No such token")
        scim_token_revoke(
            tenant=self.tenant, token=token, actor=request.user, ip=_client_ip(request)
        )
        messages.success(
            request, f"The token {token.display_prefix} was revoked. It no longer works."
        )
        return redirect("settings-security", slug=self.tenant.slug)


@security_page
class ScimSwitchView(TenantAdminRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, slug):
        form = ScimSwitchForm(request.POST)
        form.is_valid()
        enabled = form.cleaned_data.get("enabled", False)
        if tenant_scim_set_enabled(
            tenant=self.tenant, enabled=enabled, actor=request.user, ip=_client_ip(request)
        ):
            messages.success(
                request,
                "SCIM provisioning is enabled."
                if enabled
                else "SCIM provisioning is disabled. Every SCIM request is now refused.",
            )
        return redirect("settings-security", slug=self.tenant.slug)


@security_page
class ScimSettingsView(TenantAdminRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, slug):
        form = ScimSettingsForm(request.POST)
        if not form.is_valid():
            view = SecurityView(request=request, kwargs={"slug": slug})
            view.tenant, view.membership = self.tenant, self.membership
            return view.render_to_response(view.get_context_data(settings_form=form), status=400)
        if tenant_scim_settings_update(
            tenant=self.tenant,
            compatibility=form.cleaned_data["compatibility"],
            request_log_level=form.cleaned_data["request_log_level"],
            actor=request.user,
            ip=_client_ip(request),
        ):
            messages.success(request, "SCIM settings saved.")
        return redirect("settings-security", slug=self.tenant.slug)
