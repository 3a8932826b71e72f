"""SCIM API throughput and latency, against gunicorn on loopback (DESIGN.md budgets).

Starts a throwaway embedded PostgreSQL (or uses ``DATABASE_URL``), seeds a tenant with users and
a large group, serves the app with gunicorn, and drives it with concurrent clients for a few
seconds per scenario: the single-resource requests Azure AD makes (matching filter, GET by id,
POST, PATCH, member add) and a list page of 100 users. Prints requests/s and latency
percentiles, and writes them to ``docs/benchmarks.md``.

Environment: ``BENCH_SECONDS`` (per scenario, default 10), ``BENCH_CLIENTS`` (default 16),
``BENCH_USERS`` (default 10000; every user is also a member of one big group),
``BENCH_WEB_WORKERS`` (default 4).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import time
import uuid

from bench.common import ROOT, database_url, free_port, served, setup_django

SECONDS = float(os.environ.get("BENCH_SECONDS", 10))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 16))
USERS = int(os.environ.get("BENCH_USERS", 10_000))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", 4))


def _seed(users: int) -> tuple[str, str, list[str], str]:
    from django.core.management import call_command
    from django.utils import timezone

    from elium_portal.services.tenants import tenant_ensure
    from elium_portal.services.tokens import scim_token_issue
    from scim_api.models import ScimGroup, ScimGroupMember, ScimUser

    call_command("migrate", verbosity=0)
    tenant, _ = tenant_ensure(slug="bench", name="Benchmark")
    ScimUser.objects.filter(tenant=tenant).delete()
    ScimGroup.objects.filter(tenant=tenant).delete()
    now = timezone.now()
    print(f"Seeding {users} users…", flush=True)
    batch = 5000
    ids: list[str] = []
    for start in range(0, users, batch):
        rows = ScimUser.objects.bulk_create(
            ScimUser(
                tenant=tenant,
                user_name=f"user{i}@contoso.com",
                external_id=f"user{i}",
                display_name=f"User {i}",
                created=now,
                last_modified=now,
                data={
                    "name": {"givenName": "User", "familyName": str(i)},
                    "emails": [{"value": f"user{i}@contoso.com", "type": "work", "primary": True}],
                },
            )
            for i in range(start, min(users, start + batch))
        )
        ids += [str(r.id) for r in rows]
        done = min(users, start + batch)
        print(f"\r  {done}/{users} users [{'#' * (30 * done // users):<30}]", end="", flush=True)
    print()
    big = ScimGroup.objects.create(
        tenant=tenant, display_name="Everyone", created=now, last_modified=now
    )
    print(f"Adding {len(ids)} members to one group…", flush=True)
    ScimGroupMember.objects.bulk_create(
        (ScimGroupMember(tenant=tenant, group=big, user_id=u) for u in ids), batch_size=10_000
    )
    token = scim_token_issue(tenant=tenant, label="bench").plaintext
    return token, "bench", ids, str(big.id)


_counter = itertools.count()  # shared by warm-up and measured runs: created names never repeat


async def _drive(client, make_request, seconds: float, clients: int):
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    counter = _counter

    async def worker():
        nonlocal errors
        while time.perf_counter() < deadline:
            method, url, body = make_request(next(counter))
            started = time.perf_counter()
            response = await client.request(method, url, json=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))]


def main() -> None:
    import httpx

    url = database_url()
    setup_django(url)
    token, slug, user_ids, group_id = _seed(USERS)

    port = free_port()
    base = f"http://127.0.0.1:{port}/t/{slug}/scim/v2"
    with served(url, port, workers=WEB_WORKERS):
        run_id = uuid.uuid4().hex[:6]
        patch_body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "displayName", "value": "x"}],
        }
        scenarios = {
            "matching filter (userName eq)": lambda i: (
                "GET",
                f'{base}/Users?filter=userName eq "user{i % USERS}@contoso.com"',
                None,
            ),
            "GET /Users/{id}": lambda i: ("GET", f"{base}/Users/{user_ids[i % USERS]}", None),
            "POST /Users": lambda i: (
                "POST",
                f"{base}/Users",
                {"userName": f"new-{run_id}-{i}@contoso.com", "active": True},
            ),
            "PATCH /Users/{id}": lambda i: (
                "PATCH",
                f"{base}/Users/{user_ids[i % USERS]}",
                patch_body,
            ),
            "PATCH member add (big group)": lambda i: (
                "PATCH",
                f"{base}/Groups/{group_id}",
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "Add", "path": "members", "value": [{"value": user_ids[i % USERS]}]}
                    ],
                },
            ),
            "list page of 100 users": lambda i: (
                "GET",
                f"{base}/Users?startIndex={(i * 100) % USERS + 1}&count=100",
                None,
            ),
        }
        results = []
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        for name, make in scenarios.items():
            print(f"Running {name} for {SECONDS:.0f}s with {CLIENTS} clients…", flush=True)

            async def run(make=make):
                async with httpx.AsyncClient(
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/scim+json",
                    },
                    limits=limits,
                    timeout=30,
                ) as client:
                    await _drive(client, make, 1.0, CLIENTS)  # warm-up
                    return await _drive(client, make, SECONDS, CLIENTS)

            latencies, errors, elapsed = asyncio.run(run())
            row = {
                "scenario": name,
                "requests": len(latencies),
                "rps": len(latencies) / elapsed,
                "p50_ms": statistics.median(latencies) * 1000,
                "p99_ms": _percentile(latencies, 0.99) * 1000,
                "errors": errors,
            }
            results.append(row)
            print(
                f"  {row['rps']:.0f} req/s, p50 {row['p50_ms']:.1f} ms, "
                f"p99 {row['p99_ms']:.1f} ms, errors {errors}",
                flush=True,
            )

    lines = [
        f"`make bench` on {os.cpu_count()} cores, {USERS} users, one group of {USERS} members, "
        f"{CLIENTS} concurrent clients (one asyncio httpx process on the same box), "
        f"gunicorn {WEB_WORKERS} workers × 2 threads, {SECONDS:.0f}s per scenario.",
        "",
        "| scenario | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['scenario']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
        f"{r['errors']} |"
        for r in results
    ]
    _write_docs(lines)
    print(json.dumps(results, indent=1))


BEGIN = "<!-- bench_scim_api: latest run (rewritten by bench/bench_scim_api.py) -->"
END = "<!-- /bench_scim_api -->"


def _write_docs(lines: list[str]) -> None:
    """Rewrite only the generated block of docs/benchmarks.md; the notes around it stay."""
    page = ROOT / "docs" / "benchmarks.md"
    block = "\n".join([BEGIN, *lines, END])
    text = page.read_text() if page.exists() else "# Benchmark results\n\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    page.write_text(text)


if __name__ == "__main__":
    main()
