"""Deep pages start from remembered positions (``scim_api.paging``): they must be exactly the
pages a plain ``OFFSET`` gives, whatever was written in between, in every tenant.

Anchors are only used outside a transaction, so these tests commit (``transaction=True``). The
stride is made small, so that a few dozen users span several anchors."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from scim_api import paging
from scim_api.models import ScimResourceCount, ScimUser
from tests.factories import ScimGroupFactory, ScimTokenFactory, ScimUserFactory, TenantFactory
from tests.scim_api.support import ScimClient

pytestmark = pytest.mark.django_db(transaction=True)

STRIDE = 5


@pytest.fixture(autouse=True)
def small_stride(monkeypatch):
    monkeypatch.setattr(paging, "STRIDE", STRIDE)
    monkeypatch.setattr(paging, "REREAD_AFTER", 0.0)
    monkeypatch.setattr(paging, "REREAD_FACTOR", 0)
    paging.memory.clear()
    yield
    paging.memory.clear()


def users(tenant, n, *, start=None):
    """n users of ``tenant`` created a second apart from ``start`` (default: a day ago)."""
    start = start or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    built = ScimUserFactory.build_batch(n, tenant=tenant)
    for i, user in enumerate(built):
        user.created = user.last_modified = start + dt.timedelta(seconds=i)
    return ScimUser.objects.bulk_create(built)


def expected_ids(tenant):
    return [
        str(pk)
        for pk in ScimUser.objects.filter(tenant=tenant)
        .order_by("created", "id")
        .values_list("id", flat=True)
    ]


def page(scim, start, count=4):
    response = scim.get(f"/Users?startIndex={start}&count={count}")
    assert response.status_code == 200, response.content
    body = response.json()
    return [r["id"] for r in body.get("Resources", [])], body["totalResults"]


def assert_every_page(scim, count=4):
    expected = expected_ids(scim.tenant)
    for start in range(1, len(expected) + 3):
        ids, total = page(scim, start, count)
        assert ids == expected[start - 1 : start - 1 + count], start
        assert total == len(expected)


def test_every_deep_page_is_the_offset_page(scim):
    users(scim.tenant, 37)
    assert_every_page(scim)
    assert_every_page(scim, count=7)
    assert paging.memory.get((ScimUser, scim.tenant.pk)) is not None


def test_known_anchors_make_a_deep_page_one_statement_that_skips_little(scim):
    users(scim.tenant, 40)
    page(scim, 23)  # reads the anchors
    with CaptureQueriesContext(connection) as ctx:
        ids, total = page(scim, 33, count=3)
    assert ids == expected_ids(scim.tenant)[32:35]
    assert total == 40
    reads = [q["sql"] for q in ctx.captured_queries if "scim_api_scimuser" in q["sql"]]
    assert len(reads) == 1  # the page, its total, its groups and managers: one statement
    assert '("created", "id") >=' in reads[0]
    # Position 32 is 2 past the anchor at 30: the first 128 ids from there, then 3 from the 3rd.
    assert "LIMIT 128))[2::int + 1 : 2::int + 3::int]" in reads[0], reads[0]
    assert "row_number()" not in reads[0]


def test_an_insert_or_a_delete_between_two_pages_is_seen(scim):
    made = users(scim.tenant, 30)
    assert_every_page(scim)
    # A user that sorts among the first ones moves every later position by one...
    users(scim.tenant, 1, start=made[2].created + dt.timedelta(microseconds=1))
    assert_every_page(scim)
    # ...and so does a deletion.
    ScimUser.objects.filter(pk=made[7].pk).delete()
    assert_every_page(scim)
    scim.delete(f"/Users/{made[11].pk}")
    assert_every_page(scim)


def test_stale_anchors_are_not_read_again_within_a_second(scim, monkeypatch):
    monkeypatch.setattr(paging, "REREAD_AFTER", 3600.0)
    made = users(scim.tenant, 30)
    page(scim, 21)
    ScimUser.objects.filter(pk=made[0].pk).delete()
    with CaptureQueriesContext(connection) as ctx:
        ids, total = page(scim, 21)
    assert ids == expected_ids(scim.tenant)[20:24]
    assert total == 29
    assert not any("row_number()" in q["sql"] for q in ctx.captured_queries)


def test_a_page_read_inside_a_transaction_neither_uses_nor_keeps_anchors(scim):
    users(scim.tenant, 30)
    with transaction.atomic():
        users(scim.tenant, 3, start=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        ids, _ = page(scim, 21)
        assert ids == expected_ids(scim.tenant)[20:24]
        assert paging.memory.get((ScimUser, scim.tenant.pk)) is None
        transaction.set_rollback(True)
    assert_every_page(scim)


def test_tenants_keep_their_own_anchors(scim):
    other = TenantFactory(slug="other-anchors")
    other_scim = ScimClient(scim.client, other, ScimTokenFactory(tenant=other).plaintext)
    users(scim.tenant, 30)
    users(other, 26, start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert_every_page(scim)
    assert_every_page(other_scim)
    # A write in one tenant leaves the other's anchors good, and its pages right.
    kept = paging.memory.get((ScimUser, other.pk))
    ScimUser.objects.filter(tenant=scim.tenant).order_by("created")[:1].get().delete()
    assert_every_page(other_scim)
    assert paging.memory.get((ScimUser, other.pk)) is kept
    assert_every_page(scim)
    assert not set(expected_ids(scim.tenant)) & set(expected_ids(other))


def test_group_pages_use_anchors_too(scim):
    groups = ScimGroupFactory.build_batch(23, tenant=scim.tenant)
    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    for i, group in enumerate(groups):
        group.created = group.last_modified = start + dt.timedelta(seconds=i)
    type(groups[0]).objects.bulk_create(groups)
    expected = [str(g.id) for g in sorted(groups, key=lambda g: (g.created, g.id))]
    for start_index in range(1, 25):
        body = scim.get(f"/Groups?startIndex={start_index}&count=3").json()
        assert [r["id"] for r in body.get("Resources", [])] == expected[
            start_index - 1 : start_index + 2
        ]
        assert body["totalResults"] == 23


def test_a_user_page_still_shows_groups_and_manager_names(scim):
    made = users(scim.tenant, 12)
    boss = made[0]
    boss.display_name = "The Boss"
    boss.save()
    worker = made[9]
    worker.data = {
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": {"value": str(boss.id)}
        }
    }
    worker.save()
    group = scim.post(
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Crew",
            "members": [{"value": str(worker.id)}],
        },
    ).json()
    page(scim, 7)  # anchors read
    body = scim.get("/Users?startIndex=8&count=5").json()
    shown = {r["id"]: r for r in body["Resources"]}
    assert shown[str(worker.id)]["groups"] == [
        {
            "value": group["id"],
            "$ref": f"{scim.tenant.scim_base_url}/Groups/{group['id']}",
            "display": "Crew",
            "type": "direct",
        }
    ]
    manager = shown[str(worker.id)]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"][
        "manager"
    ]
    assert manager == {
        "value": str(boss.id),
        "$ref": f"{scim.tenant.scim_base_url}/Users/{boss.id}",
        "displayName": "The Boss",
    }


def test_the_sum_of_writes_only_grows(scim):
    made = users(scim.tenant, 4)

    def writes():
        return sum(
            ScimResourceCount.objects.filter(tenant_id=scim.tenant.pk).values_list(
                "writes", flat=True
            )
        )

    before = writes()
    ScimUser.objects.filter(pk=made[0].pk).delete()
    after_delete = writes()
    users(scim.tenant, 1)
    after_insert = writes()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE scim_api_scimuser CASCADE")
    after_truncate = writes()
    assert before < after_delete < after_insert < after_truncate
    assert ScimUser.objects.filter(tenant=scim.tenant).count() == 0
    assert page(scim, 1) == ([], 0)


def test_pages_under_concurrent_writes_are_never_wrong_once_writes_stop(scim):
    """Writers insert and delete on their own connections while pages are read; a page read
    during the writes is some page of the moving list, and once they stop every page is
    exact again (no anchor outlives the rows it was read from)."""
    made = users(scim.tenant, 40)
    errors = []
    stop = threading.Event()

    def writer():
        try:
            i = 0
            while not stop.is_set():
                i += 1
                fresh = users(scim.tenant, 1, start=made[i % 40].created)
                ScimUser.objects.filter(pk=fresh[0].pk).delete()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for start in range(1, 41, 3):
            ids, total = page(scim, start)
            assert total in (40, 41)
            assert len(ids) == min(4, total - start + 1)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert_every_page(scim)


def test_a_slow_reading_of_anchors_is_not_repeated_soon(monkeypatch):
    monkeypatch.setattr(paging, "REREAD_FACTOR", 20)
    anchors = paging.Anchors(version="1@now", stride=STRIDE, keys=())
    paging.memory.put("slow", anchors, took=60.0)  # a 60 s scan: not again for 20 minutes
    paging.memory.put("quick", anchors, took=0.0)
    assert not paging.memory.may_read("slow")
    assert paging.memory.may_read("quick")
    assert paging.memory.may_read("never read")


def test_anchors_from_before_a_database_server_restart_are_not_trusted(scim):
    """A database restored from a backup can reach the remembered sum of writes again with
    other rows; it has restarted since, and the server's start time is part of what is
    compared."""
    users(scim.tenant, 30)
    page(scim, 21)
    key = (ScimUser, scim.tenant.pk)
    remembered = paging.memory.get(key)
    writes, _, started = remembered.version.partition("@")
    assert started  # the server's start time is there
    # The same sum, another server start: what a restored database would show.
    paging.memory.put(
        key,
        paging.Anchors(f"{writes}@1999-01-01 00:00:00+00", remembered.stride, remembered.keys),
        took=0.0,
    )
    with CaptureQueriesContext(connection) as ctx:
        ids, _ = page(scim, 21)
    assert ids == expected_ids(scim.tenant)[20:24]
    assert any("row_number()" in q["sql"] for q in ctx.captured_queries)  # read again
    assert paging.memory.get(key).version == remembered.version


def test_the_page_statement_is_planned_once_per_connection(scim):
    """A prepared page statement whose generic plan PostgreSQL judges no dearer than a custom one
    is not planned again on each request (``paging.REACHES``). With a parameter for its LIMIT,
    the planner took a tenth of the tenant's rows for the page, and with 100,000 users planned
    every run again (seen with ``bench/``'s population; here the statement's shape is checked
    by ``test_known_anchors_make_a_deep_page_one_statement_that_skips_little``)."""
    users(scim.tenant, 40)
    for start in (1, 3, 9, 2, 7, 1, 12, 4, 8, 5, 6, 11):
        page(scim, start)
    for start in range(13, 38):  # anchored pages
        page(scim, start)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH page_ids AS%%'"
        )
        plans = cursor.fetchall()

    assert plans, "the page statements are prepared"
    assert max(generic for generic, _ in plans) >= 10, plans
    # PostgreSQL plans a prepared statement's first five runs for their values.
    assert all(custom <= 5 for _, custom in plans), plans
