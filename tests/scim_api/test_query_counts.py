"""List endpoints run a constant number of queries whatever the page size."""

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from scim_api.models import ScimGroup, ScimGroupMember, ScimUser
from tests.factories import ScimGroupFactory, ScimUserFactory, TenantFactory

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def populate(tenant, n):
    """n users with an email and a manager, and n groups of five of them each."""
    boss = ScimUserFactory(tenant=tenant)
    users = ScimUser.objects.bulk_create(
        ScimUserFactory.build(
            tenant=tenant,
            data={
                "emails": [{"value": f"u{i}@x.com", "type": "work"}],
                ENTERPRISE: {"manager": {"value": str(boss.id)}},
            },
        )
        for i in range(n)
    )
    groups = ScimGroup.objects.bulk_create(ScimGroupFactory.build_batch(n, tenant=tenant))
    ScimGroupMember.objects.bulk_create(
        ScimGroupMember(tenant=tenant, group=g, user=u) for g in groups for u in users[:5]
    )


def count_queries(scim, path):
    with CaptureQueriesContext(connection) as ctx:
        response = scim.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/Users",
        "/Groups",
        "/Groups?excludedAttributes=members",
        '/Users?filter=emails[type eq "work"]',
    ],
)
def test_list_query_count_is_constant(scim, tenant, path):
    scim.get("/ServiceProviderConfig")  # the token's first use writes its bookkeeping once
    populate(tenant, 3)
    small, small_body = count_queries(scim, path)
    populate(tenant, 60)
    large, large_body = count_queries(scim, path)

    assert large_body["itemsPerPage"] > small_body["itemsPerPage"]
    assert small == large
    # auth (token + tenant) + count + page + at most two look-ups (groups/members, managers).
    assert large <= 7


def test_group_list_without_members_never_touches_memberships(scim, tenant):
    populate(tenant, 10)

    with CaptureQueriesContext(connection) as ctx:
        scim.get("/Groups?excludedAttributes=members")

    assert not any("scim_api_scimgroupmember" in q["sql"] for q in ctx.captured_queries)


PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def queries_of(call):
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code < 400, response.content
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        # token, the user with its groups and manager's name
        (lambda scim, u, g: scim.get(f"/Users/{u.id}"), 2),
        # token, the matching page (pre-built), groups
        (lambda scim, u, g: scim.get(f'/Users?filter=userName eq "{u.user_name.upper()}"'), 3),
        # token, INSERT (its own transaction): a user created by this request is in no group
        (lambda scim, u, g: scim.post("/Users", {"userName": "fresh@x.com"}), 2),
        # token, read, UPDATE … WHERE version = the one read (with its feed row, and the
        # user's groups and manager's name for the response)
        (
            lambda scim, u, g: scim.patch(
                f"/Users/{u.id}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "Replace", "path": "displayName", "value": "New"}],
                },
            ),
            3,
        ),
        # token, read, one statement (members checked and inserted, feed, version)
        (
            lambda scim, u, g: scim.patch(
                f"/Groups/{g.id}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {"op": "Add", "path": "members", "value": [{"value": str(u.id)}]}
                    ],
                },
            ),
            3,
        ),
        # token, read, one statement (DELETE … if the version is still the one read)
        (lambda scim, u, g: scim.delete(f"/Users/{u.id}"), 3),
        # token, INSERT (its own transaction): a group created without members has none
        (lambda scim, u, g: scim.post("/Groups", {"displayName": "Fresh"}), 2),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_single_resource_requests_make_few_round_trips(scim, tenant, make, expected):
    """Round trips as in production, where a request is not inside a test's transaction: the
    queries, plus a BEGIN and a COMMIT for every transaction a request opens (none of them
    opens one: each write is one statement)."""
    scim.get("/ServiceProviderConfig")  # the token's first use writes its bookkeeping once
    user = ScimUserFactory(tenant=tenant)
    group = ScimGroupFactory(tenant=tenant)
    opened = []
    wrapper = connections["default"]
    set_autocommit = wrapper.set_autocommit

    def spy(autocommit, *args, **kwargs):
        opened.append(not autocommit)
        return set_autocommit(autocommit, *args, **kwargs)

    wrapper.set_autocommit = spy
    try:
        queries = queries_of(lambda: make(scim, user, group))
    finally:
        del wrapper.set_autocommit

    assert len(queries) + 2 * sum(opened) == expected
    assert not any(opened)


def test_matching_filter_finds_what_the_orm_path_finds(scim, tenant):
    user = ScimUserFactory(tenant=tenant, user_name="Mixed.Case@x.com", external_id="Ext-1")
    ScimUserFactory(tenant=tenant, user_name="other@x.com", external_id="ext-1")

    by_name = scim.get('/Users?filter=userName eq "mixed.case@X.COM"').json()
    by_external = scim.get('/Users?filter=externalId eq "Ext-1"').json()
    sorted_too = scim.get('/Users?filter=userName eq "mixed.case@X.COM"&sortBy=userName').json()

    assert [r["id"] for r in by_name["Resources"]] == [str(user.id)]
    assert [r["id"] for r in by_external["Resources"]] == [str(user.id)]  # caseExact
    assert by_name == sorted_too


def test_a_patch_response_is_what_a_get_then_shows(scim, tenant):
    """The PATCH response's groups and manager name are read by the PATCH's own statement:
    they must be exactly what a GET reads."""
    boss = ScimUserFactory(tenant=tenant, display_name="The Boss")
    user = ScimUserFactory(tenant=tenant)
    for name in ("Zeta", "Alpha"):
        group = ScimGroupFactory(tenant=tenant, display_name=name)
        ScimGroupMember.objects.create(tenant=tenant, group=group, user=user)

    patched = scim.patch(
        f"/Users/{user.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(boss.id)},
                {"op": "replace", "path": "title", "value": "Analyst"},
            ],
        },
    )

    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert [g["display"] for g in body["groups"]] == ["Alpha", "Zeta"]
    assert body[ENTERPRISE]["manager"]["displayName"] == "The Boss"
    assert body == scim.get(f"/Users/{user.id}").json()
    # …and what the page of a filter, which reads groups and managers on their own, shows.
    (listed,) = scim.get(f'/Users?filter=userName eq "{user.user_name}"').json()["Resources"]
    assert body == listed


@pytest.mark.parametrize("stored", ["not-a-uuid", "-" * 36, "ABCDEF00-0000-0000-0000-00000000000G"])
def test_a_stored_manager_that_is_no_id_reads_without_a_name(scim, tenant, stored):
    """The user read casts the stored manager value to an id only when it is one: data from
    before the manager was validated must not make GET fail."""
    user = ScimUserFactory(tenant=tenant, data={ENTERPRISE: {"manager": {"value": stored}}})

    response = scim.get(f"/Users/{user.id}")

    assert response.status_code == 200
    assert response.json()[ENTERPRISE]["manager"]["value"] == stored
    assert "displayName" not in response.json()[ENTERPRISE]["manager"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ('/Users?filter=userName eq "a\\u0000b"', "NUL"),
        ('/Users?filter=externalId eq "\\ud800"', "unpaired surrogate"),
        ('/Groups?filter=userName eq "mine@x.com"', "unknown attribute 'userName' for a Group"),
    ],
)
def test_the_pre_built_matching_filter_refuses_what_compiling_refuses(scim, path, message):
    """The matching filter's shape is compiled once: the request's own value is still checked,
    and an attribute the resource does not have is refused as compiling refuses it."""
    response = scim.get(path)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
    assert message in response.json()["detail"]
    assert "SeNtInEl" not in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_patch_that_keeps_the_manager_does_not_read_it_again(scim, tenant):
    """Azure AD's updates of a user with a manager: the stored manager was checked when it was
    written, so a PATCH of another attribute costs what it costs for a user without one."""
    scim.get("/ServiceProviderConfig")
    boss = ScimUserFactory(tenant=tenant)
    user = ScimUserFactory(tenant=tenant, data={ENTERPRISE: {"manager": {"value": str(boss.id)}}})

    def patch(operation):
        return scim.patch(f"/Users/{user.id}", {"schemas": [PATCH_OP], "Operations": [operation]})

    def checks_manager(queries):
        return any("FROM scim_api_scimuser u WHERE" in sql for sql in queries)

    kept = queries_of(lambda: patch({"op": "Replace", "path": "name.familyName", "value": "X"}))
    assert len(kept) == 3  # token, read, the UPDATE with its feed row and read-alongs
    assert not checks_manager(kept)
    # The same manager sent again (Azure AD's full-object replace) is not read either.
    again = queries_of(
        lambda: patch({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(boss.id)})
    )
    assert not checks_manager(again)
    # A new manager is checked, and a stranger is refused.
    other = ScimUserFactory(tenant=tenant)
    changed = queries_of(
        lambda: patch({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(other.id)})
    )
    assert checks_manager(changed)
    assert len(changed) == 4
    stranger = ScimUserFactory(tenant=TenantFactory(slug="stranger"))
    refused = patch({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(stranger.id)})
    assert refused.status_code == 400
    shown = scim.get(f"/Users/{user.id}").json()[ENTERPRISE]["manager"]
    assert shown["value"] == str(other.id)
