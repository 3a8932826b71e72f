"""The embedded PostgreSQL: started on demand, shared between processes, reused between runs,
stopped when the last process detaches."""

import subprocess
import sys
import textwrap

import psycopg
import pytest

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import sys, psycopg
    from elium_portal.embedded_db import start_embedded_postgres
    url = start_embedded_postgres(sys.argv[1])
    with psycopg.connect(url, autocommit=True) as conn:
        exec(sys.argv[2])
    print(url)
    """
)


def in_new_process(pgdata, code):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(pgdata), code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def pgdata(tmp_path):
    path = tmp_path / "pgdata"
    yield path
    # Make sure no server outlives the test even if an assertion failed midway.
    if (path / "postmaster.pid").exists():
        subprocess.run(["pkill", "-f", str(path)], check=False)


def test_embedded_database_starts_persists_and_stops(pgdata):
    url = in_new_process(
        pgdata,
        "conn.execute('CREATE TABLE kept (v int)'); conn.execute('INSERT INTO kept VALUES (42)')",
    )

    assert "host=" in url
    assert "/elium" in url
    assert not (pgdata / "postmaster.pid").exists(), "the server stops with its last process"

    # A second run reuses the same data directory and sees the data.
    in_new_process(pgdata, "assert conn.execute('SELECT v FROM kept').fetchone() == (42,)")


def test_second_process_attaches_to_a_running_server(pgdata):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SCRIPT + "\nsys.stdout.flush(); sys.stdin.read()",
            str(pgdata),
            "conn.execute('CREATE TABLE shared (v int)')",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = holder.stdout.readline().strip()
        pid_before = (pgdata / "postmaster.pid").read_text().splitlines()[0]

        in_new_process(pgdata, "conn.execute('INSERT INTO shared VALUES (1)')")

        # The attaching process left; the holder still keeps the same server up.
        assert (pgdata / "postmaster.pid").read_text().splitlines()[0] == pid_before
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM shared").fetchone() == (1,)
    finally:
        holder.stdin.close()  # the holder exits normally, detaching its handle
        holder.wait(timeout=60)

    assert not (pgdata / "postmaster.pid").exists(), "the last process to leave stops it"
