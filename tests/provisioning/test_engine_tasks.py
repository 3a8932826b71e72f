"""Workers: the scheduler queues due cycles once (procrastinate queueing lock), a real
procrastinate worker runs them, Off pauses, and the ``provision`` command runs a cycle in the
foreground."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command
from django.db import connection, connections
from procrastinate.contrib.django import app as procrastinate_app

from provisioning import tasks
from provisioning.engine.state import job_state
from provisioning.models import ProvisioningCycle, ProvisioningJobState
from provisioning.selectors import jobs_due
from provisioning.services.jobs import provisioning_job_start, provisioning_job_stop
from tests.factories import DirectoryUserFactory, make_application
from tests.provisioning.engine_support import StubScim, assign, configure

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def in_a_fresh_thread(function):
    errors = []

    def target():
        try:
            function()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _clear_queue() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


@pytest.fixture(autouse=True)
def _empty_queue():
    """procrastinate's tables are not flushed between transactional tests."""
    _clear_queue()


def queued_cycles() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args, lock, queueing_lock FROM procrastinate_jobs "
            "WHERE task_name = 'provisioning.run_cycle' AND status = 'todo'"
        )
        return cursor.fetchall()


def an_app(stub, **settings):
    app = make_application(template="elium")
    configure(app, url=stub.url, token="t", **settings)
    user = DirectoryUserFactory(directory=app.directory)
    assign(app, user)
    return app


def test_scheduler_queues_each_due_job_once_and_a_worker_runs_them():
    with StubScim() as stub:
        first, second = an_app(stub), an_app(stub)
        off = an_app(stub, status="off")
        # Saving with Provisioning Status On queued each first cycle at once; the scheduler is
        # what queues them otherwise (after a lost task, or the next cycle): start it empty.
        assert len(queued_cycles()) == 2
        _clear_queue()

        assert set(jobs_due()) == {first.provisioning_job, second.provisioning_job}
        assert tasks.schedule_cycles(timestamp=0) == 2
        assert tasks.schedule_cycles(timestamp=0) == 0  # already waiting: queueing lock
        queued = queued_cycles()
        assert len(queued) == 2
        assert {lock for _, lock, _ in queued} == {
            f"provisioning-job-{first.provisioning_job.pk}",
            f"provisioning-job-{second.provisioning_job.pk}",
        }

        def run_worker():
            worker = procrastinate_app.with_connector(
                procrastinate_app.connector.get_worker_connector()
            )
            worker.run_worker(
                wait=False,
                install_signal_handlers=False,
                listen_notify=False,
                concurrency=2,
                queues=["default"],
            )
            # The periodic deferrer used Django's connection in asgiref's sync thread: close it.
            asyncio.run(sync_to_async(connections.close_all)())

        # A thread of its own: the worker runs its own event loop, and a browser test earlier
        # in the session may have left one running in this thread.
        in_a_fresh_thread(run_worker)

    for app in (first, second):
        cycle = ProvisioningCycle.objects.get(job=app.provisioning_job)
        assert cycle.state == ProvisioningCycle.State.SUCCEEDED
        assert job_state(app.provisioning_job).code == ProvisioningJobState.Code.ACTIVE
    assert not ProvisioningCycle.objects.filter(job=off.provisioning_job).exists()
    assert len(stub.users) == 2
    assert list(jobs_due()) == []  # next cycles are an interval away


def test_stop_pauses_and_start_queues_a_cycle():
    with StubScim() as stub:
        app = an_app(stub)
        job = app.provisioning_job
        provisioning_job_stop(job=job)
        assert tasks.run_cycle(job_pk=job.pk) is None  # Off: no cycle starts
        assert not ProvisioningCycle.objects.filter(job=job).exists()
        assert list(jobs_due()) == []

        provisioning_job_start(job=job)
        assert len(queued_cycles()) == 1
        cycle_id = tasks.run_cycle(job_pk=job.pk)

    assert ProvisioningCycle.objects.get(job=job).cycle_id.hex == cycle_id.replace("-", "")
    assert list(app.audit_events.values_list("activity", flat=True))[:2] == [
        "Enable/start provisioning configuration",
        "Disable/pause provisioning configuration",
    ]


def test_provision_command_runs_a_cycle_and_prints_the_summary():
    with StubScim() as stub:
        app = an_app(stub)
        out, err = io.StringIO(), io.StringIO()
        call_command("provision", app.name, stdout=out, stderr=err)
        call_command("provision", str(app.object_id), "--restart", stdout=out, stderr=err)

    text = out.getvalue()
    assert "Initial cycle" in text
    assert "Created: 1" in text
    assert "Created: 0" in text  # the restart re-matched, nothing created twice
    assert "100%" in err.getvalue()
    assert len(stub.users) == 1


def test_provision_command_reports_unknown_apps():
    with pytest.raises(CommandError, match="No application"):
        call_command("provision", "Nope")
