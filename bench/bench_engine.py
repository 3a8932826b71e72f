"""Provisioning engine cycles against this project's own SCIM API over HTTP (DESIGN.md budgets).

Starts a throwaway embedded PostgreSQL (or uses ``DATABASE_URL``), seeds an emulated Entra
directory of N users (with a manager tree) and G groups (each user a member of one group),
assigns every user and every group to a generic SCIM app whose Tenant URL is an Elium tenant of
this project, serves the app with gunicorn, then runs three cycles, each in a fresh engine
process (``python -m bench.bench_engine --cycle``, which calls ``provisioning_cycle_run``, as the
``provision`` command does) so that its peak memory is the engine's own:

1. the initial cycle (every user and group created, then managers and members);
2. an incremental cycle after 1% of the users changed their job title;
3. an empty incremental cycle.

Prints time, objects/s, SCIM requests sent and peak RSS of the engine process, and writes them
to ``docs/benchmarks-engine.md``.

Environment: ``BENCH_ENGINE_USERS`` (default 5000), ``BENCH_ENGINE_GROUPS`` (default 50),
``BENCH_WEB_WORKERS`` (gunicorn workers, default 4), ``BENCH_WEB_THREADS`` (threads per
worker, default 2; 1 is gunicorn's sync worker, which measured slower here: 4 or 8 sync workers
took 620 s over the 100,000 users' phase that 4 × 2 threads did in 514 s),
``BENCH_ENGINE_TRACEMALLOC=1`` (also report tracemalloc's peak of Python allocations; slows the
engine down),
``BENCH_ENGINE_WRITE_DOCS=0`` (do not rewrite the results page).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.common import (
    ROOT,
    database_url,
    delete_in_batches,
    free_port,
    postmaster_pid,
    process_tree_cpu,
    served,
    setup_django,
)

USERS = int(os.environ.get("BENCH_ENGINE_USERS", 5000))
GROUPS = int(os.environ.get("BENCH_ENGINE_GROUPS", 50))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", 4))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", 2))
TRACEMALLOC = os.environ.get("BENCH_ENGINE_TRACEMALLOC") == "1"
WRITE_DOCS = os.environ.get("BENCH_ENGINE_WRITE_DOCS", "1") != "0"
SLUG = "bench-engine"
DIRECTORY_NAME = "Benchmark engine directory"
MANAGER_FANOUT = 10  # user i reports to user (i - 1) // 10: a tree, as real org charts are
BATCH = 5000
BEGIN = "<!-- bench_engine: latest run (rewritten by bench/bench_engine.py) -->"
END = "<!-- /bench_engine -->"


def _bar(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // total if total else width
    print(f"\r  {label} {done}/{total} [{'#' * filled:<{width}}]", end="", flush=True)


# -- seeding -------------------------------------------------------------------------------


def _seed(
    users: int, groups: int, tenant_url: str, *, directory_name: str = DIRECTORY_NAME
) -> tuple[int, str]:
    """The target tenant and its token; the directory, the app and its assignments. Returns
    (job pk, SCIM token)."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from elium_portal.services.tenants import tenant_ensure
    from elium_portal.services.tokens import scim_token_issue
    from provisioning.models import (
        AppRoleAssignment,
        Directory,
        DirectoryGroup,
        DirectoryGroupMember,
        DirectoryUser,
        EnterpriseApplication,
    )
    from provisioning.services.applications import enterprise_application_create
    from provisioning.services.changes import (
        ChangeType,
        ObjectType,
        change_records_append_many,
    )
    from provisioning.services.directory import directory_create
    from provisioning.services.jobs import provisioning_job_update
    from scim_api.models import ScimGroup, ScimUser

    call_command("migrate", verbosity=0)
    tenant, _ = tenant_ensure(slug=SLUG, name="Engine benchmark")
    # A reused DATABASE_URL (`make bench` runs every benchmark on one database): start from
    # an empty target and a fresh directory.
    delete_in_batches(ScimGroup.objects.filter(tenant=tenant))
    delete_in_batches(ScimUser.objects.filter(tenant=tenant))
    for old in Directory.objects.filter(name=directory_name):
        delete_in_batches(DirectoryUser.objects.filter(directory=old))
        old.delete()
    token = scim_token_issue(tenant=tenant, label="bench-engine").plaintext

    directory = directory_create(name=directory_name, domain="benchcorp.onmicrosoft.com")
    application = enterprise_application_create(
        directory=directory, template=EnterpriseApplication.Template.SCIM, name="Bench SCIM app"
    )
    job = application.provisioning_job
    provisioning_job_update(
        job=job, mode="automatic", tenant_url=tenant_url, secret_token=token, status="on"
    )
    role = application.roles.get(is_default=True)
    departments = ["Engineering", "Sales", "Marketing", "Finance", "Support", "Legal"]
    cities = ["Brussels", "Paris", "Lyon", "Amsterdam", "Berlin"]

    print(f"Seeding {users} users, {groups} groups…", flush=True)
    for start in range(0, users, BATCH):
        with transaction.atomic():
            created = DirectoryUser.objects.bulk_create(
                DirectoryUser(
                    directory=directory,
                    user_principal_name=f"user{i}@benchcorp.onmicrosoft.com",
                    mail=f"user{i}@benchcorp.com",
                    mail_nickname=f"user{i}",
                    given_name=f"Given{i}",
                    surname=f"Surname{i}",
                    display_name=f"Given{i} Surname{i}",
                    job_title="Engineer" if i % 3 else "Analyst",
                    department=departments[i % len(departments)],
                    employee_id=str(100000 + i),
                    city=cities[i % len(cities)],
                    country="BE",
                    telephone_number=f"+32 2 555 {i:05d}",
                )
                for i in range(start, min(users, start + BATCH))
            )
            # Every directory write appends to the change feed in its own transaction.
            change_records_append_many(
                directory=directory,
                records=((ObjectType.USER, u.object_id, ChangeType.CREATED, None) for u in created),
            )
        _bar("users", start + len(created), users)
    print(flush=True)

    # Managers: user i reports to user (i - 1) // fan-out, set in one UPDATE from two arrays.
    pks = list(
        DirectoryUser.objects.filter(directory=directory)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    reports = pks[1:]
    managers = [pks[(i - 1) // MANAGER_FANOUT] for i in range(1, len(pks))]
    with transaction.atomic():
        table = DirectoryUser._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS u SET manager_id = m.manager_id "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS m(id, manager_id) WHERE u.id = m.id",
                [reports, managers],
            )
        change_records_append_many(
            directory=directory,
            records=(
                (ObjectType.USER, object_id, ChangeType.UPDATED, None)
                for object_id in DirectoryUser.objects.filter(
                    directory=directory, manager__isnull=False
                ).values_list("object_id", flat=True)
            ),
        )

    with transaction.atomic():
        group_rows = DirectoryGroup.objects.bulk_create(
            DirectoryGroup(
                directory=directory,
                display_name=f"Bench group {g}",
                mail_nickname=f"benchgroup{g}",
                description=f"Benchmark group {g}",
            )
            for g in range(groups)
        )
        change_records_append_many(
            directory=directory,
            records=((ObjectType.GROUP, g.object_id, ChangeType.CREATED, None) for g in group_rows),
        )

    user_ids = list(
        DirectoryUser.objects.filter(directory=directory)
        .order_by("pk")
        .values_list("pk", "object_id")
    )
    print("Seeding memberships and assignments…", flush=True)
    for start in range(0, len(user_ids), BATCH):
        page = user_ids[start : start + BATCH]
        with transaction.atomic():
            if group_rows:
                DirectoryGroupMember.objects.bulk_create(
                    DirectoryGroupMember(group=group_rows[i % groups], member_user_id=pk)
                    for i, (pk, _) in enumerate(page, start)
                )
                change_records_append_many(
                    directory=directory,
                    records=(
                        (
                            ObjectType.MEMBERSHIP,
                            group_rows[i % groups].object_id,
                            ChangeType.CREATED,
                            object_id,
                        )
                        for i, (_, object_id) in enumerate(page, start)
                    ),
                )
            AppRoleAssignment.objects.bulk_create(
                AppRoleAssignment(application=application, role=role, principal_user_id=pk)
                for pk, _ in page
            )
            change_records_append_many(
                directory=directory,
                records=(
                    (ObjectType.ASSIGNMENT, object_id, ChangeType.CREATED, application.object_id)
                    for _, object_id in page
                ),
            )
        _bar("users", start + len(page), len(user_ids))
    print(flush=True)
    with transaction.atomic():
        AppRoleAssignment.objects.bulk_create(
            AppRoleAssignment(application=application, role=role, principal_group=g)
            for g in group_rows
        )
        change_records_append_many(
            directory=directory,
            records=(
                (ObjectType.ASSIGNMENT, g.object_id, ChangeType.CREATED, application.object_id)
                for g in group_rows
            ),
        )
    return job.pk, token


def _change_users(job_pk: int, fraction: float) -> int:
    """Change the job title of ``fraction`` of the users through the directory service (one
    transaction and one change record each, as the console or an import would)."""
    from provisioning.models import DirectoryUser, ProvisioningJob
    from provisioning.services.directory import directory_user_update

    directory = ProvisioningJob.objects.get(pk=job_pk).application.directory
    step = max(1, round(1 / fraction))
    pks = list(
        DirectoryUser.objects.filter(directory=directory)
        .order_by("pk")
        .values_list("pk", flat=True)
    )[::step]
    print(f"Changing the job title of {len(pks)} users…", flush=True)
    for n, pk in enumerate(pks, 1):
        user = DirectoryUser.objects.get(pk=pk)
        directory_user_update(directory=directory, user=user, job_title=f"Senior {user.job_title}")
        if n % 50 == 0 or n == len(pks):
            _bar("changed", n, len(pks))
    print(flush=True)
    return len(pks)


# -- one cycle, in its own engine process ---------------------------------------------------


def _memory_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB. ``VmHWM`` starts afresh at exec, whereas
    ``ru_maxrss`` is carried over from the parent (the seeding process) across fork + exec."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak
    values = {
        line.split(":")[0]: int(line.split()[1]) / 1024
        for line in status.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    }
    return values["VmRSS"], values["VmHWM"]


def _cycle_child(job_pk: int, out_path: str) -> None:
    """Run one cycle of the job in this process and write its measurements to ``out_path``."""
    setup_django(os.environ["DATABASE_URL"])
    from elium_portal.runtime import tune_gc

    tune_gc()  # as the background worker does (elium_portal.runtime.on_procrastinate_app_ready)
    import tracemalloc

    from provisioning.engine import scim_client as scim_client_module
    from provisioning.engine.cycle import provisioning_cycle_run
    from provisioning.models import ProvisioningCycle, ProvisioningJob

    clients: list = []
    methods: Counter = Counter()
    lock = threading.Lock()

    class CountingScimClient(scim_client_module.ScimClient):
        """The engine's client, counting requests by method (attempts: ``request_count``)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            clients.append(self)

        def request(self, method, path, **kwargs):
            with lock:
                methods[method] += 1
            return super().request(method, path, **kwargs)

    scim_client_module.ScimClient = CountingScimClient  # what scim_client_for builds
    job = ProvisioningJob.objects.get(pk=job_pk)
    baseline_mb, _ = _memory_mb()
    # The engine reports progress after each chunk: the time since the previous report
    # belongs to the phase it names.
    phases: dict[str, float] = {}
    last = {"at": time.perf_counter()}
    if TRACEMALLOC:
        tracemalloc.start()

    def progress(cycle: ProvisioningCycle) -> None:
        now = time.perf_counter()
        phase = cycle.phase or "other"
        phases[phase] = phases.get(phase, 0) + now - last["at"]
        last["at"] = now
        print(
            f"\r  {cycle.get_kind_display()} · {cycle.phase:<14} {cycle.percent:3d}% "
            f"({cycle.processed}/{cycle.total})",
            end="",
            file=sys.stderr,
            flush=True,
        )

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
    backend_cpu_before = process_tree_cpu(backend_pid)
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    cycle = provisioning_cycle_run(job=job, initiated_by="bench", progress=progress)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    engine_cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    # The engine's own PostgreSQL backend ends with this process: measure it now.
    engine_db_cpu = process_tree_cpu(backend_pid) - backend_cpu_before
    phases["finish"] = time.perf_counter() - last["at"]
    print(file=sys.stderr, flush=True)
    traced_peak = tracemalloc.get_traced_memory()[1] if TRACEMALLOC else None
    if cycle is None:
        raise SystemExit("the job's lock is held elsewhere")
    cycle.refresh_from_db()
    result = {
        "kind": cycle.kind,
        "state": cycle.state,
        "error": cycle.error,
        "seconds": elapsed,
        "cycle_seconds": cycle.duration_seconds,
        "total": cycle.total,
        "counts": cycle.counts,
        "requests": sum(c.request_count for c in clients),
        "methods": dict(methods),
        "phases": {name: round(seconds, 2) for name, seconds in phases.items()},
        "engine_cpu": engine_cpu,
        "engine_db_cpu": engine_db_cpu,
        "baseline_rss_mb": baseline_mb,
        "peak_rss_mb": _memory_mb()[1],
        "tracemalloc_peak_mb": traced_peak / 2**20 if traced_peak is not None else None,
    }
    Path(out_path).write_text(json.dumps(result))


def _run_cycle(job_pk: int, env: dict[str, str], label: str) -> dict:
    print(f"{label}…", flush=True)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    server_pid = int(env["BENCH_SERVER_PID"]) if "BENCH_SERVER_PID" in env else None
    database_pid = postmaster_pid()
    web_before, db_before = process_tree_cpu(server_pid), process_tree_cpu(database_pid)
    try:
        subprocess.run(
            [sys.executable, "-m", "bench.bench_engine", "--cycle", str(job_pk), out],
            cwd=ROOT,
            env=env,
            check=True,
        )
        result = json.loads(Path(out).read_text())
    finally:
        Path(out).unlink(missing_ok=True)
    result["label"] = label
    # CPU seconds the cycle cost each part of the box: steadier than wall time when the
    # machine is shared.
    result["cpu"] = {
        "engine": result["engine_cpu"],
        "web": process_tree_cpu(server_pid) - web_before,
        "database": process_tree_cpu(database_pid) - db_before + result["engine_db_cpu"],
    }
    if result["state"] not in ("Succeeded", "EntryLevelErrors"):
        raise RuntimeError(f"{label}: cycle {result['state']}: {result['error']}")
    creates = sum(v for k, v in result["counts"].items() if k.startswith("Create."))
    updates = sum(v for k, v in result["counts"].items() if k.startswith("Update."))
    print(
        f"  {result['seconds']:.1f}s, {result['requests']} requests "
        f"({result['requests'] / result['seconds']:.0f}/s), {creates} creates, {updates} updates, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (baseline {result['baseline_rss_mb']:.0f} MB)"
        + (
            f", tracemalloc peak {result['tracemalloc_peak_mb']:.0f} MB"
            if result["tracemalloc_peak_mb"] is not None
            else ""
        )
        + f", counts {result['counts']}, phase seconds {result['phases']}"
        + f", CPU ms per request {_cpu_per_request(result)}",
        flush=True,
    )
    return result


def _cpu_per_request(result: dict) -> str:
    requests = max(1, result["requests"])
    parts = {**result["cpu"], "total": sum(result["cpu"].values())}
    return " / ".join(f"{name} {1000 * seconds / requests:.2f}" for name, seconds in parts.items())


def _target_totals(base: str, token: str) -> tuple[int, int]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    users = httpx.get(f"{base}/Users", params={"count": 0}, headers=headers, timeout=30).json()
    groups = httpx.get(f"{base}/Groups", params={"count": 0}, headers=headers, timeout=30).json()
    return users["totalResults"], groups["totalResults"]


# -- report ---------------------------------------------------------------------------------


#: Issue 11's budgets, measured at 100,000 users + 1,000 groups.
BUDGET_SIZE = (100_000, 1_000)
BUDGETS = (
    ("initial cycle", 0, 15 * 60, "≤ 15 min"),
    ("incremental, 1,000 users changed", 1, 10, "≤ 10 s"),
    ("empty incremental", 2, 1, "≤ 1 s"),
)
BUDGET_RSS_MB = 300


def _verdicts(results: list[dict], users: int, groups: int, rate: float) -> list[str]:
    """Each budget marked met or not met — only for a run of the budgets' size; a smaller run
    says so instead of extrapolating."""
    if (users, groups) != BUDGET_SIZE:
        return [
            f"Initial cycle: {rate:.0f} objects/s. The budgets are for 100,000 users + 1,000 "
            f"groups; this run had {users:,} + {groups:,}, so none is marked (run with "
            "`BENCH_ENGINE_USERS=100000 BENCH_ENGINE_GROUPS=1000`)."
        ]
    lines = ["| budget | measured | verdict |", "|---|---|---|"]
    for name, index, limit, text in BUDGETS:
        seconds = results[index]["seconds"]
        shown = f"{seconds / 60:.1f} min" if limit >= 60 else f"{seconds:.2f} s"
        verdict = "met" if seconds <= limit else "not met"
        lines.append(f"| {name} {text} | {shown} | **{verdict}** |")
    peak = max(r["peak_rss_mb"] for r in results)
    verdict = "met" if peak <= BUDGET_RSS_MB else "not met"
    lines.append(f"| engine peak RSS ≤ {BUDGET_RSS_MB} MB | {peak:.0f} MB | **{verdict}** |")
    return lines


def _write_docs(results: list[dict], users: int, groups: int, changed: int) -> None:
    initial, incremental, empty = results
    objects = users + groups
    rate = objects / initial["seconds"]
    lines = [
        f"Latest `bench/bench_engine.py` run: {users} assigned users (manager tree, fan-out "
        f"{MANAGER_FANOUT}) + {groups} assigned groups (each user a member of one group), "
        f"generic SCIM app → this project's own SCIM API served by gunicorn "
        f"({WEB_WORKERS} workers × {WEB_THREADS} thread(s), rate limit off) over HTTP on loopback, "
        f"{os.cpu_count()} cores, engine and target and PostgreSQL on the same box. "
        "Each cycle runs in a fresh engine process; peak RSS is that process's high-water mark "
        "(`VmHWM`; the baseline is its RSS after Django set-up, before the cycle).",
        "",
        "| cycle | seconds | objects/s | SCIM requests | requests/s | peak RSS MB "
        "(baseline) | CPU ms per request | counts | seconds by phase |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r, n in ((initial, objects), (incremental, changed), (empty, 0)):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(r["counts"].items())) or "none"
        lines.append(
            f"| {r['label']} | {r['seconds']:.1f} | {(n / r['seconds']) if n else 0:.0f} | "
            f"{r['requests']} | {r['requests'] / r['seconds']:.0f} | "
            f"{r['peak_rss_mb']:.0f} ({r['baseline_rss_mb']:.0f}) | {_cpu_per_request(r)} | "
            f"{counts} | " + ", ".join(f"{k} {v:.1f}" for k, v in r["phases"].items()) + " |"
        )
    lines += ["", *_verdicts(results, users, groups, rate), ""]
    # Only the block between the markers is the bench's; the analysis around it is by hand.
    block = "\n".join([BEGIN, *lines, END])
    page = ROOT / "docs" / "benchmarks-engine.md"
    text = page.read_text() if page.exists() else ""
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = "# Provisioning engine benchmark\n\n" + block + "\n"
    page.write_text(text)


def main() -> None:

    url = database_url()
    setup_django(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}/t/{SLUG}/scim/v2"
    started = time.perf_counter()
    job_pk, token = _seed(USERS, GROUPS, base)
    print(f"Seeded in {time.perf_counter() - started:.1f}s", flush=True)

    results: list[dict] = []
    with served(url, port, workers=WEB_WORKERS, threads=WEB_THREADS) as env:
        results.append(_run_cycle(job_pk, env, f"Initial cycle ({USERS} users + {GROUPS} groups)"))
        on_target = _target_totals(base, token)
        print(f"  target now holds {on_target[0]} users, {on_target[1]} groups", flush=True)
        if on_target != (USERS, GROUPS):
            raise RuntimeError(f"expected {USERS} users and {GROUPS} groups on the target")
        changed = _change_users(job_pk, 0.01)
        results.append(_run_cycle(job_pk, env, f"Incremental, {changed} users changed"))
        results.append(_run_cycle(job_pk, env, "Incremental, nothing changed"))

    if WRITE_DOCS:
        _write_docs(results, USERS, GROUPS, changed)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--cycle":
        _cycle_child(int(sys.argv[2]), sys.argv[3])
    else:
        main()
