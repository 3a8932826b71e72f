"""A page's totalResults comes from trigger-kept per-tenant counts (``ScimResourceCount``), and
deep pages find their rows through the page-order index: both must give exactly what
``COUNT(*)`` and the ORM's ordering give, whatever wrote the rows."""

import threading

import psycopg
import pytest
from django.db import connection, transaction

from scim_api.models import ScimGroup, ScimResourceCount, ScimUser
from scim_api.selectors import resource_total
from tests.factories import ScimGroupFactory, ScimTokenFactory, ScimUserFactory, TenantFactory
from tests.scim_api.support import ScimClient

pytestmark = pytest.mark.django_db

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def assert_exact(*tenants):
    for tenant in tenants:
        assert (
            resource_total(ScimUser, tenant=tenant)
            == ScimUser.objects.filter(tenant=tenant).count()
        )
        assert (
            resource_total(ScimGroup, tenant=tenant)
            == ScimGroup.objects.filter(tenant=tenant).count()
        )


def user(name):
    return {"schemas": [CORE_USER], "userName": name, "active": True}


def test_counts_follow_every_kind_of_write(scim, other_scim):
    tenant, other = scim.tenant, other_scim.tenant
    assert resource_total(ScimUser, tenant=tenant) == 0

    ids = [scim.post("/Users", user(f"u{i}@x.com")).json()["id"] for i in range(5)]
    other_scim.post("/Users", user("o@x.com"))
    group = scim.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "G"}).json()["id"]
    assert_exact(tenant, other)
    assert resource_total(ScimUser, tenant=tenant) == 5

    scim.delete(f"/Users/{ids[0]}")
    scim.delete(f"/Users/{ids[0]}")  # a second DELETE is a 404 and counts nothing
    scim.delete(f"/Groups/{group}")
    assert resource_total(ScimUser, tenant=tenant) == 4
    assert resource_total(ScimGroup, tenant=tenant) == 0

    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("b1@x.com")},
                # A duplicate userName fails on its own and writes nothing.
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("u1@x.com")},
                {"method": "DELETE", "path": f"/Users/{ids[1]}"},
            ],
        },
    )
    assert response.status_code == 200
    assert resource_total(ScimUser, tenant=tenant) == 4

    # Writes that bypass the API: the ORM's bulk insert and a queryset delete.
    ScimUser.objects.bulk_create(ScimUserFactory.build_batch(30, tenant=tenant))
    ScimGroup.objects.bulk_create(ScimGroupFactory.build_batch(3, tenant=tenant))
    ScimUser.objects.filter(tenant=tenant, user_name__startswith="u").delete()
    assert_exact(tenant, other)
    assert resource_total(ScimUser, tenant=other) == 1


def test_a_rolled_back_write_counts_nothing(scim):
    scim.post("/Users", user("a@x.com"))

    class Abandon(Exception):
        pass

    def abandoned_write():
        with transaction.atomic():
            ScimUser.objects.bulk_create(ScimUserFactory.build_batch(7, tenant=scim.tenant))
            assert resource_total(ScimUser, tenant=scim.tenant) == 8  # seen inside, at once
            raise Abandon

    with pytest.raises(Abandon):
        abandoned_write()
    assert_exact(scim.tenant)
    assert resource_total(ScimUser, tenant=scim.tenant) == 1


def test_deleting_a_tenant_removes_its_counts(scim, other_scim):
    scim.post("/Users", user("a@x.com"))
    other_scim.post("/Users", user("b@x.com"))
    tenant_id = scim.tenant.pk
    scim.tenant.delete()

    assert not ScimResourceCount.objects.filter(tenant_id=tenant_id).exists()
    assert resource_total(ScimUser, tenant=other_scim.tenant) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_in_one_tenant_keep_the_count_exact():
    """Writers on their own connections, committing and rolling back at the same time, each
    add to their own slot; the sum is exactly the committed rows."""
    tenant = TenantFactory(slug="busy")
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    errors = []

    def writer(k, commit):
        try:
            with psycopg.connect(**params) as conn:
                for i in range(20):
                    conn.execute(
                        "INSERT INTO scim_api_scimuser (id, tenant_id, user_name, display_name, "
                        "active, data, password, created, last_modified, version) VALUES "
                        "(gen_random_uuid(), %s, %s, '', true, '{}', '', now(), now(), 1)",
                        [tenant.pk, f"w{k}-{i}@x.com"],
                    )
                if commit:
                    conn.commit()
                else:
                    conn.rollback()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(k, k % 3 != 0)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert resource_total(ScimUser, tenant=tenant) == 4 * 20
    assert_exact(tenant)
    assert ScimResourceCount.objects.filter(tenant_id=tenant.pk).count() >= 1


@pytest.mark.django_db(transaction=True)
def test_truncate_resets_the_counts():
    tenant = TenantFactory(slug="trunc")
    ScimUser.objects.bulk_create(ScimUserFactory.build_batch(3, tenant=tenant))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE scim_api_scimuser CASCADE")
    assert resource_total(ScimUser, tenant=tenant) == 0
    assert_exact(tenant)


def test_pages_match_the_orm_order_and_total(scim):
    """Every page, deep ones included, is the ORM's ``(created, id)`` order sliced, and its
    totalResults the tenant's count; another tenant's users appear nowhere."""
    tenant = scim.tenant
    ScimUser.objects.bulk_create(ScimUserFactory.build_batch(57, tenant=tenant))
    other = TenantFactory(slug="elsewhere")
    ScimUser.objects.bulk_create(ScimUserFactory.build_batch(20, tenant=other))
    expected = [
        str(pk)
        for pk in ScimUser.objects.for_tenant(tenant)
        .order_by("created", "id")
        .values_list("id", flat=True)
    ]

    seen = []
    for start in range(1, 58, 10):
        body = scim.get(f"/Users?startIndex={start}&count=10").json()
        assert body["totalResults"] == 57
        assert body["startIndex"] == start
        page = [r["id"] for r in body["Resources"]]
        assert page == expected[start - 1 : start + 9]
        seen += page
    assert seen == expected
    beyond = scim.get("/Users?startIndex=58&count=10").json()
    assert beyond.get("Resources", []) == []
    assert beyond["totalResults"] == 57


def test_another_tenants_token_sees_its_own_total(scim):
    ScimUser.objects.bulk_create(ScimUserFactory.build_batch(12, tenant=scim.tenant))
    other = TenantFactory(slug="someone")
    other_client = ScimClient(scim.client, other, ScimTokenFactory(tenant=other).plaintext)
    body = other_client.get("/Users?startIndex=1&count=5").json()
    assert body["totalResults"] == 0
    body = scim.get("/Users?startIndex=6&count=5").json()
    assert body["totalResults"] == 12
