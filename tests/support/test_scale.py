"""Scale of the support admin (issue 13, point 7): with 100,000 directory users and 1,000,000
provisioning log entries (written by SQL, then ANALYZEd), no query of the changelists, their
searches and filters reads a big table whole: PostgreSQL's plan for each has no unbounded
sequential scan of them (the query counts are pinned by ``test_query_counts.py``). How
fast they answer is measured by ``bench/bench_console.py`` (the 300 ms budget), not here:
timings are printed only.

Sizes: ``SCALE_LOG_ENTRIES`` and ``SCALE_USERS`` (environment) for a quicker local run."""

import json
import os
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.common import insert_series
from provisioning.models import DirectoryUser, ProvisioningLogEntry
from tests.factories import DirectoryFactory, make_application

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

LOG_ENTRIES = int(os.environ.get("SCALE_LOG_ENTRIES", 1_000_000))
USERS = int(os.environ.get("SCALE_USERS", 100_000))
BIG_TABLES = {DirectoryUser._meta.db_table, ProvisioningLogEntry._meta.db_table}


def _sequential_scans(plan: dict, *, bounded: bool = False) -> list[str]:
    """Big tables the plan reads whole: a sequential scan not under a ``Limit`` (a bounded
    count such as the estimated-count paginator's ``LIMIT 10001`` stops early)."""
    bounded = bounded or plan.get("Node Type") == "Limit"
    found = []
    if (
        plan.get("Node Type") == "Seq Scan"
        and plan.get("Relation Name") in BIG_TABLES
        and not bounded
    ):
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found += _sequential_scans(child, bounded=bounded)
    return found


def _fetch(client, url, params=None) -> tuple[float, list[str]]:
    """(seconds, SQL of every query) of one fetch of ``url``, after a warm-up fetch."""
    client.get(url, params or {})  # warm caches (templates, permissions)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return elapsed, [query["sql"] for query in queries.captured_queries]


def _full_reads(statements: list[str]) -> list[str]:
    """The statements whose plan scans a big table sequentially."""
    bad = []
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
            if _sequential_scans(plan):
                bad.append(sql[:300])
    return bad


def _seed(directory, job, users: int, entries: int) -> None:
    insert_series(
        DirectoryUser,
        users,
        {
            "directory": str(directory.pk),
            "object_id": "gen_random_uuid()",
            "user_principal_name": f"'user' || n || '@{directory.domain}'",
            "display_name": "'Person ' || n",
            "user_type": "'Member'",
            "extension_attributes": "'{}'::jsonb",
        },
    )
    insert_series(
        ProvisioningLogEntry,
        entries,
        {
            "job": str(job.pk),
            "cycle_id": "gen_random_uuid()",
            "change_id": "gen_random_uuid()",
            "activity_at": "now() - n * interval '1 second'",
            "action": "(ARRAY['Create','Update','Other','Disable'])[1 + n %% 4]",
            "status": "(ARRAY['Success','Success','Skipped','Failure'])[1 + n %% 4]",
            "object_type": "'user'",
            "source_id": "gen_random_uuid()::text",
            "source_display": "'Person ' || n",
            "target_id": "gen_random_uuid()::text",
            "source_system": "'Microsoft Entra ID'",
            "target_system": "'Elium'",
            "initiated_by": "'Azure AD Provisioning Service'",
        },
    )


def test_changelists_never_read_a_big_table_whole_at_scale(support_client):
    directory = DirectoryFactory()
    job = make_application(directory=directory).provisioning_job
    logs = reverse("admin:provisioning_provisioninglogentry_changelist")
    users = reverse("admin:provisioning_directoryuser_changelist")
    cases = {
        "logs": (logs, {}),
        "logs by name": (logs, {"q": "Person 4242"}),
        "logs by UPN": (logs, {"q": "user4242@"}),
        "logs by id": (logs, {"q": str(uuid.uuid4())}),
        "logs failures, 24h": (logs, {"status__exact": "Failure", "since": "24h"}),
        "logs by app and action": (logs, {"app": job.application_id, "action__exact": "Update"}),
        "users": (users, {}),
        "users by UPN": (users, {"q": "user4242"}),
    }

    _seed(directory, job, USERS, LOG_ENTRIES)
    timings, full_reads = {}, {}
    for name, (url, params) in cases.items():
        seconds, statements = _fetch(support_client, url, params)
        timings[name] = f"{seconds * 1000:.0f} ms"
        if bad := _full_reads(statements):
            full_reads[name] = bad
    print(timings)
    assert not full_reads
    # The check itself: a search that no index serves is caught.
    table = ProvisioningLogEntry._meta.db_table
    assert _full_reads([f"SELECT id FROM \"{table}\" WHERE error_reason = 'x'"])
