"""The Current status toolbar: Start, Stop and Restart provisioning, Allow deletes — and which
jobs are due for a cycle (the scheduler's question)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from provisioning.audit import Activity, provisioning_audit_record
from provisioning.engine.cycle import job_state
from provisioning.engine.quarantine import quarantine_lift
from provisioning.models import (
    ConnectorObject,
    ProvisioningCycle,
    ProvisioningJob,
    ProvisioningJobState,
)

Code = ProvisioningJobState.Code


def _enqueue(job: ProvisioningJob) -> None:
    from provisioning.tasks import cycle_defer

    transaction.on_commit(lambda: cycle_defer(job_pk=job.pk))


@transaction.atomic
def provisioning_job_start(*, job: ProvisioningJob, actor=None) -> None:
    """Start provisioning: status On and a cycle queued now."""
    if not job.is_configured:
        raise ValidationError(
            "Configure Automatic provisioning with a Tenant URL before starting provisioning."
        )
    ProvisioningJob.objects.filter(pk=job.pk).update(status=ProvisioningJob.Status.ON)
    job.status = ProvisioningJob.Status.ON
    state = job_state(job)
    state.next_cycle_at = timezone.now()
    if state.code in (Code.NOT_RUN, Code.PAUSED):
        state.code = Code.ACTIVE
    state.save()
    provisioning_audit_record(application=job.application, activity=Activity.START, actor=actor)
    _enqueue(job)


@transaction.atomic
def provisioning_job_stop(*, job: ProvisioningJob, actor=None) -> None:
    """Stop provisioning: status Off; a running cycle completes, no new one starts."""
    ProvisioningJob.objects.filter(pk=job.pk).update(status=ProvisioningJob.Status.OFF)
    job.status = ProvisioningJob.Status.OFF
    state = job_state(job)
    if state.code == Code.ACTIVE:
        state.code = Code.PAUSED
        state.save(update_fields=["code", "updated_at"])
    provisioning_audit_record(application=job.application, activity=Activity.STOP, actor=actor)


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
            Q(escrow_attempts__gt=0) | ~Q(staged_action="")
        ).update(
            escrow_attempts=0,
            escrow_next_attempt=None,
            escrow_error_code="",
            escrow_error="",
            staged_action="",
        )
        ProvisioningCycle.objects.filter(job=job, state=ProvisioningCycle.State.RUNNING).update(
            state=ProvisioningCycle.State.FAILED, ended_at=timezone.now(), error="Restarted"
        )


@transaction.atomic
def provisioning_job_restart(*, job: ProvisioningJob, actor=None) -> None:
    """Restart provisioning: clear the state (see :func:`provisioning_job_reset`) and queue a
    new initial cycle when provisioning is on."""
    provisioning_job_reset(job=job)
    provisioning_audit_record(application=job.application, activity=Activity.RESTART, actor=actor)
    job.refresh_from_db(fields=["status"])
    if job.status == ProvisioningJob.Status.ON:
        _enqueue(job)


@transaction.atomic
def provisioning_job_allow_deletes(*, job: ProvisioningJob, actor=None) -> None:
    """Allow deletes: lift the TooManyDeletes quarantine; the next cycle exports the staged
    deletes and disables whatever their number."""
    state = job_state(job)
    if state.quarantine_reason != ProvisioningJobState.QuarantineReason.TOO_MANY_DELETES:
        raise ValidationError("The job is not quarantined for too many deletes.")
    quarantine_lift(state=state)
    state.allow_deletes = True
    state.next_cycle_at = timezone.now()
    state.save()
    provisioning_audit_record(
        application=job.application,
        activity=Activity.UPDATE_SETTINGS,
        actor=actor,
        details={"allow_deletes": True},
    )
    job.refresh_from_db(fields=["status"])
    if job.status == ProvisioningJob.Status.ON:
        _enqueue(job)


def jobs_due(*, now=None) -> QuerySet[ProvisioningJob]:
    """Jobs the scheduler should run now: On, configured, and either never run, past their
    interval, or in quarantine with their next attempt due."""
    now = now or timezone.now()
    return (
        ProvisioningJob.objects.filter(
            status=ProvisioningJob.Status.ON, mode=ProvisioningJob.Mode.AUTOMATIC
        )
        .exclude(tenant_url="")
        .filter(
            Q(state__isnull=True)
            | (
                ~Q(state__code=Code.QUARANTINE)
                & (Q(state__next_cycle_at__isnull=True) | Q(state__next_cycle_at__lte=now))
            )
            | Q(state__code=Code.QUARANTINE, state__quarantine_next_attempt__lte=now)
        )
    )
