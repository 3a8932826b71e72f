"""Bad input gets a SCIM error in the protocol's own format, never a traceback."""

import pytest

from scim_api import ratelimit
from scim_api.models import ScimRequestLog, ScimUser
from tests.factories import azure_user

pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def assert_error(response, status, scim_type=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type:
        assert body["scimType"] == scim_type
    assert "Traceback" not in body["detail"]
    return body


def test_malformed_json_is_400_invalid_syntax(scim):
    body = assert_error(scim.post("/Users", raw='{"userName": '), 400, "invalidSyntax")

    assert "JSON" in body["detail"]
    assert not ScimUser.objects.exists()


def test_json_that_is_not_an_object_is_400(scim):
    assert_error(scim.post("/Users", raw="[1, 2]"), 400, "invalidSyntax")


def test_plain_application_json_is_accepted(scim):
    response = scim.post("/Users", raw='{"userName": "a@b.c"}', content_type="application/json")

    assert response.status_code == 201


def test_unsupported_media_type_is_415(scim):
    assert_error(scim.post("/Users", raw="userName=x", content_type="text/plain"), 415)


def test_missing_required_attribute_is_400_invalid_value(scim):
    body = assert_error(
        scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
        400,
        "invalidValue",
    )

    assert "userName" in body["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "filter=userName eq",
        'filter=userName eq "unterminated',
        "filter=((((",
        "filter=nope eq 1",
        "filter=active gt true",
        "startIndex=abc",
        "count=1.5",
        "sortOrder=sideways",
        "attributes=a&excludedAttributes=b",
        "filter=" + "not (" * 300 + 'userName eq "x"' + ")" * 300,
    ],
)
def test_hostile_query_parameters_are_400(scim, query):
    response = scim.get(f"/Users?{query}")

    assert_error(response, 400)


def test_redundant_parentheses_are_harmless(scim):
    response = scim.get("/Users?filter=" + "(" * 500 + 'userName eq "x"' + ")" * 500)

    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


def test_huge_payload_is_413_and_writes_nothing(scim, settings):
    settings.SCIM_MAX_REQUEST_BYTES = 10_000
    body = azure_user(displayName="x" * 20_000)

    assert_error(scim.post("/Users", body), 413)
    assert not ScimUser.objects.exists()


def test_unknown_resource_is_404_and_unknown_endpoint_is_404(scim):
    assert_error(scim.get("/Users/not-a-uuid"), 404)
    assert_error(scim.get("/Users/00000000-0000-0000-0000-000000000000"), 404)
    assert_error(scim.get("/Nope"), 404)


def test_wrong_method_is_405(scim):
    assert_error(scim.delete("/Users"), 405)


def test_patch_failure_is_atomic(scim):
    user = scim.post("/Users", azure_user()).json()

    response = scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Changed"},
                {"op": "Replace", "path": "id", "value": "x"},
            ],
        },
    )

    assert_error(response, 400, "mutability")
    assert "displayName" not in scim.get(f"/Users/{user['id']}").json()


def test_rate_limit_is_429_with_retry_after(scim, settings):
    ratelimit.reset()
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0.5
    settings.SCIM_RATE_LIMIT_BURST = 3
    statuses = [scim.get("/ServiceProviderConfig").status_code for _ in range(5)]
    ratelimit.reset()

    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    response = scim.get("/ServiceProviderConfig")
    assert response.status_code == 200


def test_rate_limited_response_has_retry_after(scim, settings):
    ratelimit.reset()
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0.5
    settings.SCIM_RATE_LIMIT_BURST = 1
    scim.get("/ServiceProviderConfig")
    response = scim.get("/ServiceProviderConfig")
    ratelimit.reset()

    assert_error(response, 429)
    assert int(response["Retry-After"]) >= 1


def test_strict_policy_rejects_azure_quirks(scim, tenant):
    user = scim.post("/Users", azure_user()).json()
    tenant.scim_compatibility = "strict"
    tenant.save()

    response = scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )

    assert response.status_code == 400
    assert_error(scim.get("/Users?aadOptscim062020"), 400, "invalidValue")


@pytest.mark.parametrize(
    "body",
    [
        azure_user("nul\u0000@contoso.com"),
        azure_user("x" * 257 + "@contoso.com"),
        azure_user(title="bad \ud800 surrogate"),
        '{"userName": "a@b.c", "urn:ietf:params:scim:schemas:extension:Ext:2.0:User": '
        '{"n": 1e400}}',
        azure_user(**{"urn:ietf:params:scim:schemas:extension:Ext:2.0:User": {"k\u0000": "v"}}),
    ],
    ids=["nul", "too-long", "surrogate", "infinite", "nul-in-key"],
)
def test_input_postgresql_cannot_store_is_400_invalid_value_and_writes_nothing(scim, tenant, body):
    tenant.scim_request_log_level = "all"
    tenant.save()

    if isinstance(body, str):
        response = scim.post("/Users", raw=body)
    else:
        response = scim.post("/Users", body)

    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidValue"
    assert not ScimUser.objects.exists()
    assert ScimRequestLog.objects.get().status == 400


def test_patch_value_postgresql_cannot_store_is_400(scim):
    user = scim.post("/Users", azure_user()).json()

    response = scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "displayName", "value": "a\u0000b"}],
        },
    )

    assert response.status_code == 400


def test_invalid_query_parameters_are_rejected_before_anything_is_written(scim):
    response = scim.post("/Users?attributes=userName&excludedAttributes=emails", azure_user())

    assert response.status_code == 400
    assert not ScimUser.objects.exists()


def test_infinite_count_in_a_search_body_is_400(scim):
    response = scim.post("/Users/.search", raw='{"count": 1e400}')

    assert response.status_code == 400


SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.mark.parametrize(
    "query",
    ["startIndex=99999999999999999999", "startIndex=2147483648", "startIndex=1e3"],
)
@pytest.mark.parametrize("path", ["/Users", "/Groups"])
def test_start_index_out_of_range_is_400_invalid_value(scim, path, query):
    body = assert_error(scim.get(f"{path}?{query}"), 400, "invalidValue")

    assert "startIndex" in body["detail"]


@pytest.mark.parametrize("path", ["/.search", "/Users/.search", "/Groups/.search"])
@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ({"startIndex": 99999999999999999999}, "startIndex"),
        ({"startIndex": -99999999999999999999, "count": 1.5}, "count"),
        ({"count": True}, "count"),
        ({"count": "many"}, "count"),
        ({"startIndex": 1e300}, "startIndex"),
    ],
)
def test_search_paging_out_of_range_or_not_an_integer_is_400(scim, path, parameters, name):
    response = scim.post(path, {"schemas": [SEARCH], **parameters})

    body = assert_error(response, 400, "invalidValue")
    assert name in body["detail"]


@pytest.mark.parametrize(
    "query", ["count=99999999999999999999", "count=-99999999999999999999&startIndex=-5"]
)
def test_huge_or_negative_count_is_clamped_as_rfc_7644_says(scim, query):
    # RFC 7644 §3.4.2.4: a negative count means 0; more than maxResults gets maxResults.
    scim.post("/Users", azure_user())

    response = scim.get(f"/Users?{query}")

    assert response.status_code == 200
    assert response.json()["totalResults"] == 1


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [100, 1_000, 100_000])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/Users"),
        ("put", "/Users/{id}"),
        ("patch", "/Users/{id}"),
        ("post", "/Groups"),
        ("post", "/Users/.search"),
        ("post", "/.search"),
        ("post", "/Bulk"),
    ],
)
def test_deeply_nested_json_is_400_invalid_syntax(scim, method, path, depth):
    user = scim.post("/Users", azure_user()).json()

    response = getattr(scim, method)(path.format(id=user["id"]), raw=nested(depth))

    body = assert_error(response, 400, "invalidSyntax")
    assert "nested" in body["detail"]


def test_reasonable_nesting_is_accepted(scim):
    # A custom extension a few levels deep is ordinary SCIM.
    custom = "urn:ietf:params:scim:schemas:extension:Custom:2.0:User"
    deep = {"level": {"level": {"level": {"level": {"value": "x"}}}}}

    response = scim.post("/Users", azure_user(**{custom: deep}))

    assert response.status_code == 201, response.content


def test_patch_that_would_store_a_nul_character_is_400(scim):
    # The filter's string literal unescapes to NUL: the body itself holds none, the patched
    # document would.
    user = scim.post("/Users", azure_user()).json()

    response = scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": 'emails[value eq "\\u0000"]', "value": {}}],
        },
    )

    body = assert_error(response, 400, "invalidValue")
    assert "NUL" in body["detail"]
    assert scim.get(f"/Users/{user['id']}").json()["emails"] == user["emails"]


def test_bulk_patch_that_would_store_a_nul_character_fails_that_operation(scim):
    user = scim.post("/Users", azure_user()).json()

    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "PATCH",
                    "path": f"/Users/{user['id']}",
                    "data": {
                        "schemas": [PATCH_OP],
                        "Operations": [
                            {"op": "add", "path": 'emails[value eq "\\u0000"]', "value": {}}
                        ],
                    },
                }
            ],
        },
    )

    assert response.status_code == 200
    result = response.json()["Operations"][0]
    assert result["status"] == "400"
    assert result["response"]["scimType"] == "invalidValue"
