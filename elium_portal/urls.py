"""Root URLconf: the only place that knows all three apps."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from elium_portal import views

tenant_patterns = [
    # First: every SCIM request is matched against the patterns before it.
    path("scim/v2/", include("scim_api.urls")),
    path("", views.TenantHomeView.as_view(), name="tenant-home"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("settings/", views.SettingsGeneralView.as_view(), name="settings"),
    path("settings/members/", views.SettingsMembersView.as_view(), name="settings-members"),
    path("settings/security/", views.SecurityView.as_view(), name="settings-security"),
    path("settings/security/scim/", views.ScimSwitchView.as_view(), name="security-scim-switch"),
    path(
        "settings/security/scim-settings/",
        views.ScimSettingsView.as_view(),
        name="security-scim-settings",
    ),
    path(
        "settings/security/token/generate/",
        views.TokenGenerateView.as_view(),
        name="security-token-generate",
    ),
    path(
        "settings/security/token/regenerate/",
        views.TokenGenerateView.as_view(regenerate=True),
        name="security-token-regenerate",
    ),
    path(
        "settings/security/token/<str:key_id>/revoke/",
        views.TokenRevokeView.as_view(),
        name="security-token-revoke",
    ),
    path("", include("scim_api.console_urls")),
]

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says; send them to the real icon.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("t/<slug:slug>/", include(tenant_patterns)),
    path("azure/", include("provisioning.urls")),
]

admin.site.site_header = "Elium Portal support"
admin.site.site_title = "Elium Portal support"
admin.site.index_title = "Support console"
