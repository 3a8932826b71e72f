"""A plain page of users is written by PostgreSQL (``representation.user_document_sql``): it
must be the page Python renders (``user_to_scim`` and the manager's ``$ref``/``displayName``),
for every stored document — the same values, and each resource's members in the same order.

Each case reads a page twice, once as served and once with the database's rendering turned
off, and compares the two."""

import datetime as dt
import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_api import selectors
from scim_api.api.resources import UserRenderMixin
from scim_api.models import ScimGroupMember, ScimUser
from scim_api.schema import ENTERPRISE_USER
from tests.factories import ScimGroupFactory, ScimUserFactory

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CUSTOM_USER = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User"
CUSTOM_GROUP = "urn:ietf:params:scim:schemas:extension:Acme:2.0:Group"


class Rendering:
    """Reads a page as served, and as Python renders it; says which way the served one went."""

    def __init__(self, scim, monkeypatch):
        self.scim, self.monkeypatch = scim, monkeypatch
        self.by_database = []
        real = selectors.user_documents

        def recording(**kwargs):
            page = real(**kwargs)
            self.by_database.append(page is not None)
            return page

        monkeypatch.setattr(selectors, "user_documents", recording)

    def both(self, path):
        served = self.scim.get(path)
        assert served.status_code == 200, served.content
        with self.monkeypatch.context() as patched:
            patched.setattr(UserRenderMixin, "documents", lambda view, params: None)
            python = self.scim.get(path)
        assert python.status_code == 200, python.content
        return json.loads(served.content), json.loads(python.content)

    def assert_same(self, path="/Users?count=100", *, by_database=True):
        served, python = self.both(path)
        assert served == python
        for mine, theirs in zip(served["Resources"], python["Resources"], strict=True):
            assert list(mine) == list(theirs)
            assert list(mine["meta"]) == list(theirs["meta"])
            groups = zip(mine.get("groups", []), theirs.get("groups", []), strict=True)
            assert all(list(group) == list(expected) for group, expected in groups)
        assert self.by_database[-1] is by_database
        return served


@pytest.fixture
def rendering(scim, monkeypatch):
    return Rendering(scim, monkeypatch)


def user(tenant, **fields):
    return ScimUserFactory(tenant=tenant, **fields)


def test_users_as_azure_ad_provisions_them(scim, rendering):
    boss = user(scim.tenant, display_name="Ada Boss", data={"displayName": "Ada Boss"})
    nameless = user(scim.tenant, user_name="nameless@contoso.com")
    engineering = ScimGroupFactory(tenant=scim.tenant, display_name="Engineering")
    everyone = ScimGroupFactory(tenant=scim.tenant, display_name='Everyone "all" ✓')
    worker = user(
        scim.tenant,
        external_id="w1",
        data={
            "name": {"givenName": "Wö", "familyName": "Rker"},
            "emails": [{"type": "work", "value": "w@contoso.com", "primary": True}],
            ENTERPRISE_USER: {"department": "R&D", "manager": {"value": str(boss.id)}},
            CUSTOM_USER: {"badge": 7},
        },
    )
    second = user(
        scim.tenant,
        active=False,
        data={ENTERPRISE_USER: {"manager": {"value": str(nameless.id)}}},
    )
    for group in (everyone, engineering):
        ScimGroupMember.objects.create(tenant=scim.tenant, group=group, user=worker)
    ScimGroupMember.objects.create(tenant=scim.tenant, group=everyone, user=second)

    body = rendering.assert_same()

    shown = {r["userName"]: r for r in body["Resources"]}
    manager = shown[worker.user_name][ENTERPRISE_USER]["manager"]
    assert manager["displayName"] == "Ada Boss"
    assert manager["$ref"].endswith(f"/Users/{boss.id}")
    assert shown[second.user_name][ENTERPRISE_USER]["manager"]["displayName"] == nameless.user_name
    assert [g["display"] for g in shown[worker.user_name]["groups"]] == [
        "Engineering",
        'Everyone "all" ✓',
    ]
    # In the stored document's order (PostgreSQL's: shorter keys first).
    assert shown[worker.user_name]["schemas"][1:] == [CUSTOM_USER, ENTERPRISE_USER]


def test_managers_that_are_not_users_of_the_tenant(scim, other_scim, rendering):
    stranger = user(other_scim.tenant)
    for value in (str(uuid.uuid4()), str(stranger.id), "not-a-uuid", "", None):
        user(scim.tenant, data={ENTERPRISE_USER: {"manager": {"value": value}}})
    user(
        scim.tenant,
        data={ENTERPRISE_USER: {"manager": {"value": "x", "$ref": "old", "displayName": "Kept"}}},
    )
    user(scim.tenant, data={ENTERPRISE_USER: {"manager": "just text"}})
    user(scim.tenant, data={ENTERPRISE_USER: "not an object"})

    body = rendering.assert_same()

    managers = [r[ENTERPRISE_USER] for r in body["Resources"]]
    assert [m["manager"].get("displayName") for m in managers[:6]] == [None] * 5 + ["Kept"]
    assert [managers[6]["manager"], managers[7]] == ["just text", "not an object"]


def test_schema_keys_in_any_case_and_keys_that_only_look_like_them(scim, rendering):
    user(
        scim.tenant,
        data={
            ENTERPRISE_USER.upper(): {"department": "upper"},
            CUSTOM_GROUP: {"x": 1},
            "urn:ietf:params:scim:schemas:extension:Acme:1.0:User": {"x": 2},
            "urn:ietf:params:scim:schemas:extension:\u0130x:2.0:User": {"x": 3},
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:\u0130:2.0:USER": {"x": 4},
            "urn:ietf:params:scim:schemas:extension:kelvin:2.0:User\u212a": {"x": 5},
            "urn:other:2.0:User": {"x": 6},
        },
    )

    body = rendering.assert_same()

    assert set(body["Resources"][0]["schemas"][1:]) == {
        ENTERPRISE_USER.upper(),
        CUSTOM_GROUP,
        "urn:ietf:params:scim:schemas:extension:\u0130x:2.0:User",
        "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:\u0130:2.0:USER",
    }


def test_values_json_and_python_write_differently(scim, rendering):
    moment = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    user(
        scim.tenant,
        user_name='quote" back\\slash \u2028 line \x01 ctl',
        external_id="é",
        created=moment,
        last_modified=moment.replace(microsecond=10),
        data={
            "big": 123456789012345678901234567890,
            "float": 1.1,
            "tiny": 1e-7,
            "huge": 1e300,
            "unicode": "日本語 \U0001f600",
            "empty": {},
            "list": [],
            "nulls": None,
        },
    )
    user(scim.tenant, data={})

    body = rendering.assert_same()

    assert body["Resources"][0]["meta"]["created"] == "2026-03-04T05:06:07Z"
    assert body["Resources"][0]["meta"]["lastModified"] == "2026-03-04T05:06:07.000010Z"


def test_a_document_python_must_render_sends_the_page_there(scim, rendering):
    user(scim.tenant, data={"name": {"givenName": "Plain"}})
    odd = user(scim.tenant, data={ENTERPRISE_USER: {"manager": {"value": 42}}})

    rendering.assert_same(by_database=False)

    ScimUser.objects.filter(pk=odd.pk).update(data={"meta": {"resourceType": "Nope"}})
    rendering.assert_same(by_database=False)

    ScimUser.objects.filter(pk=odd.pk).update(data={})
    rendering.assert_same()


def test_a_page_is_one_statement(scim, rendering):
    for _ in range(5):
        user(scim.tenant, data={ENTERPRISE_USER: {"manager": {"value": str(uuid.uuid4())}}})

    with CaptureQueriesContext(connection) as queries:
        body = selectors.user_documents(
            tenant=scim.tenant, start_index=2, count=3, base_url=scim.tenant.scim_base_url
        )

    assert len(queries) == 1
    assert (body.total, len(body.items), body.start_index) == (5, 3, 2)


def test_pages_that_the_database_does_not_write(scim, rendering):
    for _ in range(3):
        user(scim.tenant)

    for path in (
        "/Users?attributes=userName",
        "/Users?excludedAttributes=groups",
        '/Users?filter=userName sw "user"',
        "/Users?sortBy=userName",
    ):
        served, python = rendering.both(path)
        assert served == python
    assert rendering.by_database == []

    served, _ = rendering.both("/Users?count=0")
    assert served["totalResults"] == 3
    assert not served.get("Resources")
    assert rendering.by_database == [False]  # asked, and declined: a count of 0 has no page


def test_the_same_page_through_search_and_with_an_indent(scim, rendering):
    boss = user(scim.tenant)
    user(scim.tenant, data={ENTERPRISE_USER: {"manager": {"value": str(boss.id)}}})
    expected = rendering.assert_same()

    searched = scim.post(
        "/Users/.search",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 100},
    )
    indented = scim.get("/Users?count=100", headers={"Accept": "application/json; indent=4"})

    assert searched.json() == expected
    assert indented.content.startswith(b'{\n    "schemas"')
    assert json.loads(indented.content) == expected
    assert rendering.by_database[-2:] == [True, True]


def test_every_page_of_a_tenant_and_not_another_ones(scim, other_scim, rendering):
    for i in range(7):
        user(scim.tenant, data={"n": i})
    user(other_scim.tenant, data={"other": True})

    for start in range(1, 10):
        body = rendering.assert_same(f"/Users?startIndex={start}&count=3")
        assert body["totalResults"] == 7
        assert all("other" not in r for r in body["Resources"])


# --- generated documents -------------------------------------------------------------------------

KEYS = [
    "name",
    "emails",
    "displayName",
    "title",
    ENTERPRISE_USER,
    CUSTOM_USER,
    CUSTOM_GROUP,
    ENTERPRISE_USER.lower(),
    "urn:ietf:params:scim:schemas:extension:Acme:1.0:User",
    "value",
    "\u2028",
    "ключ",
]
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | text, children, max_size=3)
    ),
    max_leaves=8,
)
manager_values = st.sampled_from(["boss", "stranger", "", "not-a-uuid", None]) | st.integers(0, 2)
managers = st.fixed_dictionaries(
    {"value": manager_values},
    optional={"displayName": text, "$ref": text, "type": text},
)
documents = st.dictionaries(
    st.sampled_from(KEYS) | text,
    json_values,
    max_size=4,
) | st.builds(
    lambda rest, extension: {**rest, ENTERPRISE_USER: extension},
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=2),
    st.fixed_dictionaries({"manager": managers}, optional={"department": text}),
)
users_ = st.lists(
    st.fixed_dictionaries(
        {
            "data": documents,
            "user_name": text.filter(bool),
            "display_name": text,
            "external_id": st.none() | text,
            "active": st.booleans(),
            "microsecond": st.sampled_from([0, 1, 500000, 999999]),
            "groups": st.lists(st.integers(0, 2), max_size=3, unique=True),
        }
    ),
    min_size=1,
    max_size=5,
)


@HYPOTHESIS
@given(users=users_, group_names=st.lists(text, min_size=3, max_size=3, unique_by=str.lower))
def test_any_stored_user_renders_the_same(scim, rendering, users, group_names):
    ScimUser.objects.filter(tenant=scim.tenant).delete()
    scim.tenant.scim_groups.all().delete()
    groups = [ScimGroupFactory(tenant=scim.tenant, display_name=name) for name in group_names]
    boss = user(scim.tenant, user_name="boss@contoso.com")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i, spec in enumerate(users):
        data = spec["data"]
        extension = data.get(ENTERPRISE_USER)
        if isinstance(extension, dict) and isinstance(extension.get("manager"), dict):
            value = extension["manager"]["value"]
            value = {"boss": str(boss.id), "stranger": str(uuid.uuid4())}.get(value, value)
            data = {**data, ENTERPRISE_USER: {**extension, "manager": {**extension["manager"]}}}
            data[ENTERPRISE_USER]["manager"]["value"] = value
        moment = start + dt.timedelta(seconds=i + 1, microseconds=spec["microsecond"])
        created = user(
            scim.tenant,
            user_name=f"{i}-{spec['user_name']}",
            display_name=spec["display_name"],
            external_id=spec["external_id"],
            active=spec["active"],
            data=data,
            created=moment,
            last_modified=moment,
        )
        for index in spec["groups"]:
            ScimGroupMember.objects.create(tenant=scim.tenant, group=groups[index], user=created)

    served, python = rendering.both("/Users?count=100")

    assert served == python
    for mine, theirs in zip(served["Resources"], python["Resources"], strict=True):
        assert list(mine) == list(theirs)
