"""``/t/<slug>/scim/v2/openapi.json``: the published OpenAPI description of the SCIM API."""

import pytest
import schemathesis
from django.urls import get_resolver

from scim_api.api.openapi import openapi_document
from scim_api.schema import CORE_USER, ENTERPRISE_USER

pytestmark = pytest.mark.django_db


def test_the_description_is_published_without_a_token(client, tenant):
    response = client.get("/t/acme/scim/v2/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document == openapi_document(base_url=tenant.scim_base_url)  # what the fuzzer reads
    assert document["openapi"] == "3.0.3"
    assert document["servers"] == [{"url": tenant.scim_base_url}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_it_describes_every_scim_endpoint(client, tenant):
    # Every canonical route of scim_api/urls.py, but the lenient catch-all.
    patterns = get_resolver("scim_api.urls").url_patterns
    routes = {
        "/" + str(p.pattern).replace("<str:resource_id>", "{id}").replace("<str:schema_id>", "{id}")
        for p in patterns
        if p.name != "lenient"
    }
    routes = {r.replace("<str:name>", "{name}") for r in routes}

    paths = client.get("/t/acme/scim/v2/openapi.json").json()["paths"]

    assert set(paths) == routes


def test_resource_bodies_come_from_the_schema_registry(client, tenant):
    schemas = client.get("/t/acme/scim/v2/openapi.json").json()["components"]["schemas"]

    user = schemas["User"]
    assert user["required"] == ["schemas", "userName"]
    assert user["properties"]["id"]["readOnly"] is True
    assert user["properties"]["password"]["writeOnly"] is True
    assert user["properties"]["emails"]["type"] == "array"
    assert "manager" in user["properties"][ENTERPRISE_USER]["properties"]
    assert user["properties"]["schemas"]["example"] == [CORE_USER]
    assert schemas["Group"]["required"] == ["schemas", "displayName"]


def test_an_unknown_tenant_gets_the_same_document_and_no_query_runs(
    client, django_assert_num_queries
):
    # Nothing to learn about which tenants exist: the document is built from the URL alone.
    with django_assert_num_queries(0):
        response = client.get("/t/no-such-tenant/scim/v2/openapi.json")

    assert response.status_code == 200
    assert response.json()["servers"][0]["url"].endswith("/t/no-such-tenant/scim/v2")


def test_it_is_a_valid_openapi_document(client, tenant):
    document = client.get("/t/acme/scim/v2/openapi.json").json()

    schema = schemathesis.openapi.from_dict(document)

    schema.validate()  # against the OpenAPI 3.0 meta-schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 22
