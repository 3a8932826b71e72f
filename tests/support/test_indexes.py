"""The admin's searches and filters are answered by an index (issue 13, point 7): with
sequential scans disabled, the planner's plan names the index made for each of them."""

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import RequestFactory

from elium_portal.models import AuditEvent
from provisioning.models import DirectoryUser, ProvisioningLogEntry
from scim_api.models import ScimChange, ScimRequestLog, ScimUser

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _searched(model, term):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    queryset, _ = model_admin.get_search_results(request, model.objects.all(), term)
    return queryset


@pytest.mark.parametrize(
    ("model", "term", "index"),
    [
        (ProvisioningLogEntry, "Alice Sm", "provisioning_log_display_pfx"),
        (ProvisioningLogEntry, "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "provisioning_log"),
        (DirectoryUser, "alice.smith@", "provisioning_user_upn_pfx"),
        (ScimUser, "alice", "scim_user_name_pfx"),
        (ScimRequestLog, "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "scim_request_client_id"),
        (AuditEvent, "support:ada", "audit_actor_recent"),
        (ScimChange, "alice", "scim_change_name_pfx"),
        (ScimChange, "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "scim_change_request_id"),
    ],
)
def test_admin_search_uses_an_index(model, term, index):
    # Which of a table's indexes the planner picks depends on its statistics (other tests fill
    # the tables), so the property is "an index, never a sequential scan"; ``index`` is the one
    # made for this search.
    plan = _plan(_searched(model, term))
    assert "Seq Scan" not in plan, plan
    assert "Index" in plan, plan


@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (ProvisioningLogEntry.objects.filter(status="Failure"), "provisioning_log_status"),
        (ProvisioningLogEntry.objects.filter(action="Create"), "provisioning_log_action"),
        (ProvisioningLogEntry.objects.all(), "provisioning_log_all_recent"),
        (ScimRequestLog.objects.filter(status__gte=400), "scim_request"),
        (ScimChange.objects.filter(kind="user_deleted"), "scim_change_kind"),
        (ScimChange.objects.filter(tenant_id=1), "scim_change_tenant_recent"),
        (ScimChange.objects.all(), "scim_change_recent"),
    ],
)
def test_admin_filters_and_ordering_use_an_index(queryset, index):
    plan = _plan(
        queryset.order_by(
            "-activity_at" if queryset.model is ProvisioningLogEntry else "-created_at"
        )[:50]
    )
    assert "Seq Scan" not in plan, plan
    assert "Index" in plan, plan
