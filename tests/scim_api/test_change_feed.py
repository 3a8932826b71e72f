"""The change feed: every SCIM write leaves its rows, in words, in the same transaction; a write
that fails or changes nothing leaves none."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from elium_portal.models import ScimToken
from scim_api.feed import change_sentence
from scim_api.models import ScimChange, ScimRequestLog
from tests.factories import ScimGroupFactory, ScimUserFactory, azure_group, azure_user

pytestmark = pytest.mark.django_db

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def patch(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def sentences(tenant=None):
    rows = ScimChange.objects.all() if tenant is None else ScimChange.objects.for_tenant(tenant)
    return [change_sentence(row) for row in rows.order_by("id")]


def new_sentences(since: int, tenant=None):
    return sentences(tenant)[since:]


def create_alice(scim, **extra):
    body = azure_user("alice@contoso.com", displayName="Alice Smith", title="Analyst", **extra)
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_is_recorded_with_token_prefix_and_client_request_id(scim, tenant):
    request_id = str(uuid.uuid4())

    response = scim.post(
        "/Users",
        azure_user("alice@contoso.com", displayName="Alice Smith"),
        headers={"client-request-id": request_id},
    )

    assert response.status_code == 201
    row = ScimChange.objects.get()
    token = ScimToken.objects.get(tenant=tenant)
    assert change_sentence(row) == "Azure AD created Alice Smith"
    assert row.tenant == tenant
    assert row.object_type == "user"
    assert str(row.object_id) == response.json()["id"]
    assert row.user_name == "alice@contoso.com"
    assert row.token_prefix == token.display_prefix
    assert str(row.request_id) == request_id


def test_without_a_client_request_id_the_feed_shares_the_request_logs_id(scim, tenant):
    tenant.scim_request_log_level = "all"
    tenant.save()

    response = scim.post("/Users", azure_user("alice@contoso.com"))

    row = ScimChange.objects.get()
    assert str(row.request_id) == response["X-Request-Id"]
    assert ScimRequestLog.objects.get(method="POST").request_id == row.request_id


def test_name_falls_back_to_the_formatted_name_then_the_user_name(scim):
    scim.post("/Users", azure_user("alice@contoso.com"))  # name.formatted "Alice Smith"
    scim.post("/Users", {"userName": "bare@contoso.com"})

    assert sentences() == ["Azure AD created Alice Smith", "Azure AD created bare@contoso.com"]


def test_patch_replace_in_the_default_dialect_is_recorded_as_words(scim):
    alice = create_alice(scim)

    response = scim.patch(
        f"/Users/{alice['id']}",
        patch({"op": "Replace", "path": "title", "value": "Manager"}),
    )

    assert response.status_code == 200
    row = ScimChange.objects.latest("id")
    assert change_sentence(row) == (
        "Azure AD changed Alice Smith's job title from Analyst to Manager"
    )
    assert row.kind == "user_updated"
    assert row.changes == [{"attribute": "title", "old": "Analyst", "new": "Manager"}]


def test_azure_string_false_deactivates_and_true_reactivates(scim):
    alice = create_alice(scim)

    scim.patch(
        f"/Users/{alice['id']}", patch({"op": "Replace", "path": "active", "value": "False"})
    )
    scim.patch(f"/Users/{alice['id']}", patch({"op": "Replace", "path": "active", "value": "True"}))

    assert new_sentences(1) == [
        "Azure AD deactivated Alice Smith",
        "Azure AD reactivated Alice Smith",
    ]
    assert list(ScimChange.objects.order_by("id").values_list("kind", flat=True))[1:] == [
        "user_deactivated",
        "user_reactivated",
    ]


def test_flag_dialect_flat_key_replace_records_each_attribute(scim):
    alice = create_alice(scim, **{ENTERPRISE: {"department": "Sales"}})

    scim.patch(
        f"/Users/{alice['id']}?aadOptscim062020",
        patch(
            {
                "op": "replace",
                "value": {
                    "active": False,
                    "name.givenName": "Alicia",
                    f"{ENTERPRISE}:department": "Finance",
                },
            }
        ),
    )

    assert new_sentences(1) == [
        "Azure AD deactivated Alice Smith",
        "Azure AD changed Alice Smith's first name from Alice to Alicia and department from "
        "Sales to Finance",
    ]


def test_put_records_what_changed(scim):
    alice = create_alice(scim)
    body = azure_user(
        "alice@contoso.com",
        displayName="Alice Smith",
        title="Manager",
        phoneNumbers=[{"type": "mobile", "value": "+1 555 0100"}],
    )

    scim.put(f"/Users/{alice['id']}", body)

    assert new_sentences(1) == [
        "Azure AD changed Alice Smith's job title from Analyst to Manager and mobile phone to "
        "+1 555 0100"
    ]


def test_removed_value_reads_as_none(scim):
    alice = create_alice(scim)

    scim.patch(f"/Users/{alice['id']}", patch({"op": "Remove", "path": "title"}))

    assert new_sentences(1) == ["Azure AD changed Alice Smith's job title from Analyst to (none)"]


def test_manager_changes_are_recorded_by_name(scim):
    grace = scim.post("/Users", azure_user("grace@contoso.com", displayName="Grace Hopper")).json()
    bob = scim.post("/Users", azure_user("bob@contoso.com", displayName="Bob Jones")).json()
    alice = create_alice(scim)

    for manager in (grace, bob):
        scim.patch(
            f"/Users/{alice['id']}",
            patch({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager["id"]}),
        )
    scim.patch(f"/Users/{alice['id']}", patch({"op": "Remove", "path": f"{ENTERPRISE}:manager"}))

    assert new_sentences(3) == [
        "Azure AD changed Alice Smith's manager to Grace Hopper",
        "Azure AD changed Alice Smith's manager from Grace Hopper to Bob Jones",
        "Azure AD changed Alice Smith's manager from Bob Jones to (none)",
    ]


def test_a_password_change_is_recorded_without_the_password(scim):
    alice = create_alice(scim)

    scim.patch(
        f"/Users/{alice['id']}",
        patch({"op": "Replace", "path": "password", "value": "S3cret-Pa55word!"}),
    )

    row = ScimChange.objects.latest("id")
    assert change_sentence(row) == "Azure AD changed Alice Smith's password"
    assert row.changes == [{"attribute": "password"}]
    assert "S3cret" not in str(ScimChange.objects.values_list())


def test_delete_is_recorded_with_the_name_it_had(scim):
    bob = scim.post("/Users", azure_user("bob@contoso.com", displayName="Bob Jones")).json()

    assert scim.delete(f"/Users/{bob['id']}").status_code == 204

    assert new_sentences(1) == ["Azure AD deleted Bob Jones"]
    assert ScimChange.objects.latest("id").object_id == uuid.UUID(bob["id"])


def test_group_lifecycle_in_words(scim):
    alice = create_alice(scim)
    bob = scim.post("/Users", azure_user("bob@contoso.com", displayName="Bob Jones")).json()
    group = scim.post("/Groups", azure_group("Finance", members=[{"value": alice["id"]}])).json()
    gid = group["id"]

    scim.patch(
        f"/Groups/{gid}",
        patch({"op": "Add", "path": "members", "value": [{"value": bob["id"]}]}),
    )
    # Azure AD's default dialect removes by a value list; the flag dialect by a filter.
    scim.patch(
        f"/Groups/{gid}",
        patch({"op": "Remove", "path": "members", "value": [{"value": alice["id"]}]}),
    )
    scim.patch(
        f"/Groups/{gid}?aadOptscim062020",
        patch({"op": "remove", "path": f'members[value eq "{bob["id"]}"]'}),
    )
    scim.patch(
        f"/Groups/{gid}", patch({"op": "Replace", "path": "displayName", "value": "Contractors"})
    )
    scim.delete(f"/Groups/{gid}")

    assert new_sentences(2) == [
        "Azure AD created group Finance",
        "Azure AD added Alice Smith to Finance",
        "Azure AD added Bob Jones to Finance",
        "Azure AD removed Alice Smith from Finance",
        "Azure AD removed Bob Jones from Finance",
        "Azure AD renamed group Finance to Contractors",
        "Azure AD deleted group Contractors",
    ]
    member_rows = ScimChange.objects.filter(kind__startswith="member")
    assert {r.group_id for r in member_rows} == {uuid.UUID(gid)}


def test_a_nested_group_member_is_named_as_a_group(scim):
    parent = scim.post("/Groups", azure_group("All staff")).json()
    child = scim.post("/Groups", azure_group("Finance", externalId="x")).json()

    scim.patch(
        f"/Groups/{parent['id']}",
        patch({"op": "Add", "path": "members", "value": [{"value": child["id"]}]}),
    )

    assert new_sentences(2) == ["Azure AD added group Finance to All staff"]


def test_put_group_records_the_members_it_replaced(scim):
    alice = create_alice(scim)
    bob = scim.post("/Users", azure_user("bob@contoso.com", displayName="Bob Jones")).json()
    group = scim.post("/Groups", azure_group("Finance", members=[{"value": alice["id"]}])).json()

    scim.put(f"/Groups/{group['id']}", azure_group("Finance", members=[{"value": bob["id"]}]))

    assert new_sentences(4) == [
        "Azure AD removed Alice Smith from Finance",
        "Azure AD added Bob Jones to Finance",
    ]


def test_a_patch_that_changes_nothing_writes_nothing(scim):
    alice = create_alice(scim)
    group = scim.post("/Groups", azure_group("Finance", members=[{"value": alice["id"]}])).json()
    before = ScimChange.objects.count()

    same_title = scim.patch(
        f"/Users/{alice['id']}", patch({"op": "Replace", "path": "title", "value": "Analyst"})
    )
    already_member = scim.patch(
        f"/Groups/{group['id']}",
        patch({"op": "Add", "path": "members", "value": [{"value": alice["id"]}]}),
    )
    not_a_member = scim.patch(
        f"/Groups/{group['id']}",
        patch({"op": "Remove", "path": f'members[value eq "{uuid.uuid4()}"]'}),
    )
    same_put = scim.put(
        f"/Users/{alice['id']}",
        azure_user("alice@contoso.com", displayName="Alice Smith", title="Analyst"),
    )

    assert [r.status_code for r in (same_title, already_member, not_a_member, same_put)] == [
        200,
        204,
        204,
        200,
    ]
    assert ScimChange.objects.count() == before


def test_failed_writes_leave_no_row(scim):
    alice = create_alice(scim)
    group = scim.post("/Groups", azure_group("Finance")).json()
    before = ScimChange.objects.count()

    duplicate = scim.post("/Users", azure_user("alice@contoso.com"))
    bad_manager = scim.patch(
        f"/Users/{alice['id']}",
        patch(
            {"op": "Replace", "path": "title", "value": "Boss"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": str(uuid.uuid4())},
        ),
    )
    # The first member is fine, the second unknown: the whole PATCH is refused.
    bad_member = scim.patch(
        f"/Groups/{group['id']}",
        patch(
            {"op": "Replace", "path": "displayName", "value": "Renamed"},
            {
                "op": "Add",
                "path": "members",
                "value": [{"value": alice["id"]}, {"value": str(uuid.uuid4())}],
            },
        ),
    )
    clash = scim.post("/Groups", azure_group("Other", externalId="y")).json()
    rename_clash = scim.patch(
        f"/Groups/{clash['id']}",
        patch({"op": "Replace", "path": "displayName", "value": "finance"}),
    )

    assert [r.status_code for r in (duplicate, bad_manager, bad_member, rename_clash)] == [
        409,
        400,
        400,
        409,
    ]
    assert sentences()[before:] == ["Azure AD created group Other"]


def test_bulk_writes_each_operations_rows_and_none_for_a_failed_one(scim):
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "a",
                    "data": azure_user("alice@contoso.com", displayName="Alice Smith"),
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g",
                    "data": azure_group("Finance", members=[{"value": "bulkId:a"}]),
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "dup",
                    "data": azure_user("alice@contoso.com"),
                },
            ],
        },
        headers={"client-request-id": "6f2a1e0e-2a52-4d47-a2ad-7d0d6c0a3b11"},
    )

    assert [op["status"] for op in response.json()["Operations"]] == ["201", "201", "409"]
    assert sentences() == [
        "Azure AD created Alice Smith",
        "Azure AD created group Finance",
        "Azure AD added Alice Smith to Finance",
    ]
    assert {str(r) for r in ScimChange.objects.values_list("request_id", flat=True)} == {
        "6f2a1e0e-2a52-4d47-a2ad-7d0d6c0a3b11"
    }


def test_another_tenants_writes_stay_in_its_own_feed(scim, other_scim, tenant):
    create_alice(scim)
    other_scim.post("/Users", azure_user("victim@other.com", displayName="Victim"))

    assert sentences(tenant) == ["Azure AD created Alice Smith"]
    assert sentences(other_scim.tenant) == ["Azure AD created Victim"]


def add_members_queries(scim, group_id, users):
    with CaptureQueriesContext(connection) as ctx:
        response = scim.patch(
            f"/Groups/{group_id}",
            patch({"op": "Add", "path": "members", "value": [{"value": u} for u in users]}),
        )
    assert response.status_code == 204
    return len(ctx.captured_queries)


def test_adding_n_members_costs_the_same_queries_as_adding_one(scim):
    scim.get("/ServiceProviderConfig")  # the token's first use writes its bookkeeping once
    tenant = scim.tenant
    few = [str(u.id) for u in ScimUserFactory.create_batch(1, tenant=tenant)]
    many = [str(u.id) for u in ScimUserFactory.create_batch(50, tenant=tenant)]
    first, second = ScimGroupFactory(tenant=tenant), ScimGroupFactory(tenant=tenant)

    one = add_members_queries(scim, first.id, few)
    fifty = add_members_queries(scim, second.id, many)

    assert one == fifty
    assert ScimChange.objects.filter(kind="member_added", group_id=second.id).count() == 50
