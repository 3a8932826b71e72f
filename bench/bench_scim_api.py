"""SCIM API side by side with django-scim2 (DESIGN.md budgets; issue 11).

Both servers run at once on loopback against the same PostgreSQL server (one database each),
served by the same gunicorn flags (worker count, threads, no access log), rate limits off, and
are loaded one at a time by ``wrk`` (a compiled load generator, so no Python process competes
with them for the CPU), interleaved A B A B per scenario. The peer is the minimal django-scim2
0.23 project in ``bench/peers/django_scim2/``, installed into its own venv
(``var/bench-peer-venv``) by this benchmark — never into the project's.

Each side is seeded with the same data: ``BENCH_USERS`` users ``user{i}@contoso.com`` that are
all members of one big group, 2,000 groups of 10 members, a pool of users in no group (the new
members of the member-add scenarios) and a pool of users to delete.

Prints the table and writes it to ``docs/benchmarks.md`` with the date, machine, versions, load
and each budget marked met or not met.

Environment: ``BENCH_SECONDS`` (per run, default 8), ``BENCH_ROUNDS`` (A B pairs per scenario,
default 2), ``BENCH_CLIENTS`` (connections, default 16), ``BENCH_USERS`` (default 100000),
``BENCH_WEB_WORKERS`` (default 2), ``BENCH_WEB_THREADS`` (default 1),
``BENCH_SCENARIOS`` (comma-separated subset), ``BENCH_QUICK=1`` (the ~2-minute version:
20,000 users, 3 s runs, one round), ``BENCH_NO_DOCS=1`` (print only).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from bench.common import ROOT, database_url, free_port, setup_django

QUICK = os.environ.get("BENCH_QUICK") == "1"
SECONDS = float(os.environ.get("BENCH_SECONDS", 3 if QUICK else 8))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 1 if QUICK else 2))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 16))
USERS = int(os.environ.get("BENCH_USERS", 20_000 if QUICK else 100_000))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", 2))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", 1))
WRK_THREADS = 2
SMALL_GROUPS = 2_000
SMALL_GROUP_SIZE = 10

PEER_DIR = ROOT / "bench" / "peers" / "django_scim2"
PEER_VENV = ROOT / "var" / "bench-peer-venv"
PEER_DB = "peer_bench"
LUA = ROOT / "bench" / "wrk" / "scim.lua"

#: (key, label, single-resource?) in the order of the table.
SCENARIOS = [
    ("post_users", "POST /Users", True),
    ("post_groups", "POST /Groups", True),
    ("filter_username", "GET /Users?filter=userName eq", True),
    ("get_user", "GET /Users/{id}", True),
    ("patch_user", "PATCH /Users/{id} replace", True),
    ("member_add_small", "PATCH /Groups/{id} add member (10-member group)", True),
    (
        "member_add_one_small",
        "PATCH /Groups/{id} add member (every client, one 10-member group)",
        True,
    ),
    ("member_add_big", "PATCH /Groups/{id} add member (every client, {big}-member group)", True),
    ("list_page", "GET /Users?count=100", False),
    ("delete_user", "DELETE /Users/{id}", True),
]
#: Pools the scenarios draw from without reuse, and which scenarios draw from each.
POOL_OF = {
    "member_add_small": "extra",
    "member_add_one_small": "extra",
    "member_add_big": "extra",
    "delete_user": "delete",
    "post_users": "names",
    "post_groups": "names",
    "patch_user": "names",
}


def _pool_size() -> int:
    """Enough fresh ids for every run of a pool's scenarios at up to 1,500 requests/s."""
    return int(1_500 * (SECONDS + 1) * ROUNDS * 2 + 5_000)


# -- seeding ---------------------------------------------------------------------------------


def _seed_ours(data: Path) -> tuple[str, str]:
    """Seed this project's tenant ``bench`` in SQL; returns (token, SCIM base path)."""
    from django.db import connection

    from elium_portal.services.tenants import tenant_ensure
    from elium_portal.services.tokens import scim_token_issue

    tenant, _ = tenant_ensure(slug="bench", name="Benchmark")
    pool = _pool_size()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM scim_api_scimgroupmember WHERE tenant_id = %s", [tenant.pk])
        cursor.execute("DELETE FROM scim_api_scimgroup WHERE tenant_id = %s", [tenant.pk])
        cursor.execute("DELETE FROM scim_api_scimuser WHERE tenant_id = %s", [tenant.pk])
        for kind, count in (("user", USERS), ("extra", pool), ("delete", pool)):
            print(f"  ours: {count} {kind} users…", flush=True)
            cursor.execute(
                "INSERT INTO scim_api_scimuser (id, tenant_id, user_name, external_id, "
                "display_name, active, data, password, created, last_modified, version) "
                "SELECT gen_random_uuid(), %s, %s || i || '@contoso.com', %s || i, "
                "'User ' || i, true, jsonb_build_object("
                "'name', jsonb_build_object('givenName', 'User', 'familyName', i::text), "
                "'emails', jsonb_build_array(jsonb_build_object("
                "'value', %s || i || '@contoso.com', 'type', 'work', 'primary', true))), "
                "'', now(), now(), 1 FROM generate_series(0, %s - 1) i",
                [tenant.pk, kind, kind, kind, count],
            )
        cursor.execute(
            "INSERT INTO scim_api_scimgroup (id, tenant_id, display_name, external_id, data, "
            "created, last_modified, version) VALUES (gen_random_uuid(), %s, 'Everyone', "
            "'everyone', '{}', now(), now(), 1) RETURNING id",
            [tenant.pk],
        )
        big = cursor.fetchone()[0]
        print(f"  ours: {USERS} members of one group…", flush=True)
        cursor.execute(
            "INSERT INTO scim_api_scimgroupmember (tenant_id, group_id, user_id, created) "
            "SELECT %s, %s, id, now() FROM scim_api_scimuser "
            "WHERE tenant_id = %s AND user_name LIKE 'user%%'",
            [tenant.pk, big, tenant.pk],
        )
        cursor.execute(
            "INSERT INTO scim_api_scimgroup (id, tenant_id, display_name, external_id, data, "
            "created, last_modified, version) SELECT gen_random_uuid(), %s, 'Team ' || i, "
            "'team' || i, '{}', now(), now(), 1 FROM generate_series(0, %s - 1) i",
            [tenant.pk, SMALL_GROUPS],
        )
        # Statistics of what was just written, before a join reads it: in a database an
        # earlier benchmark filled (`make bench` runs them all on one), the planner otherwise
        # took "no Team groups" from old statistics and scanned every user once per member.
        cursor.execute("ANALYZE scim_api_scimuser, scim_api_scimgroup")
        cursor.execute(
            "INSERT INTO scim_api_scimgroupmember (tenant_id, group_id, user_id, created) "
            "SELECT %s, g.id, u.id, now() FROM scim_api_scimgroup g "
            "CROSS JOIN generate_series(0, %s - 1) k "
            "JOIN scim_api_scimuser u ON u.tenant_id = g.tenant_id "
            "AND u.user_name = 'user' || ((substr(g.display_name, 6)::int * %s + k) %% %s) "
            "|| '@contoso.com' "
            "WHERE g.tenant_id = %s AND g.display_name LIKE 'Team %%'",
            [tenant.pk, SMALL_GROUP_SIZE, SMALL_GROUP_SIZE, USERS, tenant.pk],
        )
        _write_ids(cursor, data, "scim_api_scimuser", "id", tenant.pk)
        # As autovacuum leaves a table some time after a bulk load (visibility map set, so
        # index-only scans need no heap visits); the peer's tables get the same.
        cursor.execute("VACUUM (ANALYZE)")
    (data / "big_group.txt").write_text(f"{big}\n")
    token = scim_token_issue(tenant=tenant, label="bench").plaintext
    return token, "/t/bench/scim/v2"


def _write_ids(cursor, data: Path, table: str, id_column: str, tenant_id) -> None:
    where = "tenant_id = %s AND " if tenant_id is not None else ""
    params = [tenant_id] if tenant_id is not None else []
    users_table = table
    for name, pattern in (("users", "user%"), ("extra", "extra%"), ("delete", "delete%")):
        cursor.execute(
            f"SELECT {id_column} FROM {users_table} WHERE {where}"
            f"{'user_name' if tenant_id is not None else 'username'} LIKE %s ORDER BY "
            f"length({'user_name' if tenant_id is not None else 'username'}), "
            f"{'user_name' if tenant_id is not None else 'username'}",
            [*params, pattern],
        )
        (data / f"{name}.txt").write_text("".join(f"{row[0]}\n" for row in cursor.fetchall()))
    groups_table = "scim_api_scimgroup" if tenant_id is not None else "peer_group"
    name_column = "display_name" if tenant_id is not None else "name"
    cursor.execute(
        f"SELECT {id_column} FROM {groups_table} WHERE {where}{name_column} LIKE 'Team %%' "
        f"ORDER BY {name_column}",
        params,
    )
    (data / "small_groups.txt").write_text("".join(f"{row[0]}\n" for row in cursor.fetchall()))


def _peer_env(port: int) -> dict[str, str]:
    """The peer's environment: this project's database server, the peer's own database."""
    from django.db import connection

    config = connection.settings_dict
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "peer.settings",
        "PEER_DB_NAME": PEER_DB,
        "PEER_DB_USER": str(config.get("USER") or ""),
        "PEER_DB_PASSWORD": str(config.get("PASSWORD") or ""),
        "PEER_DB_HOST": str(config.get("HOST") or config.get("OPTIONS", {}).get("host") or ""),
        "PEER_DB_PORT": str(config.get("PORT") or ""),
        "PEER_NETLOC": f"127.0.0.1:{port}",
    }


def _peer_install() -> None:
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    wanted = (PEER_DIR / "requirements.txt").read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print(f"Installing django-scim2 into its own venv {PEER_VENV}…", flush=True)
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(PEER_DIR / "requirements.txt"),
        ],
        check=True,
    )
    stamp.write_text(wanted)


def _seed_peer(url: str, data: Path, env: dict[str, str], token: str) -> str:
    """Create and seed the peer's database; returns its SCIM base path."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {PEER_DB} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {PEER_DB}")
    python = str(PEER_VENV / "bin" / "python")
    subprocess.run(
        [python, "manage.py", "migrate", "--verbosity", "0"], cwd=PEER_DIR, env=env, check=True
    )
    conninfo = {
        "dbname": PEER_DB,
        "user": env["PEER_DB_USER"] or None,
        "password": env["PEER_DB_PASSWORD"] or None,
        "host": env["PEER_DB_HOST"] or None,
        "port": env["PEER_DB_PORT"] or None,
    }
    pool = _pool_size()
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as conn:
        cursor = conn.cursor()
        cursor.execute(
            "INSERT INTO peer_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) VALUES ('!', true, 'scim-service', '', "
            "'', '', true, true, now())"
        )
        for kind, count in (("user", USERS), ("extra", pool), ("delete", pool)):
            print(f"  peer: {count} {kind} users…", flush=True)
            cursor.execute(
                "INSERT INTO peer_user (password, is_superuser, username, first_name, "
                "last_name, email, is_staff, is_active, date_joined, scim_external_id, "
                "scim_username) SELECT '!', false, %(k)s || i || '@contoso.com', 'User', "
                "i::text, %(k)s || i || '@contoso.com', false, true, now(), %(k)s || i, "
                "%(k)s || i || '@contoso.com' FROM generate_series(0, %(n)s - 1) i",
                {"k": kind, "n": count},
            )
        cursor.execute("UPDATE peer_user SET scim_id = id::text")
        cursor.execute(
            "INSERT INTO peer_group (name, scim_display_name, scim_external_id) "
            "VALUES ('Everyone', 'Everyone', 'everyone') RETURNING id"
        )
        big = cursor.fetchone()[0]
        print(f"  peer: {USERS} members of one group…", flush=True)
        cursor.execute(
            "INSERT INTO peer_user_scim_groups (user_id, group_id) "
            "SELECT id, %s FROM peer_user WHERE username LIKE 'user%%'",
            [big],
        )
        cursor.execute(
            "INSERT INTO peer_group (name, scim_display_name, scim_external_id) "
            "SELECT 'Team ' || i, 'Team ' || i, 'team' || i FROM generate_series(0, %s - 1) i",
            [SMALL_GROUPS],
        )
        cursor.execute("ANALYZE peer_user, peer_group")  # as for ours (_seed_ours)
        cursor.execute(
            "INSERT INTO peer_user_scim_groups (user_id, group_id) "
            "SELECT u.id, g.id FROM peer_group g CROSS JOIN generate_series(0, %s - 1) k "
            "JOIN peer_user u "
            "ON u.username = 'user' || ((substr(g.name, 6)::int * %s + k) %% %s) "
            "|| '@contoso.com' WHERE g.name LIKE 'Team %%'",
            [SMALL_GROUP_SIZE, SMALL_GROUP_SIZE, USERS],
        )
        cursor.execute("UPDATE peer_group SET scim_id = id::text")
        _write_ids(cursor, data, "peer_user", "scim_id", None)
        cursor.execute("VACUUM (ANALYZE)")
    (data / "big_group.txt").write_text(f"{big}\n")
    return "/scim/v2"


# -- serving ---------------------------------------------------------------------------------


def gunicorn_flags(port: int) -> list[str]:
    """The same flags for both servers: only the application differs."""
    return [
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WEB_WORKERS),
        "--threads",
        str(WEB_THREADS),
        "--no-control-socket",
        "--log-level",
        "warning",
    ]


def _start(command: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=env)


def _wait_ready(server: subprocess.Popen, port: int, path: str, token: str) -> None:
    for _ in range(300):
        if server.poll() is not None:
            break
        try:
            response = httpx.get(
                f"http://127.0.0.1:{port}{path}/ServiceProviderConfig",
                headers={"Authorization": f"Bearer {token}"},
                timeout=2,
            )
            if response.status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"The server on port {port} did not start.")


# -- running ---------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    port: int
    base: str
    token: str
    data: Path
    cursors: dict[str, int] = field(default_factory=dict)


def _wrk(side: Side, scenario: str, seconds: float, tag: str) -> dict:
    pool = POOL_OF.get(scenario, scenario)
    offset = side.cursors.get(pool, 0)
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CLIENTS}",
        f"-d{seconds:g}s",
        "--timeout",
        "60s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{side.port}",
        "--",
        scenario,
        side.base,
        side.token,
        str(side.data),
        str(offset),
        str(WRK_THREADS),
        tag,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    result = json.loads(line.removeprefix("WRKJSON "))
    side.cursors[pool] = result["last_index"] + WRK_THREADS
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    return result


def _drain(*sides: Side) -> None:
    """Wait until both servers have answered everything still queued from the last run (wrk
    stops sending, not the server working: a slow peer would otherwise spend the CPU during
    the next run). As many probes as wrk has connections, all answered, follow that backlog."""

    def probe(side: Side) -> None:
        httpx.get(
            f"http://127.0.0.1:{side.port}{side.base}/ServiceProviderConfig",
            headers={"Authorization": f"Bearer {side.token}"},
            timeout=600,
        )

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for side in sides:
            list(pool.map(probe, [side] * CLIENTS))


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    peer = subprocess.run(
        [
            str(PEER_VENV / "bin" / "python"),
            "-c",
            "from importlib.metadata import version as v; print(v('django-scim2'), v('Django'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return {
        "python": platform.python_version(),
        "django": version("Django"),
        "djangorestframework": version("djangorestframework"),
        "psycopg": version("psycopg"),
        "gunicorn": version("gunicorn"),
        "django-scim2": peer[0] if peer else "?",
        "peer Django": peer[1] if len(peer) > 1 else "?",
        "postgresql": pg,
        "wrk": (wrk.split() or ["?", "?"])[1] if wrk else "?",
    }


def main() -> None:
    url = database_url()
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as `make run` does
    _peer_install()
    data_root = Path(tempfile.mkdtemp(prefix="elium-bench-scim-"))
    ours_data, peer_data = data_root / "ours", data_root / "peer"
    ours_data.mkdir()
    peer_data.mkdir()
    started = time.monotonic()
    print("Seeding both servers…", flush=True)
    ours_token, ours_base = _seed_ours(ours_data)
    peer_token = "peer_" + uuid.uuid4().hex
    ours_port, peer_port = free_port(), free_port()
    peer_env = {**_peer_env(peer_port), "PEER_TOKEN": peer_token}
    peer_base = _seed_peer(url, peer_data, peer_env, peer_token)
    print(f"Seeded in {time.monotonic() - started:.0f}s.", flush=True)

    ours_env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "false",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{ours_port}",
        "SCIM_RATE_LIMIT_PER_SECOND": "0",
        "SCIM_AUTH_FAILURES_PER_IP_PER_MINUTE": "0",
    }
    servers = [
        _start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "elium_portal.wsgi:application",
                *gunicorn_flags(ours_port),
            ],
            cwd=ROOT,
            env=ours_env,
        ),
        _start(
            [
                str(PEER_VENV / "bin" / "python"),
                "-m",
                "gunicorn",
                "peer.wsgi:application",
                *gunicorn_flags(peer_port),
            ],
            cwd=PEER_DIR,
            env=peer_env,
        ),
    ]
    ours = Side("ours", ours_port, ours_base, ours_token, ours_data)
    peer = Side("django-scim2", peer_port, peer_base, peer_token, peer_data)
    wanted = {s for s in os.environ.get("BENCH_SCENARIOS", "").split(",") if s}
    scenarios = [s for s in SCENARIOS if not wanted or s[0] in wanted]
    rows = []
    try:
        _wait_ready(servers[0], ours_port, ours_base, ours_token)
        _wait_ready(servers[1], peer_port, peer_base, peer_token)
        run_tag = uuid.uuid4().hex[:6]
        for key, label, single in scenarios:
            label = label.replace("{big}", f"{USERS:,}")
            runs: dict[str, list[dict]] = {"ours": [], "peer": []}
            loads = []
            for side in (ours, peer):  # warm-up, not measured
                _drain(ours, peer)
                _wrk(side, key, 1, f"{run_tag}w")
            for round_ in range(ROUNDS):
                for side, bucket in ((ours, "ours"), (peer, "peer")):
                    _drain(ours, peer)
                    loads.append(_load())
                    result = _wrk(side, key, SECONDS, f"{run_tag}{round_}")
                    runs[bucket].append(result)
                    print(
                        f"  {label} [{side.name}] {result['rps']:.0f} req/s, "
                        f"p99 {result['p99_us'] / 1000:.1f} ms, errors {result['errors']} "
                        f"(load {loads[-1]})",
                        flush=True,
                    )
            rows.append(_row(key, label, single, runs, loads))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(data_root, ignore_errors=True)

    lines = _table(rows, _versions())
    print("\n".join(lines))
    if os.environ.get("BENCH_NO_DOCS") != "1":
        _write_docs(lines)


def _row(key, label, single, runs, loads) -> dict:
    def median(bucket, k):
        return statistics.median(r[k] for r in runs[bucket])

    ratios = [
        o["rps"] / p["rps"] if p["rps"] else float("inf")
        for o, p in zip(runs["ours"], runs["peer"], strict=True)
    ]
    return {
        "key": key,
        "label": label,
        "single": single,
        "ours_rps": median("ours", "rps"),
        "peer_rps": median("peer", "rps"),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "ours_p99": median("ours", "p99_us") / 1000,
        "peer_p99": median("peer", "p99_us") / 1000,
        "ours_errors": sum(r["errors"] for r in runs["ours"]),
        "peer_errors": sum(r["errors"] for r in runs["peer"]),
        "loads": loads,
    }


def _table(rows: list[dict], versions: dict[str, str]) -> list[str]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    lines = [
        f"`make bench{'-quick' if QUICK else ''}` of {now} on {os.cpu_count()} cores ({cpu}), "
        f"{platform.system()} {platform.release()}, load average before the runs in the last "
        "column (the machine is shared: prefer the ratios).",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        f"Both servers: gunicorn {WEB_WORKERS} workers × {WEB_THREADS} thread(s), no access "
        f"log, same PostgreSQL server (one database each), persistent connections; rate limits "
        f"off. {USERS:,} users all in one group, {SMALL_GROUPS:,} groups of {SMALL_GROUP_SIZE}. "
        f"Load: `wrk -t{WRK_THREADS} -c{CLIENTS}`, {SECONDS:g} s per run, {ROUNDS} interleaved "
        f"round(s) A B per scenario after a 1 s warm-up each; req/s, p99 and the ratio are the "
        f"medians over the rounds (ratios per round in brackets). p99 from wrk's latency "
        f"distribution.",
        "",
        "| operation | this project req/s | django-scim2 req/s | ratio | p99 ms (ours / peer) "
        "| errors (ours / peer) | budget | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["single"]:
            met = r["ratio"] >= 1.5 and r["ours_p99"] <= 50
            budget = (
                f"≥ 1.5× and p99 ≤ 50 ms: **{'met' if met else 'not met'}** "
                f"({_ratio(r['ratio'])}×, {r['ours_p99']:.0f} ms)"
            )
        else:
            met = r["ours_rps"] >= 300
            budget = f"≥ 300/s: **{'met' if met else 'not met'}** ({r['ours_rps']:.0f}/s)"
        ratios = ", ".join(_ratio(x) for x in r["ratios"])
        lines.append(
            f"| {r['label']} | {r['ours_rps']:.0f} | {r['peer_rps']:.0f} | "
            f"{_ratio(r['ratio'])} [{ratios}] | {r['ours_p99']:.1f} / {r['peer_p99']:.1f} | "
            f"{r['ours_errors']} / {r['peer_errors']} | {budget} | {r['loads'][0]} |"
        )
    by_key = {r["key"]: r for r in rows}
    # Like against like: every client on one group in both, so that only the size differs
    # (adds to one group queue on its row: its version changes with every add).
    small, big = by_key.get("member_add_one_small"), by_key.get("member_add_big")
    if small and big:
        same = big["ours_rps"] >= 0.8 * small["ours_rps"]
        lines += [
            "",
            f"Member add to the {USERS:,}-member group vs a 10-member group, every client on "
            f"the one group: {big['ours_rps']:.0f} vs {small['ours_rps']:.0f} req/s — "
            f"**{'met' if same else 'not met'}** (as fast, within noise: ≥ 80 %).",
        ]
    return lines


def _ratio(value: float) -> str:
    return "∞ (peer finished none)" if value == float("inf") else f"{value:.2f}"


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
    sys.path.insert(0, str(ROOT))
    main()
