"""Elium console pages of the SCIM app, mounted under ``/t/<slug>/`` by the root URLconf."""

from django.urls import path

from scim_api import views

urlpatterns = [
    path("settings/people/", views.PeopleView.as_view(), name="people"),
    path("settings/people/<str:person_id>/", views.PersonView.as_view(), name="person"),
    path(
        "settings/provisioning-activity/",
        views.ProvisioningActivityView.as_view(),
        name="provisioning-activity",
    ),
    path(
        "settings/provisioning-activity/export.csv",
        views.ProvisioningActivityExportView.as_view(),
        name="provisioning-activity-export",
    ),
    path("settings/groups/", views.GroupsView.as_view(), name="scim-groups"),
    path("settings/groups/<str:group_id>/", views.GroupView.as_view(), name="scim-group"),
    path(
        "settings/security/requests/",
        views.ProvisioningRequestsView.as_view(),
        name="security-requests",
    ),
]
