"""POST /Bulk (RFC 7644 §3.7)."""

import pytest

from scim_api.models import ScimGroupMember, ScimUser
from scim_api.services import bulk as bulk_service
from tests.factories import azure_group, azure_user

pytestmark = pytest.mark.django_db

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def bulk(scim, operations, **extra):
    return scim.post("/Bulk", {"schemas": [BULK], "Operations": operations, **extra})


def test_bulk_creates_with_bulk_id_references_in_any_order(scim):
    response = bulk(
        scim,
        [
            # The group names users created later in the same request.
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": azure_group(members=[{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]),
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": azure_user("a@contoso.com"),
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u2",
                "data": azure_user("b@contoso.com"),
            },
        ],
    )

    assert response.status_code == 200
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201", "201"]
    assert all(r["location"].startswith("http://testserver/t/acme/scim/v2/") for r in results)
    assert ScimGroupMember.objects.count() == 2


def test_bulk_operations_fail_independently_and_fail_on_errors_stops(scim):
    scim.post("/Users", azure_user("taken@contoso.com"))

    response = bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "a",
                "data": azure_user("taken@contoso.com"),
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "b",
                "data": azure_user("new@contoso.com"),
            },
            {"method": "DELETE", "path": "/Users/00000000-0000-0000-0000-000000000000"},
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "c",
                "data": azure_user("late@contoso.com"),
            },
        ],
        failOnErrors=2,
    )

    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["409", "201", "404"]
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert set(ScimUser.objects.values_list("user_name", flat=True)) == {
        "taken@contoso.com",
        "new@contoso.com",
    }


def test_bulk_patch_put_delete(scim):
    user = scim.post("/Users", azure_user()).json()

    results = bulk(
        scim,
        [
            {
                "method": "PATCH",
                "path": f"/Users/{user['id']}",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
                },
            },
            {
                "method": "PUT",
                "path": f"/Users/{user['id']}",
                "version": 'W/"1"',
                "data": azure_user(),
            },
            {"method": "DELETE", "path": f"/Users/{user['id']}"},
        ],
    ).json()["Operations"]

    assert [r["status"] for r in results] == ["200", "412", "204"]
    assert not ScimUser.objects.exists()


def test_unresolvable_bulk_id_is_an_operation_error(scim):
    results = bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": azure_group(members=[{"value": "bulkId:nope"}]),
            },
        ],
    ).json()["Operations"]

    assert results[0]["status"] == "409"
    assert "nope" in results[0]["response"]["detail"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"schemas": [BULK]}, 400, "Operations"),
        ({"schemas": [BULK], "Operations": [{"method": "GET", "path": "/Users"}]}, 200, None),
        ({"schemas": [BULK], "Operations": [{}] * 1001}, 413, "maximum"),
        (
            {
                "schemas": [BULK],
                "Operations": [{"method": "POST", "path": "/Users"}],
                "failOnErrors": 0,
            },
            400,
            "failOnErrors",
        ),
    ],
)
def test_bulk_bad_input(scim, body, status, detail):
    response = scim.post("/Bulk", body)

    assert response.status_code == status
    if detail:
        assert detail in response.json()["detail"]
    else:
        assert response.json()["Operations"][0]["status"] == "400"


def test_an_operation_with_a_non_string_bulk_id_or_a_version_fails_alone_with_400(scim):
    user = scim.post("/Users", azure_user()).json()

    results = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": {"a": 1},
                    "data": azure_user("b@c.d"),
                },
                {"method": "DELETE", "path": f"/Users/{user['id']}", "version": 5},
            ],
        },
    ).json()["Operations"]

    assert [r["status"] for r in results] == ["400", "400"]
    assert ScimUser.objects.count() == 1


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def chain(count: int, *, backwards: bool) -> list[dict]:
    """``count`` user creates, each naming the previous user (or, backwards, the next one in
    the request) as manager through its bulkId."""
    operations = []
    for n in range(count):
        manager = n + 1 if backwards else n - 1
        extra = {ENTERPRISE: {"manager": {"value": f"bulkId:u{manager}"}}}
        operations.append(
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"u{n}",
                "data": azure_user(f"u{n}@contoso.com", **(extra if 0 <= manager < count else {})),
            }
        )
    return operations


@pytest.fixture
def runs(monkeypatch):
    """How many times Bulk ran an operation (substituted its references and called a service)."""
    calls = []
    original = bulk_service._run

    def counting(operation, *args, **kwargs):
        calls.append(operation.get("bulkId"))
        return original(operation, *args, **kwargs)

    monkeypatch.setattr(bulk_service, "_run", counting)
    return calls


@pytest.mark.parametrize(("count", "backwards"), [(1_000, True), (200, False)])
def test_a_chain_of_bulk_ids_runs_each_operation_exactly_once(
    scim, settings, runs, count, backwards
):
    settings.SCIM_RATE_LIMIT_PER_SECOND = 0

    response = bulk(scim, chain(count, backwards=backwards))

    assert response.status_code == 200
    assert {r["status"] for r in response.json()["Operations"]} == {"201"}
    # Linear: one run per operation, in dependency order (a pass per link was quadratic).
    assert len(runs) == count
    assert runs[0] == (f"u{count - 1}" if backwards else "u0")
    managers = dict(
        ScimUser.objects.values_list("user_name", f"data__{ENTERPRISE}__manager__value")
    )
    ids = dict(ScimUser.objects.values_list("user_name", "id"))
    assert managers["u1@contoso.com"] == str(
        ids["u2@contoso.com" if backwards else "u0@contoso.com"]
    )


def test_results_keep_the_request_order_whatever_the_run_order(scim, runs):
    response = bulk(scim, chain(3, backwards=True))

    assert [r["bulkId"] for r in response.json()["Operations"]] == ["u0", "u1", "u2"]
    assert runs == ["u2", "u1", "u0"]


def test_circular_bulk_ids_are_409_and_the_rest_runs(scim, runs):
    group = {"method": "POST", "path": "/Groups"}

    response = bulk(
        scim,
        [
            {**group, "bulkId": "a", "data": azure_group("A", members=[{"value": "bulkId:b"}])},
            {**group, "bulkId": "b", "data": azure_group("B", members=[{"value": "bulkId:a"}])},
            {**group, "bulkId": "c", "data": azure_group("C", members=[{"value": "bulkId:a"}])},
            {**group, "bulkId": "d", "data": azure_group("D", members=[{"value": "bulkId:d"}])},
            {"method": "POST", "path": "/Users", "bulkId": "e", "data": azure_user()},
        ],
    )

    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["409", "409", "409", "409", "201"]
    assert all("circle" in r["response"]["detail"] for r in results[:4])
    assert runs == ["e"]
    assert not ScimGroupMember.objects.exists()


def test_a_reference_to_a_failed_post_is_409(scim):
    response = bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": azure_group(members=[{"value": "bulkId:u"}]),
            },
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": []}},
        ],
    )

    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["409", "400"]
    assert "'u'" in results[0]["response"]["detail"]


def test_a_bulk_id_declared_twice_is_400_for_the_second_post(scim):
    response = bulk(
        scim,
        [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": azure_user("a@c.com")},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": azure_user("b@c.com")},
        ],
    )

    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "400"]
    assert results[1]["response"]["scimType"] == "invalidValue"
    assert list(ScimUser.objects.values_list("user_name", flat=True)) == ["a@c.com"]


def test_fail_on_errors_counts_in_run_order(scim, runs):
    operations = chain(4, backwards=True)
    operations[3]["data"] = {"schemas": []}  # the first to run fails; u2 then cannot resolve

    response = bulk(scim, operations, failOnErrors=2)

    assert runs == ["u3", "u2"]
    assert [r["status"] for r in response.json()["Operations"]] == ["409", "400"]
