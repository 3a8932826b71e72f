"""Bulk ``bulkId`` resolution (issue 10, point 14): a chain of 1,000 creates, each naming
another operation's bulkId, must cost no more than twice 1,000 independent creates.

Serves the app with gunicorn (one worker) on a throwaway embedded PostgreSQL (or
``DATABASE_URL``) and times one ``POST /Bulk`` of each shape: independent creates, a chain in
request order (op n names op n-1) and a chain against it (op n names op n+1, the order that took
one pass per link before resolution became topological). Prints the times and the ratios; the
linearity itself is asserted by counting work in tests/scim_api/test_bulk.py, not by time.

Environment: ``BENCH_BULK_OPERATIONS`` (default 1000).
"""

from __future__ import annotations

import os
import time
import uuid

from bench.common import database_url, free_port, served, setup_django

OPERATIONS = int(os.environ.get("BENCH_BULK_OPERATIONS", 1000))
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _seed() -> tuple[str, str]:
    # Django is set up by main() first: its models cannot be imported at module level here.
    from django.core.management import call_command

    from elium_portal.services.tenants import tenant_ensure
    from elium_portal.services.tokens import scim_token_issue

    call_command("migrate", verbosity=0)
    tenant, _ = tenant_ensure(slug="bench-bulk", name="Bulk benchmark")
    return scim_token_issue(tenant=tenant, label="bench").plaintext, tenant.slug


def _operations(shape: str, run: str) -> list[dict]:
    operations = []
    for n in range(OPERATIONS):
        data = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": f"{run}-{shape}-{n}@contoso.com",
            "active": True,
            "emails": [{"value": f"{run}-{shape}-{n}@contoso.com", "type": "work"}],
        }
        manager = {"forward": n - 1, "backward": n + 1}.get(shape)
        if manager is not None and 0 <= manager < OPERATIONS:
            data[ENTERPRISE] = {"manager": {"value": f"bulkId:{shape}{manager}"}}
        operations.append(
            {"method": "POST", "path": "/Users", "bulkId": f"{shape}{n}", "data": data}
        )
    return operations


def main() -> None:
    import httpx

    url = database_url()
    setup_django(url)
    token, slug = _seed()
    port = free_port()
    base = f"http://127.0.0.1:{port}/t/{slug}/scim/v2"
    run = uuid.uuid4().hex[:6]
    timings = {}
    with served(url, port, workers=1), httpx.Client(timeout=600) as client:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        for shape in ("independent", "forward", "backward"):
            body = {"schemas": [BULK], "Operations": _operations(shape, run)}
            started = time.perf_counter()
            response = client.post(f"{base}/Bulk", json=body, headers=headers)
            timings[shape] = time.perf_counter() - started
            statuses = {r["status"] for r in response.json()["Operations"]}
            print(
                f"  {OPERATIONS} operations, {shape:<11}: {timings[shape]:.2f} s "
                f"(HTTP {response.status_code}, statuses {sorted(statuses)})",
                flush=True,
            )
    for shape in ("forward", "backward"):
        ratio = timings[shape] / timings["independent"]
        verdict = "ok" if ratio <= 2 else "OVER BUDGET (≤ 2×)"
        print(f"  chain {shape} / independent: {ratio:.2f}× — {verdict}")


if __name__ == "__main__":
    main()
