"""Provisioning logs: the list's search and filters, the CSV and JSON downloads, retention, and
the figures Current status shows (connector data store counts, statistics to date, the recent
cycles drawn as a chart)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from provisioning.models import (
    ConnectorObject,
    ProvisioningCycle,
    ProvisioningJob,
    ProvisioningLogEntry,
)

DATE_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text).strip())
    except (ValueError, AttributeError):
        return None


def log_entry_list(
    *,
    job: ProvisioningJob,
    search: str = "",
    status: str = "",
    action: str = "",
    date_range: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
    cycle_id: str = "",
    change_id: str = "",
    job_id: str = "",
) -> QuerySet[ProvisioningLogEntry]:
    """The job's log entries, newest first, filtered as the portal's pills filter them. Ids
    that are not UUIDs match nothing (never an error)."""
    entries = ProvisioningLogEntry.objects.filter(job=job)
    search = search.strip()
    if search:
        entries = entries.filter(
            Q(source_display__icontains=search)
            | Q(target_display__icontains=search)
            | Q(source_id=search)
            | Q(target_id=search)
        )
    if status in ProvisioningLogEntry.Status.values:
        entries = entries.filter(status=status)
    if action in ProvisioningLogEntry.Action.values:
        entries = entries.filter(action=action)
    if date_range in DATE_RANGES:
        entries = entries.filter(activity_at__gte=timezone.now() - DATE_RANGES[date_range])
    if start:
        entries = entries.filter(activity_at__gte=start)
    if end:
        entries = entries.filter(activity_at__lte=end)
    if cycle_id:
        entries = entries.filter(cycle_id=_uuid(cycle_id)) if _uuid(cycle_id) else entries.none()
    if change_id:
        value = _uuid(change_id)
        entries = entries.filter(change_id=value) if value else entries.none()
    if job_id and job_id.strip() != job.job_id:
        entries = entries.none()
    return entries.order_by("-activity_at", "-id")


def log_entry_get(*, job: ProvisioningJob, change_id: uuid.UUID) -> ProvisioningLogEntry | None:
    return ProvisioningLogEntry.objects.filter(job=job, change_id=change_id).first()


def log_entry_as_graph(entry: ProvisioningLogEntry) -> dict[str, Any]:
    """An entry shaped like Graph's ``provisioningObjectSummary``."""
    return {
        "id": str(entry.change_id),
        "activityDateTime": entry.activity_at.isoformat(),
        "changeId": str(entry.change_id),
        "cycleId": str(entry.cycle_id) if entry.cycle_id else None,
        "jobId": entry.job.job_id,
        "durationInMilliseconds": entry.duration_ms,
        "initiatedBy": {"displayName": entry.initiated_by, "initiatorType": "system"},
        "provisioningAction": entry.action[0].lower() + entry.action[1:],
        "provisioningStatusInfo": {
            "status": entry.status.lower(),
            "errorInformation": (
                {
                    "errorCode": entry.error_code,
                    "reason": entry.error_reason,
                    "recommendedAction": entry.error_recommendation,
                }
                if entry.error_code
                else None
            ),
        },
        "provisioningSteps": [
            {
                "name": s.get("name"),
                "provisioningStepType": (s.get("type") or "").lower(),
                "status": (s.get("status") or "").lower(),
                "description": s.get("description"),
                "details": s.get("details") or {},
            }
            for s in entry.steps
        ],
        "modifiedProperties": entry.modified_properties,
        "sourceIdentity": {
            "id": entry.source_id,
            "displayName": entry.source_display,
            "identityType": entry.object_type.capitalize(),
        },
        "targetIdentity": {
            "id": entry.target_id,
            "displayName": entry.target_display,
            "identityType": entry.object_type.capitalize(),
        },
        "sourceSystem": {"displayName": entry.source_system},
        "targetSystem": {"displayName": entry.target_system},
    }


def log_entries_json(entries: QuerySet[ProvisioningLogEntry]) -> str:
    rows = [log_entry_as_graph(e) for e in entries.select_related("job").iterator(chunk_size=500)]
    return json.dumps(rows, indent=1, default=str)


def log_entries_csv(entries: QuerySet[ProvisioningLogEntry]) -> str:
    """The portal's three CSV files (entries, steps, modified properties) joined by change ID,
    concatenated in one download with a title line before each."""
    main, steps, props = io.StringIO(), io.StringIO(), io.StringIO()
    main_writer = csv.writer(main)
    steps_writer = csv.writer(steps)
    props_writer = csv.writer(props)
    main_writer.writerow(
        [
            "Date (UTC)",
            "Change ID",
            "Cycle ID",
            "Job ID",
            "Action",
            "Status",
            "Source ID",
            "Identity",
            "Target ID",
            "Source System",
            "Target System",
            "Error Code",
            "Reason",
            "Duration (ms)",
        ]
    )
    steps_writer.writerow(["Change ID", "Step", "Type", "Status", "Description"])
    props_writer.writerow(["Change ID", "Property", "Old Value", "New Value"])
    for entry in entries.select_related("job").iterator(chunk_size=500):
        change = str(entry.change_id)
        main_writer.writerow(
            [
                entry.activity_at.isoformat(),
                change,
                entry.cycle_id or "",
                entry.job.job_id,
                entry.action,
                entry.status,
                entry.source_id,
                entry.source_display,
                entry.target_id,
                entry.source_system,
                entry.target_system,
                entry.error_code,
                entry.error_reason,
                entry.duration_ms,
            ]
        )
        for item in entry.steps:
            steps_writer.writerow(
                [
                    change,
                    item.get("name"),
                    item.get("type"),
                    item.get("status"),
                    item.get("description"),
                ]
            )
        for prop in entry.modified_properties:
            props_writer.writerow(
                [
                    change,
                    prop.get("displayName"),
                    _text(prop.get("oldValue")),
                    _text(prop.get("newValue")),
                ]
            )
    return (
        "# ProvisioningLogs\n"
        + main.getvalue()
        + "\n# ProvisioningLogs_ProvisioningSteps\n"
        + steps.getvalue()
        + "\n# ProvisioningLogs_ModifiedProperties\n"
        + props.getvalue()
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def provisioning_logs_prune(*, now: datetime | None = None) -> int:
    """Drop entries older than ``PROVISIONING_LOG_RETENTION_DAYS`` (30, as Entra P1/P2)."""
    days = settings.PROVISIONING_LOG_RETENTION_DAYS
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = ProvisioningLogEntry.objects.filter(activity_at__lt=cutoff).delete()
    return deleted


# -- Current status -------------------------------------------------------------------------


@dataclass
class StatusFigures:
    users: int
    groups: int
    totals: dict[str, int]
    last_completed: ProvisioningCycle | None
    recent: list[ProvisioningCycle]


def status_figures(*, job: ProvisioningJob) -> StatusFigures:
    """Users and Groups in the connector data store (linked objects; never lowered by
    deletes), cumulative counts and the recent cycles."""
    linked = ConnectorObject.objects.filter(job=job).exclude(target_id="")
    users = linked.filter(object_type="user").count()
    groups = linked.filter(object_type="group").count()
    totals: dict[str, int] = {}
    for counts in ProvisioningCycle.objects.filter(job=job).values_list("counts", flat=True):
        for key, value in (counts or {}).items():
            totals[key] = totals.get(key, 0) + value
    last_completed = (
        ProvisioningCycle.objects.filter(job=job, ended_at__isnull=False)
        .exclude(state=ProvisioningCycle.State.RUNNING)
        .order_by("-ended_at")
        .first()
    )
    recent = list(ProvisioningCycle.objects.filter(job=job).order_by("-started_at")[:20])[::-1]
    return StatusFigures(users, groups, totals, last_completed, recent)


CHART_SERIES = (
    ("Created", "Create", "Success", "#107c10"),
    ("Updated", "Update", "Success", "#0078d4"),
    ("Disabled", "Disable", "Success", "#ca5010"),
    ("Deleted", "Delete", "Success", "#a4262c"),
    ("Skipped", None, "Skipped", "#8a8886"),
    ("Failed", None, "Failure", "#d13438"),
)


def cycles_chart_svg(cycles: list[ProvisioningCycle], *, width: int = 640, height: int = 200):
    """A stacked bar per cycle (created, updated, disabled, deleted, skipped, failed) with the
    cycle duration as a line, as inline SVG (no script, no library)."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    if not cycles:
        return mark_safe('<svg role="img" aria-label="No cycles yet" width="0" height="0"></svg>')
    left, bottom, top = 40, 30, 10
    plot_w, plot_h = width - left - 50, height - bottom - top
    stacks = []
    for cycle in cycles:
        stack = [
            (label, cycle.count(action, status), color)
            for label, action, status, color in CHART_SERIES
        ]
        stacks.append(stack)
    peak = max(1, max(sum(v for _, v, _ in s) for s in stacks))
    durations = [c.duration_seconds or 0 for c in cycles]
    peak_duration = max(1.0, max(durations))
    slot = plot_w / len(cycles)
    bar = min(36.0, max(4.0, slot * 0.6))  # a few cycles must not look like a wall
    parts = [
        f'<svg class="az-chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="Recent provisioning cycles" data-testid="cycles-chart">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#8a8886"/>',
        f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" font-size="10">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>',
        f'<text x="{left + plot_w + 6}" y="{top + 8}" font-size="10">{peak_duration:.0f}s</text>',
    ]
    points = []
    for index, (cycle, stack) in enumerate(zip(cycles, stacks, strict=True)):
        x = left + index * slot + (slot - bar) / 2
        y = top + plot_h
        for label, value, color in stack:
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(label)}: {value} '
                f"({escape(cycle.get_kind_display())} cycle "
                f"{cycle.started_at:%Y-%m-%d %H:%M})</title></rect>"
            )
        cx = left + index * slot + slot / 2
        cy = top + plot_h - plot_h * durations[index] / peak_duration
        points.append(f"{cx:.1f},{cy:.1f}")
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#323130" '
        'stroke-dasharray="4 2"><title>Cycle duration</title></polyline>'
    )
    legend_x = left
    for label, _, _, color in CHART_SERIES:
        parts.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="{height - 5}" font-size="10">{label}</text>'
        )
        legend_x += 78
    parts.append(f'<text x="{legend_x}" y="{height - 5}" font-size="10">- - duration</text></svg>')
    return mark_safe("".join(parts))
