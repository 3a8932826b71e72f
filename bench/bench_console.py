"""Console and admin pages at scale (issue 11 budget 3, issue 13 point 7): with 100,000 SCIM
users in a tenant, 100,000 directory users, 1,000,000 provisioning-log entries and 1,000,000
change-feed rows, every console list page and every Django admin changelist answers in
≤ 300 ms with a constant number of queries.

Rows are written by SQL (``generate_series``) and ANALYZEd; pages are fetched in process with
Django's test client (no network, no browser: the time is the server's), each once to warm up
and then ``BENCH_CONSOLE_RUNS`` times (default 5); the median is reported with the number of
queries. Sizes: ``BENCH_CONSOLE_USERS`` (default 100,000), ``BENCH_CONSOLE_LOG_ENTRIES``
(default 1,000,000). Results go to ``docs/benchmarks-console.md``.
"""

from __future__ import annotations

import os
import statistics
import time

from bench.common import ROOT, database_url, insert_series, setup_django

USERS = int(os.environ.get("BENCH_CONSOLE_USERS", 100_000))
LOG_ENTRIES = int(os.environ.get("BENCH_CONSOLE_LOG_ENTRIES", 1_000_000))
RUNS = int(os.environ.get("BENCH_CONSOLE_RUNS", 5))
WRITE_DOCS = os.environ.get("BENCH_CONSOLE_WRITE_DOCS", "1") != "0"
BUDGET_MS = 300
SLUG = "bench-console"


def _seed():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from elium_portal.models import Membership
    from elium_portal.services.tenants import tenant_ensure
    from provisioning.models import DirectoryUser, EnterpriseApplication, ProvisioningLogEntry
    from provisioning.services.applications import enterprise_application_create
    from provisioning.services.directory import directory_create
    from scim_api.models import ScimChange, ScimGroup, ScimUser

    call_command("migrate", verbosity=0)
    tenant, _ = tenant_ensure(slug=SLUG, name="Console benchmark")
    User = get_user_model()
    operator = User.objects.filter(username="bench-console").first() or User.objects.create_user(
        "bench-console", password=None, is_staff=True, is_superuser=True
    )
    Membership.objects.get_or_create(
        user=operator, tenant=tenant, defaults={"role": Membership.Role.ADMIN}
    )
    # A reused DATABASE_URL: start from an empty tenant.
    ScimChange.objects.filter(tenant=tenant).delete()
    ScimGroup.objects.filter(tenant=tenant).delete()
    ScimUser.objects.filter(tenant=tenant).delete()
    directory = directory_create(name="Console benchmark", domain="consolebench.onmicrosoft.com")
    application = enterprise_application_create(
        directory=directory, template=EnterpriseApplication.Template.SCIM, name="Console app"
    )
    job = application.provisioning_job
    started = time.perf_counter()
    print(
        f"Seeding {USERS:,} SCIM users, {USERS:,} directory users, {LOG_ENTRIES:,} log entries "
        f"and {LOG_ENTRIES:,} change-feed rows…",
        flush=True,
    )
    now = "now() - n * interval '1 second'"
    insert_series(
        ScimUser,
        USERS,
        {
            "id": "gen_random_uuid()",
            "tenant": str(tenant.pk),
            "user_name": "'user' || n || '@consolebench.com'",
            "display_name": "'Person ' || n",
            "active": "true",
            "data": "'{}'::jsonb",
            "created": now,
            "last_modified": now,
        },
    )
    insert_series(
        ScimGroup,
        max(1, USERS // 100),
        {
            "id": "gen_random_uuid()",
            "tenant": str(tenant.pk),
            "display_name": "'Group ' || n",
            "data": "'{}'::jsonb",
            "created": now,
            "last_modified": now,
        },
    )
    insert_series(
        DirectoryUser,
        USERS,
        {
            "directory": str(directory.pk),
            "object_id": "gen_random_uuid()",
            "user_principal_name": "'user' || n || '@consolebench.onmicrosoft.com'",
            "display_name": "'Person ' || n",
            "user_type": "'Member'",
            "account_enabled": "true",
            "extension_attributes": "'{}'::jsonb",
        },
    )
    insert_series(
        ProvisioningLogEntry,
        LOG_ENTRIES,
        {
            "job": str(job.pk),
            "cycle_id": "gen_random_uuid()",
            "change_id": "gen_random_uuid()",
            "activity_at": now,
            "action": "(ARRAY['Create','Update','Other','Disable'])[1 + n %% 4]",
            "status": "(ARRAY['Success','Success','Skipped','Failure'])[1 + n %% 4]",
            "object_type": "'user'",
            "source_id": "gen_random_uuid()::text",
            "source_display": "'Person ' || n",
            "target_id": "gen_random_uuid()::text",
            "source_system": "'Microsoft Entra ID'",
            "target_system": "'Console app'",
            "initiated_by": "'Azure AD Provisioning Service'",
        },
    )
    insert_series(
        ScimChange,
        LOG_ENTRIES,
        {
            "tenant": str(tenant.pk),
            "created_at": now,
            "kind": "(ARRAY['user_created','user_updated','user_deactivated'])[1 + n %% 3]",
            "object_type": "'user'",
            "object_id": "gen_random_uuid()",
            "object_name": "'Person ' || n",
            "user_name": "'user' || n || '@consolebench.com'",
            "changes": "'[]'::jsonb",
            "request_id": "gen_random_uuid()",
        },
    )
    print(f"Seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return operator, tenant, directory, application


def _pages(tenant, directory, application) -> list[tuple[str, str, dict]]:
    from django.contrib import admin
    from django.urls import reverse

    t = f"/t/{tenant.slug}"
    d = {"tenant_id": directory.tenant_id}
    a = {**d, "app_id": application.object_id}
    pages = [
        ("Elium › Settings › People", f"{t}/settings/people/", {}),
        ("Elium › Settings › People, search", f"{t}/settings/people/", {"q": "user4242"}),
        ("Elium › Settings › Groups", f"{t}/settings/groups/", {}),
        ("Elium › Settings › Members", f"{t}/settings/members/", {}),
        ("Elium › Settings › Security", f"{t}/settings/security/", {}),
        ("Elium › Provisioning activity", f"{t}/settings/provisioning-activity/", {}),
        (
            "Elium › Provisioning activity, person",
            f"{t}/settings/provisioning-activity/",
            {"q": "Person 4242"},
        ),
        ("Entra › Users", reverse("provisioning:users", kwargs=d), {}),
        ("Entra › Users, search", reverse("provisioning:users", kwargs=d), {"q": "user4242"}),
        ("Entra › Groups", reverse("provisioning:groups", kwargs=d), {}),
        ("Entra › App › Users and groups", reverse("provisioning:app-users", kwargs=a), {}),
        ("Entra › App › Provisioning logs", reverse("provisioning:logs", kwargs=a), {}),
    ]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(
            (
                f"Admin › {meta.verbose_name_plural}",
                reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"),
                {},
            )
        )
    return pages


def _measure(client, url: str, params: dict) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url, params)  # warm: templates, permissions, plans
    timings = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, len(queries), response.status_code


def _write_docs(rows: list[tuple[str, float, int, int]]) -> None:
    lines = [
        "<!-- bench_console: latest run (rewritten by bench/bench_console.py) -->",
        f"`bench/bench_console.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} cores: {USERS:,} SCIM users in the tenant, {USERS:,} directory "
        f"users, {LOG_ENTRIES:,} provisioning-log entries, {LOG_ENTRIES:,} change-feed rows. "
        f"Median of {RUNS} fetches after a warm-up, in process (Django's test client), as a "
        "superuser who is also the tenant's admin.",
        "",
        "| page | ms (median) | queries | status | ≤ 300 ms |",
        "|---|---|---|---|---|",
    ]
    for name, ms, queries, status in rows:
        verdict = "met" if ms <= BUDGET_MS and status == 200 else "**not met**"
        lines.append(f"| {name} | {ms:.0f} | {queries} | {status} | {verdict} |")
    lines.append("<!-- /bench_console -->")
    page = ROOT / "docs" / "benchmarks-console.md"
    page.write_text("# Console and admin at scale\n\n" + "\n".join(lines) + "\n")


def main() -> None:
    os.environ.setdefault("DJANGO_DEBUG", "false")
    setup_django(database_url())
    from django.test import Client

    operator, tenant, directory, application = _seed()
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    rows = []
    for name, url, params in _pages(tenant, directory, application):
        ms, queries, status = _measure(client, url, params)
        rows.append((name, ms, queries, status))
        print(f"  {name:<60} {ms:7.0f} ms {queries:4d} queries  {status}", flush=True)
    if WRITE_DOCS:
        _write_docs(rows)


if __name__ == "__main__":
    main()
