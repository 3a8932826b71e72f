"""The Azure console, mounted at ``/azure/``."""

from django.urls import path

from provisioning import views

app_name = "provisioning"

directory = "directories/<uuid:tenant_id>/"
app = directory + "apps/<uuid:app_id>/"
mapping = app + "provisioning/mappings/<str:object_type>/"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path(
        "expression/validate/", views.ExpressionValidateView.as_view(), name="expression-validate"
    ),
    path(directory, views.DirectoryOverviewView.as_view(), name="directory"),
    path(directory + "users/", views.UserListView.as_view(), name="users"),
    path(directory + "users/new/", views.UserEditView.as_view(), name="user-new"),
    path(directory + "users/<uuid:object_id>/", views.UserEditView.as_view(), name="user-edit"),
    path(directory + "groups/", views.GroupListView.as_view(), name="groups"),
    path(directory + "groups/new/", views.GroupEditView.as_view(), name="group-new"),
    path(directory + "groups/<uuid:object_id>/", views.GroupEditView.as_view(), name="group-edit"),
    path(directory + "import/", views.ImportView.as_view(), name="import"),
    path(directory + "import/<uuid:job_id>/", views.ImportJobView.as_view(), name="import-job"),
    path(directory + "apps/", views.ApplicationListView.as_view(), name="apps"),
    path(directory + "apps/new/", views.ApplicationGalleryView.as_view(), name="app-new"),
    path(directory + "scim-validator/", views.ScimValidatorView.as_view(), name="scim-validator"),
    path(
        directory + "scim-validator/<uuid:run_id>/",
        views.ScimValidationRunView.as_view(),
        name="scim-validator-run",
    ),
    path(
        directory + "scim-validator/<uuid:run_id>/json/",
        views.ScimValidationRunJsonView.as_view(),
        name="scim-validator-json",
    ),
    path(app, views.ApplicationOverviewView.as_view(), name="app-overview"),
    path(app + "users/", views.ApplicationUsersGroupsView.as_view(), name="app-users"),
    path(app + "audit/", views.ApplicationAuditLogView.as_view(), name="app-audit"),
    path(app + "provisioning/", views.ProvisioningView.as_view(), name="provisioning"),
    path(
        app + "provisioning/test-connection/",
        views.TestConnectionView.as_view(),
        name="test-connection",
    ),
    path(app + "provisioning/status/", views.ProvisioningStatusView.as_view(), name="status"),
    path(app + "provisioning/control/", views.ProvisioningControlView.as_view(), name="control"),
    path(app + "provisioning-logs/", views.ProvisioningLogListView.as_view(), name="logs"),
    path(
        app + "provisioning-logs/<uuid:change_id>/",
        views.ProvisioningLogDetailView.as_view(),
        name="log-detail",
    ),
    path(app + "provision-on-demand/", views.ProvisionOnDemandView.as_view(), name="on-demand"),
    path(mapping, views.AttributeMappingView.as_view(), name="mapping"),
    path(mapping + "attributes/new/", views.EditAttributeView.as_view(), name="attribute-new"),
    path(
        mapping + "attributes/<int:pk>/", views.EditAttributeView.as_view(), name="attribute-edit"
    ),
    path(mapping + "scope/", views.SourceObjectScopeView.as_view(), name="scope"),
    path(mapping + "scope/new/", views.ScopingFilterEditView.as_view(), name="scope-new"),
    path(mapping + "scope/<int:index>/", views.ScopingFilterEditView.as_view(), name="scope-edit"),
]
