"""Settings › People › Provisioning activity: the change feed for tenant admins, its filters,
keyset pages, CSV, retention — and never a row of another tenant."""

import csv
import datetime as dt
import io
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from elium_portal.models import Membership
from scim_api.models import ScimChange
from scim_api.services.feed import scim_change_feed_prune
from scim_api.tasks import prune_change_feed
from tests.factories import MembershipFactory, ScimChangeFactory, azure_group, azure_user

pytestmark = pytest.mark.django_db

PAGE = "/t/acme/settings/provisioning-activity/"
EXPORT = "/t/acme/settings/provisioning-activity/export.csv"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def admin_client(client, tenant):
    membership = MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN)
    client.force_login(membership.user)
    return client


def seed(scim):
    alice = scim.post("/Users", azure_user("alice@contoso.com", displayName="Alice Smith")).json()
    scim.post("/Users", azure_user("bob@contoso.com", displayName="Bob Jones"))
    group = scim.post("/Groups", azure_group("Finance")).json()
    scim.patch(
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": alice["id"]}]}],
        },
    )
    return alice, group


def page_text(client, url=PAGE):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_admins_see_the_feed_in_words(scim, admin_client):
    seed(scim)

    text = page_text(admin_client)

    for sentence in (
        "Azure AD created Alice Smith",
        "Azure AD created Bob Jones",
        "Azure AD created group Finance",
        "Azure AD added Alice Smith to Finance",
    ):
        assert sentence in text
    assert "Provisioning activity</a>" in text  # the PEOPLE entry of the settings menu


def test_members_who_are_not_admins_get_403_and_no_menu_entry(scim, client, tenant):
    seed(scim)
    membership = MembershipFactory(tenant=tenant, role=Membership.Role.MEMBER)
    client.force_login(membership.user)

    assert client.get(PAGE).status_code == 403
    assert client.get(EXPORT).status_code == 403
    assert "Provisioning activity" not in client.get("/t/acme/settings/people/").content.decode()


def test_an_admin_of_another_tenant_gets_nothing_of_this_one(scim, other_scim, client):
    alice, group = seed(scim)
    other_scim.post("/Users", azure_user("own@other.com", displayName="Own Person"))
    outsider = MembershipFactory(tenant=other_scim.tenant, role=Membership.Role.ADMIN)
    client.force_login(outsider.user)
    acme_row = ScimChange.objects.filter(tenant=scim.tenant).first()

    # Their own feed has their row only, whatever the filter names.
    own = page_text(client, "/t/other/settings/provisioning-activity/")
    assert "Own Person" in own
    assert "Alice" not in own
    for q in (alice["id"], group["id"], str(acme_row.request_id), "alice", "Finance"):
        assert "Alice" not in page_text(client, f"/t/other/settings/provisioning-activity/?q={q}")
        rows = csv_rows(client.get(f"/t/other/settings/provisioning-activity/export.csv?q={q}"))
        assert rows[1:] == []
    # A cursor of the other tenant's row shows only their rows, never the row itself.
    cursor = f"{acme_row.created_at.isoformat()}~{acme_row.id + 1}"
    tampered = page_text(client, f"/t/other/settings/provisioning-activity/?before={cursor}")
    assert "Alice" not in tampered
    # And this tenant's pages do not exist for them.
    assert client.get(PAGE).status_code == 404
    assert client.get(EXPORT).status_code == 404
    everything = csv_rows(client.get("/t/other/settings/provisioning-activity/export.csv"))
    assert [r[5] for r in everything[1:]] == ["Own Person"]


@pytest.mark.parametrize(
    ("q", "shown", "hidden"),
    [
        ("alice", ["created Alice Smith", "added Alice Smith to Finance"], ["Bob Jones"]),
        ("ALICE@CONTOSO", ["created Alice Smith"], ["Bob Jones"]),  # userName, any case
        ("bob j", ["created Bob Jones"], ["Alice Smith"]),
        ("finance", ["created group Finance", "added Alice Smith to Finance"], ["Bob Jones"]),
        ("smith", [], ["Alice Smith", "Bob Jones"]),  # a beginning, not any part
    ],
)
def test_search_by_the_beginning_of_a_name_or_username(scim, admin_client, q, shown, hidden):
    seed(scim)

    text = page_text(admin_client, f"{PAGE}?q={q}")

    for sentence in shown:
        assert sentence in text
    for name in hidden:
        assert name not in text


def test_search_by_id_finds_a_persons_and_a_groups_changes(scim, admin_client):
    alice, group = seed(scim)

    by_person = page_text(admin_client, f"{PAGE}?q={alice['id']}")
    by_group = page_text(admin_client, f"{PAGE}?q={group['id']}")

    assert "created Alice Smith" in by_person
    assert "added Alice Smith to Finance" in by_person
    assert "Bob" not in by_person
    assert "created group Finance" in by_group
    assert "added Alice Smith to Finance" in by_group
    assert "created Alice Smith" not in by_group


def test_filter_by_kind_and_dates(scim, admin_client, tenant, clock):
    clock.current = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    ScimChangeFactory(tenant=tenant, object_name="March Person")
    clock.current = dt.datetime(2026, 4, 2, 23, 30, tzinfo=dt.UTC)
    ScimChangeFactory(tenant=tenant, object_name="April Person")
    ScimChangeFactory(tenant=tenant, object_name="Gone Person", kind="user_deleted")

    april = page_text(admin_client, f"{PAGE}?since=2026-04-01&until=2026-04-02")
    march = page_text(admin_client, f"{PAGE}?until=2026-03-31")
    deleted = page_text(admin_client, f"{PAGE}?kind=user_deleted")

    assert "April Person" in april
    assert "March Person" not in april
    assert "March Person" in march
    assert "April Person" not in march
    assert "deleted Gone Person" in deleted
    assert "April Person" not in deleted


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-13-01", "From: Enter a valid date."),
        ("since=2026-05-01&until=2026-04-01", "To: The end date is before the start date."),
        ("kind=dropped", "Change: Select a valid choice."),
        ("q=" + "x" * 201, "Person or group: Ensure this value has at most 200 characters"),
    ],
)
def test_bad_filters_get_clear_errors_not_a_500(scim, admin_client, query, message):
    seed(scim)

    response = admin_client.get(f"{PAGE}?{query}")
    export = admin_client.get(f"{EXPORT}?{query}")

    assert response.status_code == 200
    assert message in response.content.decode()
    assert export.status_code == 400
    assert message in export.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "before=garbage",
        "after=2026-01-01~x",
        "before=2026-01-01T00:00:00~5",
        "q=%00",
        "until=9999-12-31",
        "since=0001-01-01",
        "before=0001-01-01T00:00:00%2B14:00~1",
        "after=9999-12-31T23:59:59-14:00~9223372036854775806",
        "kind=user_created&kind=x",
    ],
)
def test_odd_page_links_never_fail(scim, admin_client, query):
    seed(scim)

    response = admin_client.get(f"{PAGE}?{query}")
    export = admin_client.get(f"{EXPORT}?{query}")

    assert response.status_code == 200
    if export.status_code == 400:  # a bad filter (a NUL, an unknown kind): said in words
        assert export.content.decode().startswith("Invalid filter: ")
    else:
        assert export.status_code == 200
        b"".join(export.streaming_content)


def test_keyset_pages_walk_the_whole_feed_both_ways(admin_client, tenant, clock):
    for i in range(120):
        clock.advance(seconds=1)
        ScimChangeFactory(tenant=tenant, object_name=f"P{i:03d}")
    # Rows of one instant are ordered by id.
    ScimChangeFactory.create_batch(3, tenant=tenant, object_name="Same")

    first = admin_client.get(PAGE)
    second = admin_client.get(PAGE + first.context["older_url"])
    third = admin_client.get(PAGE + second.context["older_url"])
    back = admin_client.get(PAGE + third.context["newer_url"])

    shown = [
        [row.object_name for row, _ in response.context["rows"]]
        for response in (first, second, third)
    ]
    assert [len(s) for s in shown] == [50, 50, 23]
    assert shown[0][:3] == ["Same", "Same", "Same"]
    assert shown[0][3] == "P119"
    everything = [n for page in shown for n in page if n != "Same"]
    assert everything == [f"P{i:03d}" for i in reversed(range(120))]
    assert third.context["older_url"] is None
    assert first.context["newer_url"] is None
    assert [row.object_name for row, _ in back.context["rows"]] == shown[1]


def count_page_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_a_page_costs_the_same_queries_whatever_the_feed_size(admin_client, tenant):
    ScimChangeFactory.create_batch(3, tenant=tenant)
    admin_client.get(PAGE)  # the session's first use
    small = count_page_queries(admin_client, PAGE)
    ScimChangeFactory.create_batch(150, tenant=tenant)
    large = count_page_queries(admin_client, PAGE)
    older = admin_client.get(PAGE).context["older_url"]
    deep = count_page_queries(admin_client, PAGE + older)
    filtered = count_page_queries(admin_client, f"{PAGE}?q=person&kind=user_created")

    assert small == large == deep == filtered
    # session, user, tenant + membership (twice: admin check, then the member mixin), the page
    assert large <= 7
    with CaptureQueriesContext(connection) as ctx:
        admin_client.get(PAGE)
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)


def test_csv_has_every_matching_row_and_escapes_formulas(scim, admin_client, tenant):
    seed(scim)
    ScimChangeFactory(
        tenant=tenant,
        kind="user_updated",
        object_name='=HYPERLINK("http://evil")',
        changes=[{"attribute": "title", "old": "Analyst", "new": "@SUM(1)"}],
    )

    rows = csv_rows(admin_client.get(EXPORT))
    filtered = csv_rows(admin_client.get(f"{EXPORT}?q=alice"))

    header, *body = rows
    assert header[:3] == ["Time (UTC)", "Activity", "Change"]
    assert len(body) == 5
    evil = body[0]
    assert evil[1].startswith("Azure AD changed =HYPERLINK")  # starts with the actor: safe
    assert evil[5] == '\'=HYPERLINK("http://evil")'
    assert evil[9] == "job title: Analyst → @SUM(1)"
    assert [r[1] for r in filtered[1:]] == [
        "Azure AD added Alice Smith to Finance",
        "Azure AD created Alice Smith",
    ]
    assert all(uuid.UUID(r[11]) for r in body)


def test_prune_drops_rows_past_the_retention_in_batches(tenant, clock, settings):
    settings.SCIM_CHANGE_FEED_DAYS = 90
    ScimChangeFactory.create_batch(7, tenant=tenant, created_at=clock() - dt.timedelta(days=91))
    kept = ScimChangeFactory(tenant=tenant, created_at=clock() - dt.timedelta(days=89))

    with CaptureQueriesContext(connection) as ctx:
        deleted = scim_change_feed_prune(batch_size=3)

    assert deleted == 7
    assert list(ScimChange.objects.all()) == [kept]
    assert sum("DELETE" in q["sql"] for q in ctx.captured_queries) == 3  # 3 + 3 + 1


def test_the_periodic_task_prunes_with_the_setting(tenant, clock, settings):
    settings.SCIM_CHANGE_FEED_DAYS = 10
    ScimChangeFactory(tenant=tenant, created_at=clock() - dt.timedelta(days=11))
    ScimChangeFactory(tenant=tenant, created_at=clock() - dt.timedelta(days=9))

    assert prune_change_feed(timestamp=0) == 1
    assert ScimChange.objects.count() == 1
