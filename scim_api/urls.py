"""SCIM endpoints under ``<tenant URL>/scim/v2/``.

Canonical paths are matched exactly. Anything else falls through to
:class:`~scim_api.api.dispatch.LenientDispatchView`, which — when the tenant's compatibility
policy allows it — matches endpoint names case-insensitively and tolerates a trailing slash, and
otherwise answers a SCIM 404.
"""

from django.urls import path, re_path

from scim_api.api import bulk, discovery, openapi, resources
from scim_api.api.dispatch import LenientDispatchView

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", discovery.ServiceProviderConfigView.as_view(), name="spc"),
    path("ResourceTypes", discovery.ResourceTypeListView.as_view(), name="resource-types"),
    path(
        "ResourceTypes/<str:name>", discovery.ResourceTypeDetailView.as_view(), name="resource-type"
    ),
    path("Schemas", discovery.SchemaListView.as_view(), name="schemas"),
    path("Schemas/<str:schema_id>", discovery.SchemaDetailView.as_view(), name="schema"),
    path("Users", resources.UsersView.as_view(), name="users"),
    path("Users/.search", resources.SearchView.as_view(scope="User"), name="users-search"),
    path("Users/<str:resource_id>", resources.UserDetailView.as_view(), name="user"),
    path("Groups", resources.GroupsView.as_view(), name="groups"),
    path("Groups/.search", resources.SearchView.as_view(scope="Group"), name="groups-search"),
    path("Groups/<str:resource_id>", resources.GroupDetailView.as_view(), name="group"),
    path(".search", resources.SearchView.as_view(), name="search"),
    path("Bulk", bulk.BulkView.as_view(), name="bulk"),
    path("openapi.json", openapi.OpenApiView.as_view(), name="openapi"),
    re_path(r"^(?P<rest>.*)$", LenientDispatchView.as_view(), name="lenient"),
]
