"""A job's run-time state: its state row (watermark, quarantine, next cycle), the advisory
lock that keeps one cycle of a job running at a time, and the reset Restart performs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from provisioning.engine.quarantine import quarantine_lift
from provisioning.models import (
    ConnectorObject,
    ProvisioningCycle,
    ProvisioningJob,
    ProvisioningJobState,
)

LOCK_NAMESPACE = 0x454C49  # "ELI": advisory-lock class id of provisioning jobs

Code = ProvisioningJobState.Code


@contextmanager
def job_lock(job: ProvisioningJob) -> Iterator[bool]:
    """A session-level PostgreSQL advisory lock on the job: at most one cycle of a job runs at
    a time across every worker on every machine. Released when the block ends, or by
    PostgreSQL when the holder's connection dies with its worker."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, job.pk])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, job.pk])


def job_state(job: ProvisioningJob) -> ProvisioningJobState:
    state, _ = ProvisioningJobState.objects.get_or_create(job=job)
    return state


def provisioning_job_reset(*, job: ProvisioningJob) -> None:
    """What Restart clears (Graph restart with Watermark, Escrows, QuarantineState): the
    watermark (so the next cycle is initial), escrows, staged deletes and quarantine. Links
    between source and target objects are kept. A cycle left running by a dead worker is
    closed."""
    with transaction.atomic():
        state = job_state(job)
        state.watermark = None
        state.allow_deletes = False
        state.successive_complete_failures = 0
        quarantine_lift(state=state)
        state.next_cycle_at = timezone.now()
        if state.code == Code.QUARANTINE:
            state.code = Code.ACTIVE
        state.save()
        ConnectorObject.objects.filter(job=job).filter(
            Q(escrow_attempts__gt=0) | Q(reference_attempts__gt=0) | ~Q(staged_action="")
        ).update(
            escrow_attempts=0,
            escrow_next_attempt=None,
            escrow_error_code="",
            escrow_error="",
            reference_attempts=0,
            reference_next_attempt=None,
            reference_error_code="",
            reference_error="",
            staged_action="",
        )
        ProvisioningCycle.objects.filter(job=job, state=ProvisioningCycle.State.RUNNING).update(
            state=ProvisioningCycle.State.FAILED, ended_at=timezone.now(), error="Restarted"
        )
