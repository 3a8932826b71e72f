"""Quarantine (entra-scim-behaviour.md §3.8, provisioning-ui.md B.12): when a job's target keeps
failing as a whole — rejected credentials, a non-SCIM answer to queries, escrow thresholds, too
many deletes — the job stops running every interval and retries on a widening schedule
(+6 h, +12 h, +24 h, then daily); after 28 days it is disabled. A one-time email goes to the
Notification Email when the checkbox is set, and again only when the reason changes.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from provisioning.audit import Activity, provisioning_audit_record
from provisioning.models import ConnectorObject, ProvisioningJob, ProvisioningJobState

logger = logging.getLogger(__name__)

Reason = ProvisioningJobState.QuarantineReason
RETRY_SCHEDULE_HOURS = (6, 12, 24)
QUARANTINE_MAX_DAYS = 28

REASON_TEXT = {
    Reason.QUARANTINE_EXCEPTION: "The provisioning service could not talk to the application "
    "(invalid credentials, or the SCIM endpoint does not answer as SCIM requires).",
    Reason.BASE_ESCROW: "Too many objects failed to provision (base escrow threshold).",
    Reason.TOTAL_ESCROW: "Too many objects failed to provision (total escrow threshold).",
    Reason.ESCROW_PROPORTION: "Too large a proportion of the objects failed to provision.",
    Reason.TOO_MANY_DELETES: "A cycle would have deleted or disabled more objects than the "
    "accidental deletion threshold allows.",
    Reason.ON_DEMAND: "The job was quarantined on demand.",
    Reason.UNKNOWN: "Unknown",
}


def next_attempt_delay(series_count: int) -> timedelta:
    """+6 h, +12 h, +24 h, then every 24 h (``series_count`` = attempts so far, from 1)."""
    index = min(max(series_count, 1), len(RETRY_SCHEDULE_HOURS)) - 1
    return timedelta(hours=RETRY_SCHEDULE_HOURS[index])


def _notify(job: ProvisioningJob, state: ProvisioningJobState) -> None:
    if not (job.send_failure_email and job.notification_email):
        return
    if state.quarantine_notified_reason == state.quarantine_reason:
        return
    application = job.application
    subject = f"Provisioning for {application.name} has been quarantined"
    body = (
        f"Provisioning for the application '{application.name}' (job {job.job_id}) has been "
        f"placed in quarantine.\n\nReason: {state.quarantine_reason}\n"
        f"{REASON_TEXT.get(state.quarantine_reason, '')}\n\n"
    )
    if state.quarantine_error:
        body += (
            "While attempting to provision, we received this unexpected response: "
            f"{state.quarantine_error[:2000]}\n\n"
        )
    if state.quarantine_reason == Reason.TOO_MANY_DELETES:
        body += (
            "Review the staged deletions in the provisioning logs (Action = StagedDelete), then "
            "choose Allow deletes, or fix the cause and Restart provisioning.\n"
        )
    elif state.quarantine_next_attempt:
        body += f"Next attempt: {state.quarantine_next_attempt.isoformat()}\n"
    sender = settings.PROVISIONING_EMAIL_FROM
    try:
        send_mail(subject, body, sender, [job.notification_email], fail_silently=False)
    except Exception:  # the notification must never break the cycle
        logger.exception("Quarantine email for job %s could not be sent", job.job_id)
        return
    state.quarantine_notified_reason = state.quarantine_reason


def quarantine_enter(
    *, job: ProvisioningJob, state: ProvisioningJobState, reason: str, error: str = ""
) -> None:
    """Put the job in (or keep it in) quarantine, schedule its next attempt, notify."""
    now = timezone.now()
    was = state.code == ProvisioningJobState.Code.QUARANTINE
    if not was:
        state.quarantine_series_began = now
        state.quarantine_series_count = 0
    state.code = ProvisioningJobState.Code.QUARANTINE
    state.quarantine_began = now
    state.quarantine_series_count += 1
    state.quarantine_error = error[:4000]
    changed_reason = state.quarantine_reason != reason
    state.quarantine_reason = reason
    if reason == Reason.TOO_MANY_DELETES:
        state.quarantine_next_attempt = None  # waits for Allow deletes or Restart
    else:
        state.quarantine_next_attempt = now + next_attempt_delay(state.quarantine_series_count)
    if not was or changed_reason:
        provisioning_audit_record(
            application=job.application,
            activity=Activity.QUARANTINE,
            details={"reason": reason},
        )
    _notify(job, state)
    if state.quarantine_series_began and now - state.quarantine_series_began > timedelta(
        days=QUARANTINE_MAX_DAYS
    ):
        # More than four weeks in quarantine: escrows are dropped and the job is disabled.
        with transaction.atomic():
            ConnectorObject.objects.filter(job=job).update(
                escrow_attempts=0,
                escrow_next_attempt=None,
                escrow_error_code="",
                escrow_error="",
                reference_attempts=0,
                reference_next_attempt=None,
                reference_error_code="",
                reference_error="",
            )
            ProvisioningJob.objects.filter(pk=job.pk).update(status=ProvisioningJob.Status.OFF)
        job.status = ProvisioningJob.Status.OFF
        state.quarantine_next_attempt = None
    state.save()


def quarantine_lift(*, state: ProvisioningJobState) -> None:
    """Leave quarantine (a cycle succeeded, or Restart / Allow deletes)."""
    state.quarantine_reason = ""
    state.quarantine_error = ""
    state.quarantine_began = None
    state.quarantine_series_began = None
    state.quarantine_series_count = 0
    state.quarantine_next_attempt = None
    state.quarantine_notified_reason = ""
    if state.code == ProvisioningJobState.Code.QUARANTINE:
        state.code = ProvisioningJobState.Code.ACTIVE


def escrow_quarantine_reason(*, escrowed: int, escrowed_reference: int, total: int) -> str | None:
    """Escrow thresholds (§3.8): evaluated from 5,000 failures; > 40 % of events or > 40,000
    failures (reference failures excluded), or > 60,000 failures in all."""
    evaluate_from = settings.PROVISIONING_ESCROW_EVALUATION_MIN
    proportion = settings.PROVISIONING_ESCROW_PROPORTION
    base = settings.PROVISIONING_ESCROW_BASE_THRESHOLD
    all_failures = settings.PROVISIONING_ESCROW_TOTAL_THRESHOLD
    if escrowed + escrowed_reference > all_failures:
        return Reason.TOTAL_ESCROW
    if escrowed < evaluate_from:
        return None
    if escrowed > base:
        return Reason.BASE_ESCROW
    if total and escrowed / total > proportion:
        return Reason.ESCROW_PROPORTION
    return None
