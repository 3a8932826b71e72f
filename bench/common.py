"""What every benchmark needs: a database, Django, and the app served by gunicorn on
loopback the way ``make run`` serves it (rate limit off, DEBUG off)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """``DATABASE_URL``, else a throwaway embedded PostgreSQL deleted when the run ends."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from elium_portal.embedded_db import start_embedded_postgres

    return start_embedded_postgres(
        Path(tempfile.mkdtemp(prefix="elium-bench-pg-")), cleanup_mode="delete"
    )


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "elium_portal.settings.local"
    # DEBUG would keep every SQL query in memory and skew both time and memory.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextlib.contextmanager
def served(url: str, port: int, *, workers: int, threads: int = 2) -> Iterator[dict[str, str]]:
    """gunicorn on ``127.0.0.1:port`` until the block ends; yields its environment.

    Static files are collected first, as ``make run`` does: with ``DEBUG`` off the app loads
    the static manifest when it starts, and a fresh checkout has none."""
    import httpx
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SCIM_RATE_LIMIT_PER_SECOND": "0",
        "DJANGO_DEBUG": "false",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "elium_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--no-control-socket",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(150):
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode} before answering.")
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not answer on port {port} within 30 s.")
        # Benchmarks measure the server's CPU through its process tree (process_tree_cpu).
        yield {**env, "BENCH_SERVER_PID": str(server.pid)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def _cpu_of(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    # utime + stime, and cutime + cstime: the children it has reaped (a PostgreSQL backend that
    # ended, a gunicorn worker that was replaced) still count.
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def process_tree_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants, from
    ``/proc`` (0 where there is none). On a shared machine the CPU a piece of work costs is a
    steadier measure than its wall time."""
    if pid is None or not Path("/proc").is_dir():
        return 0.0
    return sum(_cpu_of(p) for p in _descendants(pid))


def postmaster_pid() -> int | None:
    """The PostgreSQL server's pid when it runs on this machine and we may ask (superuser)."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            data_directory = Path(cursor.fetchone()[0])
        return int((data_directory / "postmaster.pid").read_text().split()[0])
    except Exception:  # a remote or restricted server: no CPU figures for it
        return None


def insert_series(model, count: int, values: dict[str, str], *, start: int = 1) -> None:
    """``count`` rows of ``model`` written by SQL from ``generate_series`` (``n`` runs from
    ``start``), then ANALYZEd; columns not given get their field's default-like empty value.
    Used to fill tables to the sizes of the budgets (the console benchmark, the scale test)."""
    from django.db import connection

    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in values:
            continue
        columns.append(f'"{field.column}"')
        kind = field.get_internal_type()
        if field.name in values:
            expressions.append(values[field.name])
        elif kind == "BooleanField":
            expressions.append("false")
        elif kind == "JSONField":
            expressions.append("'[]'::jsonb")
        elif kind == "DateTimeField":
            expressions.append("now()")
        elif field.null:
            expressions.append("NULL")
        elif kind in ("PositiveIntegerField", "BigIntegerField", "IntegerField", "FloatField"):
            expressions.append("0")
        elif kind == "PositiveSmallIntegerField":
            expressions.append("200")
        elif kind == "UUIDField":
            expressions.append("gen_random_uuid()")
        else:
            expressions.append("''")
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
            f"SELECT {', '.join(expressions)} FROM generate_series(%s::int, %s::int) AS n",
            [start, start + count - 1],
        )
        cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def delete_in_batches(queryset, *, size: int = 5_000) -> int:
    """Delete what ``queryset`` selects, ``size`` rows at a time; returns how many rows of its
    model went. ``QuerySet.delete()`` names every collected row in the statements that cascade
    from them, and PostgreSQL takes at most 65,535 parameters in one statement: a benchmark
    reusing a database that holds 100,000 users would fail to clear it in one call."""
    model, deleted = queryset.model, 0
    while pks := list(queryset.values_list("pk", flat=True)[:size]):
        model._base_manager.filter(pk__in=pks).delete()
        deleted += len(pks)
    return deleted
