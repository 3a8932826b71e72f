"""Faults heal: a SCIM Validator run whose worker died (no heartbeat) is ended by the periodic
``provisioning.recover_stalled_validations`` — "Could not run" with the reason, what it created
on the target deleted (a delete that fails is listed in its result), its scratch directory and
app removed, its token wiped — with no person doing anything. The first test kills a real
worker mid-run; the others leave a run row as a dead worker would and run the task for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from provisioning import tasks
from provisioning.crypto import secret_encrypt
from provisioning.models import ConnectorObject, Directory, ScimValidationRun
from provisioning.selectors import scim_validation_runs_stalled
from provisioning.services.validator_runs import scim_validation_run_create
from provisioning.validator.context import scratch_directory_name
from tests.factories import DirectoryFactory, make_application
from tests.provisioning.validator_support import CompliantStub

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "recovery-secret-token-5521"


def _worker_row(*, seconds_ago: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (NOW() - make_interval(secs => %s)) RETURNING id",
            [seconds_ago],
        )
        return cursor.fetchone()[0]


def _job_row(*, worker_id: int | None, status: str = "doing") -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, worker_id) "
            "VALUES ('default', 'provisioning.run_scim_validation', '{}', %s, %s) RETURNING id",
            [status, worker_id],
        )
        return cursor.fetchone()[0]


def _left_running(stub: CompliantStub, *, job_id: int) -> ScimValidationRun:
    """A run as a worker killed in its lifecycle checks leaves it: running, two objects of its
    direct checks on the target (journaled), and a scratch directory whose app's cycle created
    a user and a group there."""
    prefix = f"scimval-{uuid.uuid4().hex[:8]}"
    user = {"userName": f"{prefix}-user1@validator.example.com", "active": True}
    group = {"displayName": f"{prefix}-group2"}
    _, _, made_user = stub.default("POST", "/scim/v2/Users", "", user)
    _, _, made_group = stub.default("POST", "/scim/v2/Groups", "", group)
    scratch = DirectoryFactory(name=scratch_directory_name(prefix))
    app = make_application(directory=scratch, template="scim")
    _, _, engine_user = stub.default(
        "POST", "/scim/v2/Users", "", {"userName": f"{prefix}-lcuser3@x.example"}
    )
    _, _, engine_group = stub.default(
        "POST", "/scim/v2/Groups", "", {"displayName": f"{prefix}-lcgroup4"}
    )
    for kind, made in (("user", engine_user), ("group", engine_group)):
        ConnectorObject.objects.create(
            job=app.provisioning_job,
            object_type=kind,
            source_id=uuid.uuid4(),
            target_id=made["id"],
            display_name=made.get("userName") or made["displayName"],
        )
    return ScimValidationRun.objects.create(
        directory=DirectoryFactory(),
        tenant_url=stub.url,
        token_encrypted=secret_encrypt(TOKEN),
        status=ScimValidationRun.Status.RUNNING,
        prefix=prefix,
        worker_job_id=job_id,
        created_objects=[
            {"resource": "Users", "target_id": made_user["id"], "label": user["userName"]},
            {"resource": "Groups", "target_id": made_group["id"], "label": group["displayName"]},
        ],
    )


def test_recovery_runs_every_minute_on_any_worker():
    periodic = {
        task.task.name: task.cron for task in tasks.app.periodic_registry.periodic_tasks.values()
    }
    assert periodic["provisioning.recover_stalled_validations"] == "* * * * *"


def test_a_run_of_a_dead_worker_is_ended_and_cleaned_up(settings, staff_client):
    settings.WORKER_STALLED_SECONDS = 30
    with CompliantStub() as stub:
        run = _left_running(stub, job_id=_job_row(worker_id=_worker_row(seconds_ago=120)))
        scratch = Directory.objects.get(name=scratch_directory_name(run.prefix))

        recovered = tasks.recover_stalled_validations(timestamp=0)

        assert stub.users == {}
        assert stub.groups == {}
        deletes = [r.path for r in stub.requests if r.method == "DELETE"]
    assert recovered == 1
    run.refresh_from_db()
    assert run.status == ScimValidationRun.Status.ERROR
    assert run.get_status_display() == "Could not run"
    assert "The worker running this validation stopped" in run.error
    assert run.token_encrypted == ""
    assert run.finished_at is not None
    assert run.created_objects == []
    assert run.result["recovered"] is True
    assert run.result["cleanup_failures"] == []
    assert len(run.result["deleted_on_target"]) == 2
    assert not Directory.objects.filter(pk=scratch.pk).exists()
    assert not ConnectorObject.objects.filter(job__application__directory=scratch).exists()
    # groups before users, for the journal and for the scratch app's objects
    assert [p.split("/")[-2] for p in deletes] == ["Groups", "Users", "Groups", "Users"]
    page = staff_client.get(
        f"/azure/directories/{run.directory.tenant_id}/scim-validator/{run.public_id}/"
    ).content.decode()
    assert "The run could not finish" in page
    assert "Could not run" in page
    assert TOKEN not in page
    # a second sweep finds nothing more to do
    assert tasks.recover_stalled_validations(timestamp=0) == 0


def test_a_delete_that_fails_is_listed_in_the_runs_result(settings, staff_client):
    settings.WORKER_STALLED_SECONDS = 30
    with CompliantStub() as stub:
        run = _left_running(stub, job_id=_job_row(worker_id=None))  # worker row pruned
        stuck = run.created_objects[0]["target_id"]
        stub.responder = lambda m, p, b: (
            (500, {}, {"status": "500"}) if m == "DELETE" and p.endswith(stuck) else None
        )

        tasks.recover_stalled_validations(timestamp=0)

        assert list(stub.users) == [stuck]
    run.refresh_from_db()
    assert run.status == ScimValidationRun.Status.ERROR
    assert run.result["cleanup_failures"] == [
        f"Users/{stuck} ({run.prefix}-user1@validator.example.com): DELETE answered 500"
    ]
    page = staff_client.get(
        f"/azure/directories/{run.directory.tenant_id}/scim-validator/{run.public_id}/"
    ).content.decode()
    assert "Not deleted on the target" in page
    assert stuck in page


def test_a_run_whose_job_was_requeued_or_ended_is_recovered_but_a_live_one_is_not(settings):
    settings.WORKER_STALLED_SECONDS = 30
    with CompliantStub() as stub:
        alive = _left_running(stub, job_id=_job_row(worker_id=_worker_row(seconds_ago=2)))
        requeued = _left_running(stub, job_id=_job_row(worker_id=None, status="todo"))
        ended = _left_running(stub, job_id=_job_row(worker_id=None, status="succeeded"))
        in_process = _left_running(stub, job_id=_job_row(worker_id=None))
        ScimValidationRun.objects.filter(pk=in_process.pk).update(worker_job_id=None)

        stalled = set(scim_validation_runs_stalled(stalled_seconds=30).values_list("pk", flat=True))
        tasks.recover_stalled_validations(timestamp=0)

    assert stalled == {requeued.pk, ended.pk}
    statuses = dict(ScimValidationRun.objects.values_list("pk", "status"))
    assert statuses[alive.pk] == statuses[in_process.pk] == "running"
    assert statuses[requeued.pk] == statuses[ended.pk] == "error"
    assert ScimValidationRun.objects.get(pk=alive.pk).token_encrypted != ""


def test_without_its_credentials_the_run_lists_what_it_could_not_delete(settings):
    settings.WORKER_STALLED_SECONDS = 30
    with CompliantStub() as stub:
        run = _left_running(stub, job_id=_job_row(worker_id=_worker_row(seconds_ago=120)))
        ScimValidationRun.objects.filter(pk=run.pk).update(token_encrypted="gAAAA-not-fernet")

        tasks.recover_stalled_validations(timestamp=0)

        assert len(stub.users) == 2  # nothing could be sent without the token
    run.refresh_from_db()
    assert run.status == ScimValidationRun.Status.ERROR
    assert run.token_encrypted == ""
    assert len(run.result["cleanup_failures"]) == 4
    assert all("cannot be decrypted" in f for f in run.result["cleanup_failures"])
    assert not Directory.objects.filter(name=scratch_directory_name(run.prefix)).exists()


# -- a real worker, killed --------------------------------------------------------------------


def _start_worker(database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elium_portal.settings.test",
        "DATABASE_URL": database_url,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "procrastinate", "worker", "--name", "validator-crash"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_worker_killed_mid_validation_is_healed(database_url, settings):
    settings.WORKER_STALLED_SECONDS = 3

    def slowly(method, path, body):
        time.sleep(0.15)  # time to kill the worker with the run half done
        return None

    with CompliantStub(responder=slowly) as stub:
        run = scim_validation_run_create(
            directory=DirectoryFactory(), tenant_url=stub.url, token=TOKEN, lifecycle=True
        )
        worker = _start_worker(database_url)
        try:
            # Killed during the lifecycle checks: objects of the direct checks journaled, the
            # scratch directory made, its app's cycle has created objects on the target.
            def mid_lifecycle():
                run.refresh_from_db()
                scratch = Directory.objects.filter(name=scratch_directory_name(run.prefix))
                linked = ConnectorObject.objects.filter(
                    job__application__directory__in=scratch
                ).exclude(target_id="")
                return run.prefix and run.created_objects and linked.exists()

            _wait_for(mid_lifecycle, 120, "the run to be in its lifecycle checks")
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        run.refresh_from_db()
        assert run.status == ScimValidationRun.Status.RUNNING
        assert stub.users  # the dead worker's leftovers
        left_behind = len(stub.users) + len(stub.groups)

        # No heartbeat any more: the periodic task (run here, as any worker would) heals it.
        _wait_for(
            lambda: scim_validation_runs_stalled(stalled_seconds=3).filter(pk=run.pk).exists(),
            30,
            "the dead worker's heartbeat to go stale",
        )
        assert tasks.recover_stalled_validations(timestamp=0) == 1

        assert stub.users == {}
        assert stub.groups == {}
    run.refresh_from_db()
    assert left_behind >= 2
    assert run.status == ScimValidationRun.Status.ERROR
    assert run.token_encrypted == ""
    assert run.result["cleanup_failures"] == []
    assert not Directory.objects.filter(name=scratch_directory_name(run.prefix)).exists()
