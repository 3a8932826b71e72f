"""The connector data store and the provisioning logs, as a cycle (or provision on demand)
writes them: a chunk's outcomes upserted and bulk-inserted in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from elium_portal.fastsql import bulk_insert
from provisioning.defaults import directory_product_name
from provisioning.engine.scim_client import recommendation_for
from provisioning.engine.sync import Outcome
from provisioning.models import ConnectorObject, ProvisioningJob, ProvisioningLogEntry

INITIATED_BY = "Azure AD Provisioning Service"


def target_system_name(job: ProvisioningJob) -> str:
    return job.application.name


def source_system_name() -> str:
    return directory_product_name()


def log_entry(job: ProvisioningJob, cycle_id: uuid.UUID | None, outcome: Outcome, **extra):
    return ProvisioningLogEntry(
        job=job,
        cycle_id=cycle_id,
        change_id=outcome.change_id,
        activity_at=outcome.started_at,
        action=outcome.action or "Other",
        status=outcome.status,
        object_type=outcome.object_type,
        source_id=str(outcome.source_id),
        source_display=outcome.display[:256],
        target_id=outcome.target_id,
        target_display=outcome.display[:256],
        source_system=source_system_name(),
        target_system=target_system_name(job),
        modified_properties=outcome.modified,
        steps=outcome.steps,
        error_code=outcome.error_code,
        error_reason=outcome.reason,
        error_recommendation=recommendation_for(outcome.error_code),
        duration_ms=outcome.duration_ms,
        **extra,
    )


def escrow_delay(attempts: int, interval_minutes: int) -> timedelta:
    """Escrowed objects are retried "with gradually decreasing frequency": the next cycle
    first, then after 1, 3, 7… intervals, at most daily."""
    intervals = (2 ** max(attempts - 1, 0)) - 1
    return min(timedelta(minutes=interval_minutes * intervals), timedelta(hours=24))


def _escrow(
    previous: ConnectorObject | None,
    prefix: str,
    outcome: Outcome | None,
    now: datetime,
    interval_minutes: int,
) -> tuple[int, datetime | None, str, str]:
    """(attempts, next attempt, error code, error) of one escrow of a row: ``outcome`` failed
    and is retried later (one more attempt, a longer wait), or succeeded (cleared); without an
    outcome the row's previous escrow is kept."""
    attempts_field = "escrow_attempts" if prefix == "escrow" else "reference_attempts"
    if outcome is None:
        if previous is None:
            return 0, None, "", ""
        return (
            getattr(previous, attempts_field),
            getattr(previous, f"{prefix}_next_attempt"),
            getattr(previous, f"{prefix}_error_code"),
            getattr(previous, f"{prefix}_error"),
        )
    if not outcome.escrow:
        return 0, None, "", ""
    attempts = (getattr(previous, attempts_field) if previous else 0) + 1
    return (
        attempts,
        now + escrow_delay(attempts, interval_minutes),
        outcome.error_code,
        outcome.reason[:4000],
    )


def persist_outcomes(
    *,
    job: ProvisioningJob,
    cycle_id: uuid.UUID | None,
    outcomes: list[Outcome],
    links: dict[uuid.UUID, ConnectorObject],
    initiated_by: str = INITIATED_BY,
) -> list[ProvisioningLogEntry]:
    """Write a chunk's outcomes: upsert connector data store rows, bulk-insert log entries
    (each one statement: :func:`~elium_portal.fastsql.bulk_insert`). The entries returned are
    not read back: they carry no primary key."""
    now = timezone.now()
    interval = job.cycle_interval_minutes
    rows = []
    for outcome in outcomes:
        previous = links.get(outcome.source_id)
        if previous is None and not (outcome.target_id or outcome.escrow or outcome.staged_action):
            continue  # never provisioned and nothing to remember
        # A reference pass escrows the reference and keeps the export's escrow; an export
        # escrows the export and keeps the reference's.
        reference = outcome.phase == "references"
        export_escrow = _escrow(
            previous, "escrow", outcome if not reference else None, now, interval
        )
        reference_escrow = _escrow(
            previous, "reference", outcome if reference else None, now, interval
        )
        rows.append(
            ConnectorObject(
                job=job,
                object_type=outcome.object_type,
                source_id=outcome.source_id,
                display_name=outcome.display[:256],
                target_id=outcome.target_id,
                target_state=outcome.target_state,
                exported=outcome.exported,
                staged_action=outcome.staged_action,
                needs_reference=outcome.needs_reference
                or bool(previous and previous.needs_reference and outcome.phase == "export"),
                last_cycle_id=cycle_id,
                escrow_attempts=export_escrow[0],
                escrow_next_attempt=export_escrow[1],
                escrow_error_code=export_escrow[2],
                escrow_error=export_escrow[3],
                reference_attempts=reference_escrow[0],
                reference_next_attempt=reference_escrow[1],
                reference_error_code=reference_escrow[2],
                reference_error=reference_escrow[3],
            )
        )
    entries = [
        log_entry(job, cycle_id, outcome, initiated_by=initiated_by)
        for outcome in outcomes
        if outcome.action
    ]
    with transaction.atomic():
        if rows:
            bulk_insert(
                ConnectorObject,
                rows,
                unique_fields=["job", "object_type", "source_id"],
                update_fields=[
                    "display_name",
                    "target_id",
                    "target_state",
                    "exported",
                    "staged_action",
                    "needs_reference",
                    "last_cycle_id",
                    "escrow_attempts",
                    "escrow_next_attempt",
                    "escrow_error_code",
                    "escrow_error",
                    "reference_attempts",
                    "reference_next_attempt",
                    "reference_error_code",
                    "reference_error",
                    "updated_at",
                ],
            )
        if entries:
            bulk_insert(ProvisioningLogEntry, entries)
    return entries
