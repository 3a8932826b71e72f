"""List endpoints run a constant number of queries whatever the page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scim_api.models import ScimGroup, ScimGroupMember, ScimUser
from tests.factories import ScimGroupFactory, ScimUserFactory

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
