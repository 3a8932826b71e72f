"""Every changelist of the admin answers with the same number of queries for a few rows and
for many, and never counts a whole table exactly (issue 13, point 7)."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from elium_portal import adminkit
from tests.factories import (
    AttributeMappingFactory,
    AuditEventFactory,
    ChangeRecordFactory,
    DirectoryFactory,
    DirectoryGroupFactory,
    DirectoryUserFactory,
    MembershipFactory,
    ProvisioningAuditEventFactory,
    ProvisioningCycleFactory,
    ProvisioningJobStateFactory,
    ProvisioningLogEntryFactory,
    ScimChangeFactory,
    ScimGroupFactory,
    ScimGroupMemberFactory,
    ScimRequestLogFactory,
    ScimTokenFactory,
    ScimUserFactory,
    ScimValidationRunFactory,
    TenantFactory,
    make_application,
)

pytestmark = pytest.mark.django_db

#: Session, user, permissions, the page's own queries: a generous but fixed ceiling.
MAX_QUERIES = 14
FEW, MANY = 2, 12


def _jobs(n):
    jobs = [make_application().provisioning_job for _ in range(n)]
    for job in jobs:
        ProvisioningJobStateFactory(job=job, last_cycle=ProvisioningCycleFactory(job=job))
    return jobs


POPULATE = {
    "elium_portal_tenant": lambda n: TenantFactory.create_batch(n),
    "elium_portal_membership": lambda n: MembershipFactory.create_batch(n),
    "elium_portal_scimtoken": lambda n: ScimTokenFactory.create_batch(n),
    "elium_portal_auditevent": lambda n: AuditEventFactory.create_batch(n),
    "scim_api_scimuser": lambda n: ScimUserFactory.create_batch(n),
    "scim_api_scimgroup": lambda n: ScimGroupFactory.create_batch(n),
    "scim_api_scimgroupmember": lambda n: ScimGroupMemberFactory.create_batch(n),
    "scim_api_scimrequestlog": lambda n: ScimRequestLogFactory.create_batch(n),
    "scim_api_scimchange": lambda n: ScimChangeFactory.create_batch(n),
    "provisioning_directory": lambda n: DirectoryFactory.create_batch(n),
    "provisioning_directoryuser": lambda n: DirectoryUserFactory.create_batch(n),
    "provisioning_directorygroup": lambda n: DirectoryGroupFactory.create_batch(n),
    "provisioning_enterpriseapplication": lambda n: [make_application() for _ in range(n)],
    "provisioning_provisioningjob": _jobs,
    "provisioning_provisioningcycle": lambda n: ProvisioningCycleFactory.create_batch(n),
    "provisioning_provisioninglogentry": lambda n: ProvisioningLogEntryFactory.create_batch(n),
    "provisioning_attributemapping": lambda n: AttributeMappingFactory.create_batch(n),
    "provisioning_provisioningauditevent": lambda n: ProvisioningAuditEventFactory.create_batch(n),
    "provisioning_changerecord": lambda n: ChangeRecordFactory.create_batch(n),
    "provisioning_scimvalidationrun": lambda n: ScimValidationRunFactory.create_batch(n),
}

#: A COUNT over a table that is not bounded by a LIMIT (the paginator's count is bounded).
UNBOUNDED_COUNT = re.compile(r"SELECT COUNT\(\*\)(?!.*LIMIT)", re.DOTALL)


def _changelist_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_every_registered_changelist_is_covered():
    registered = {f"{m._meta.app_label}_{m._meta.model_name}" for m in admin.site._registry}
    ours = {name for name in registered if name.split("_")[0] in ("elium", "scim", "provisioning")}
    assert ours == set(POPULATE)


@pytest.mark.parametrize("name", sorted(POPULATE))
def test_changelist_query_count_does_not_grow_with_rows(
    name, support_client, django_assert_max_num_queries
):
    url = reverse(f"admin:{name}_changelist")
    POPULATE[name](FEW)
    few = _changelist_queries(support_client, url)
    POPULATE[name](MANY)

    with django_assert_max_num_queries(max(len(few), 1)):
        many = _changelist_queries(support_client, url)

    assert len(few) <= MAX_QUERIES
    assert not [sql for sql in many if UNBOUNDED_COUNT.search(sql)]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("provisioning_provisioninglogentry", {"q": "user1"}),
        ("provisioning_provisioninglogentry", {"status__exact": "Success", "since": "24h"}),
        ("provisioning_directoryuser", {"q": "given"}),
        ("scim_api_scimrequestlog", {"status": "errors", "method": "GET"}),
        ("scim_api_scimchange", {"q": "person", "kind__exact": "user_created", "since": "24h"}),
    ],
)
def test_searches_and_filters_keep_the_query_count(
    name, params, support_client, django_assert_max_num_queries
):
    url = reverse(f"admin:{name}_changelist")
    POPULATE[name](FEW)
    few = _changelist_queries(support_client, url, params)
    POPULATE[name](MANY)

    with django_assert_max_num_queries(len(few)):
        _changelist_queries(support_client, url, params)


def test_a_huge_result_is_counted_by_the_planner(support_client, monkeypatch):
    monkeypatch.setattr(adminkit, "EXACT_COUNT_LIMIT", 5)
    ProvisioningLogEntryFactory.create_batch(8)

    queries = _changelist_queries(
        support_client, reverse("admin:provisioning_provisioninglogentry_changelist")
    )

    assert any(sql.startswith("EXPLAIN") for sql in queries)
    assert not [sql for sql in queries if UNBOUNDED_COUNT.search(sql)]
