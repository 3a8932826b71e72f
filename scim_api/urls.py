"""SCIM endpoints under ``<tenant URL>/scim/v2/``."""

from django.urls import path

from scim_api.api import discovery

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", discovery.ServiceProviderConfigView.as_view(), name="spc"),
    path("ResourceTypes", discovery.ResourceTypeListView.as_view(), name="resource-types"),
    path(
        "ResourceTypes/<str:name>", discovery.ResourceTypeDetailView.as_view(), name="resource-type"
    ),
    path("Schemas", discovery.SchemaListView.as_view(), name="schemas"),
    path("Schemas/<str:schema_id>", discovery.SchemaDetailView.as_view(), name="schema"),
]
