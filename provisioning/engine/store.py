"""The connector data store and the provisioning logs, as a cycle (or provision on demand)
writes them: a chunk's outcomes upserted and bulk-inserted in one transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

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


def persist_outcomes(
    *,
    job: ProvisioningJob,
    cycle_id: uuid.UUID | None,
    outcomes: list[Outcome],
    links: dict[uuid.UUID, ConnectorObject],
    initiated_by: str = INITIATED_BY,
) -> list[ProvisioningLogEntry]:
    """Write a chunk's outcomes: upsert connector data store rows, bulk-insert log entries."""
    now = timezone.now()
    rows = []
    for outcome in outcomes:
        previous = links.get(outcome.source_id)
        if previous is None and not (outcome.target_id or outcome.escrow or outcome.staged_action):
            continue  # never provisioned and nothing to remember
        attempts = (previous.escrow_attempts if previous else 0) + 1 if outcome.escrow else 0
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
                escrow_attempts=attempts,
                escrow_next_attempt=(
                    now + escrow_delay(attempts, job.cycle_interval_minutes) if attempts else None
                ),
                escrow_error_code=outcome.error_code if outcome.escrow else "",
                escrow_error=outcome.reason[:4000] if outcome.escrow else "",
            )
        )
    entries = [
        log_entry(job, cycle_id, outcome, initiated_by=initiated_by)
        for outcome in outcomes
        if outcome.action
    ]
    with transaction.atomic():
        if rows:
            ConnectorObject.objects.bulk_create(
                rows,
                update_conflicts=True,
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
                    "updated_at",
                ],
            )
        if entries:
            ProvisioningLogEntry.objects.bulk_create(entries, batch_size=500)
    return entries
