"""Background work of the provisioning service (procrastinate).

* ``provisioning.schedule_cycles`` — every minute: queue a cycle for every job that is due.
* ``provisioning.run_cycle`` — one cycle of one job. Deferred with the job's ``lock`` (two
  such tasks never run at the same time) and ``queueing_lock`` (at most one waits in the queue),
  and the cycle itself holds the job's PostgreSQL advisory lock, so a job never runs twice at
  once across any number of workers, while different jobs run in parallel.
* ``provisioning.prune_logs`` — daily retention of provisioning logs.
* ``provisioning.run_directory_import`` — a large directory file imported on a worker.
* ``provisioning.run_scim_validation`` — a SCIM Validator run started from the console.
* ``provisioning.recover_stalled_validations`` — every minute: a validation run whose worker
  died is ended ("Could not run", with the reason), what it created on the target is deleted
  and its scratch directory removed (a run cannot resume: its checks hold their state in
  memory).
* ``provisioning.retry_stalled_jobs`` — every minute: a job left ``doing`` by a worker that
  died (``kill -9``, OOM, a lost machine: no heartbeat for ``WORKER_STALLED_SECONDS``) is put
  back in the queue, so its lock is released and provisioning goes on by itself. A cycle is
  resumable (the engine resumes a cycle left running and matches what the dead worker already
  created on the target), so the retry neither loses nor duplicates an object.

Tasks take ids and call services and the engine. Nothing imports this module but the services
that defer its tasks (``services/jobs.py``, ``services/import_jobs.py``,
``services/validator_runs.py``), and nothing this module imports imports them, so there is no
import circle (which is why the validator's lifecycle checks configure their scratch job
without ``services/jobs.py``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import close_old_connections
from procrastinate import JobContext
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from procrastinate.jobs import Status

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.models import ProvisioningJob
from provisioning.selectors import jobs_due
from provisioning.services.import_worker import directory_import_job_run
from provisioning.services.logs import provisioning_logs_prune
from provisioning.validator.runs import scim_validation_run_execute, scim_validation_runs_recover

logger = logging.getLogger(__name__)


def job_lock_name(job_pk: int) -> str:
    return f"provisioning-job-{job_pk}"


def cycle_defer(*, job_pk: int) -> bool:
    """Queue a cycle of the job unless one is already waiting; True when queued."""
    try:
        run_cycle.configure(lock=job_lock_name(job_pk), queueing_lock=job_lock_name(job_pk)).defer(
            job_pk=job_pk
        )
    except AlreadyEnqueued:
        return False
    return True


@app.periodic(cron="* * * * *", periodic_id="provisioning-scheduler")
@app.task(name="provisioning.schedule_cycles", queueing_lock="provisioning-scheduler")
def schedule_cycles(timestamp: int) -> int:
    """Every minute: queue the cycles that are due. Returns how many were queued."""
    queued = 0
    try:
        for job_pk in jobs_due().values_list("pk", flat=True):
            queued += cycle_defer(job_pk=job_pk)
    finally:
        close_old_connections()  # worker threads keep no connection past its max age
    return queued


@app.task(name="provisioning.run_cycle")
def run_cycle(job_pk: int) -> str | None:
    """Run one cycle of the job if its Provisioning Status is On (Off pauses: the running
    cycle completes, the next one does not start) and it is still due. The scheduler may queue
    the next run while a cycle is running (the queueing lock only covers waiting runs); once that
    cycle has ended the job is an interval away from due, and the queued run does nothing."""
    try:
        job = ProvisioningJob.objects.filter(pk=job_pk).first()
        if job is None or job.status != ProvisioningJob.Status.ON:
            return None
        if not jobs_due().filter(pk=job_pk).exists():
            return None
        cycle = provisioning_cycle_run(job=job)
        return str(cycle.cycle_id) if cycle else None
    finally:
        close_old_connections()


@app.periodic(cron="43 3 * * *", periodic_id="prune-provisioning-logs")
@app.task(name="provisioning.prune_logs", queueing_lock="prune-provisioning-logs")
def prune_logs(timestamp: int) -> int:
    """Daily: drop provisioning log entries past ``PROVISIONING_LOG_RETENTION_DAYS``."""
    return provisioning_logs_prune()


@app.task(name="provisioning.run_directory_import")
def run_directory_import(job_pk: int) -> str | None:
    """Import a large directory file in the background (progress on the job row)."""
    job = directory_import_job_run(job_pk=job_pk)
    return job.status if job else None


@app.task(name="provisioning.run_scim_validation", pass_context=True)
def run_scim_validation(context: JobContext, run_pk: int) -> str | None:
    """Run the SCIM Validator for a console request (progress on the run's row; the
    procrastinate job's id on it, so a dead worker's run is recognised)."""
    try:
        job_id = context.job.id if context.job else None
        run = scim_validation_run_execute(run_pk=run_pk, worker_job_id=job_id)
        return run.status if run else None
    finally:
        close_old_connections()


@app.periodic(cron="* * * * *", periodic_id="recover-stalled-validations")
@app.task(
    name="provisioning.recover_stalled_validations", queueing_lock="recover-stalled-validations"
)
def recover_stalled_validations(timestamp: int) -> int:
    """Every minute: end the validation runs of dead workers and clean up after them."""
    try:
        return scim_validation_runs_recover()
    finally:
        close_old_connections()


@app.periodic(cron="* * * * *", periodic_id="retry-stalled-jobs")
@app.task(
    name="provisioning.retry_stalled_jobs", queueing_lock="retry-stalled-jobs", pass_context=True
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
    """Every minute: requeue the jobs of dead workers. Returns how many were requeued.

    A stalled job whose queueing lock is already taken by a waiting twin (the scheduler queued
    the next cycle meanwhile) is marked failed instead: the twin runs, nothing runs twice."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.WORKER_STALLED_SECONDS
    )
    requeued = 0
    for job in stalled:
        if job.id == context.job.id:
            continue
        try:
            await manager.retry_job(job)
            requeued += 1
            logger.warning("Requeued job %s (%s) of a dead worker", job.id, job.task_name)
        except ConnectorException:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            logger.warning(
                "Job %s (%s) of a dead worker failed; its queued twin runs instead",
                job.id,
                job.task_name,
            )
    return requeued
