"""Root URLconf: the only place that knows all three apps."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from elium_portal import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("t/<slug:slug>/", views.TenantHomeView.as_view(), name="tenant-home"),
]

admin.site.site_header = "Elium Portal support"
admin.site.site_title = "Elium Portal support"
admin.site.index_title = "Support console"
