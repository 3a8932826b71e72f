"""Provisioning engine throughput against a remote-like SCIM target, by concurrency (DESIGN.md
budgets; issue 11: ≥ 600 requests/s at 64 in flight).

The target is ``bench/latency_target.py``: it answers every request after a fixed delay
(``BENCH_LATENCY_MS``, default 50 ms), a stand-in for a SaaS across the internet, so the engine,
not the target, sets the pace. For each ``PROVISIONING_CONCURRENCY`` in
``BENCH_LATENCY_CONCURRENCY`` (default ``8,16,32,64``) the benchmark runs an initial cycle of the
same directory (``BENCH_LATENCY_USERS`` users, default 4,000, with a manager tree, and one group
per 100 users) in a fresh engine process against a fresh target, and reports requests/s, the
ceiling the delay allows (concurrency / delay) and the CPU the engine spent per request. The
wire requests are the ones Azure AD sends (matching GET, POST, manager and member PATCHes).

Results go to ``docs/benchmarks-engine.md`` between their own markers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.bench_engine import _run_cycle, _seed
from bench.common import ROOT, database_url, free_port, setup_django

USERS = int(os.environ.get("BENCH_LATENCY_USERS", 4000))
LATENCY_MS = int(os.environ.get("BENCH_LATENCY_MS", 50))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_LATENCY_CONCURRENCY", "8,16,32,64").split(",")]
WRITE_DOCS = os.environ.get("BENCH_ENGINE_WRITE_DOCS", "1") != "0"
DIRECTORY_NAME = "Benchmark latency directory"
BUDGET = (64, 600)  # requests/s at 64 in flight
BEGIN = "<!-- bench_engine_latency: latest run (rewritten by bench/bench_engine_latency.py) -->"
END = "<!-- /bench_engine_latency -->"


def _target(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.latency_target", str(port), str(LATENCY_MS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise RuntimeError("the latency target did not start")
    return process


def _forget(job_pk: int) -> None:
    """The next cycle is an initial one into an empty target: no links, no watermark."""
    from provisioning.models import ConnectorObject, ProvisioningCycle, ProvisioningJobState

    ConnectorObject.objects.filter(job_id=job_pk).delete()
    ProvisioningCycle.objects.filter(job_id=job_pk, state=ProvisioningCycle.State.RUNNING).delete()
    ProvisioningJobState.objects.filter(job_id=job_pk).update(watermark=None)


def _write_docs(rows: list[dict], groups: int) -> None:
    lines = [
        f"Latest `bench/bench_engine_latency.py` run: initial cycles of {USERS} users (manager "
        f"tree) + {groups} groups into `bench/latency_target.py`, which answers every request "
        f"after {LATENCY_MS} ms; engine and target on the same {os.cpu_count()}-core box, one "
        "fresh engine process and target per row.",
        "",
        "| in flight | seconds | SCIM requests | requests/s | ceiling (in flight / delay) "
        "| engine CPU ms per request | budget |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        rate = row["requests"] / row["seconds"]
        ceiling = row["concurrency"] * 1000 / LATENCY_MS
        verdict = ""
        if row["concurrency"] == BUDGET[0]:
            met = "met" if rate >= BUDGET[1] else "not met"
            verdict = f"≥ {BUDGET[1]}/s: **{met}** ({rate:.0f}/s)"
        lines.append(
            f"| {row['concurrency']} | {row['seconds']:.1f} | {row['requests']} | {rate:.0f} | "
            f"{ceiling:.0f} | {1000 * row['cpu']['engine'] / row['requests']:.2f} | {verdict} |"
        )
    block = "\n".join([BEGIN, *lines, END])
    page = ROOT / "docs" / "benchmarks-engine.md"
    text = page.read_text() if page.exists() else "# Provisioning engine benchmark\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    page.write_text(text)


def main() -> None:
    url = database_url()
    setup_django(url)
    port = free_port()
    groups = max(1, USERS // 100)
    started = time.perf_counter()
    job_pk, _ = _seed(USERS, groups, f"http://127.0.0.1:{port}/scim", directory_name=DIRECTORY_NAME)
    print(f"Seeded in {time.perf_counter() - started:.1f}s", flush=True)
    rows = []
    for concurrency in CONCURRENCY:
        _forget(job_pk)
        target = _target(port)
        try:
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "DJANGO_DEBUG": "false",
                "PROVISIONING_CONCURRENCY": str(concurrency),
                "BENCH_SERVER_PID": str(target.pid),
            }
            result = _run_cycle(job_pk, env, f"{concurrency} in flight")
        finally:
            target.terminate()
            target.wait(timeout=10)
        rows.append({**result, "concurrency": concurrency})
    for row in rows:
        print(
            f"{row['concurrency']:>3} in flight: {row['requests'] / row['seconds']:.0f} requests/s "
            f"(ceiling {row['concurrency'] * 1000 / LATENCY_MS:.0f})",
            flush=True,
        )
    if WRITE_DOCS:
        _write_docs(rows, groups)


if __name__ == "__main__":
    main()
