"""Reads of the Azure side. Every selector takes the directory (or application) explicitly and
fails closed: an id from another directory is "not found"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from provisioning.engine.state import job_state
from provisioning.models import (
    AppRoleAssignment,
    ChangeRecord,
    ConnectorObject,
    Directory,
    DirectoryGroup,
    DirectoryUser,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningAuditEvent,
    ProvisioningCycle,
    ProvisioningJob,
    ProvisioningJobState,
    ProvisioningLogEntry,
    ScimValidationRun,
)


def directory_list() -> QuerySet[Directory]:
    return Directory.objects.annotate(
        user_count=Count("users", distinct=True), group_count=Count("groups", distinct=True)
    )


def directory_get(*, tenant_id: uuid.UUID) -> Directory:
    directory = Directory.objects.filter(tenant_id=tenant_id).first()
    if directory is None:
        raise Http404("No such directory")
    return directory


def directory_user_list(*, directory: Directory, search: str = "") -> QuerySet[DirectoryUser]:
    users = DirectoryUser.objects.for_directory(directory).select_related("manager")
    search = search.strip()
    if search:
        condition = (
            Q(display_name__icontains=search)
            | Q(user_principal_name__icontains=search)
            | Q(mail__icontains=search)
            | Q(given_name__istartswith=search)
            | Q(surname__istartswith=search)
        )
        if _is_uuid(search):
            condition |= Q(object_id=uuid.UUID(search))
        users = users.filter(condition)
    return users


def first_rows(queryset: QuerySet, *, total: int, size: int) -> list:
    """The first ``size`` rows of ``queryset``, which had ``total`` rows when counted just
    before: read without a ``LIMIT`` when those were no more than ``size`` (rows added since
    are cut off here).

    With a ``LIMIT``, PostgreSQL reads a search's candidates in the order of the index that
    serves the list's ordering, filtering each, because it expects a share of any ``LIKE`` to
    match and the first ones to come soon: a search matching 11 of 100,000 directory users
    walked all 100,000 entries of that index and their rows (150 ms). Without one, it scans
    the table and sorts the matches (55 ms). Many matches keep the ``LIMIT``, and come soon."""
    return list(queryset if total <= size else queryset[:size])[:size]


def directory_user_get(*, directory: Directory, object_id: uuid.UUID) -> DirectoryUser:
    user = DirectoryUser.objects.for_directory(directory).filter(object_id=object_id).first()
    if user is None:
        raise Http404("No such user")
    return user


def directory_group_list(*, directory: Directory, search: str = "") -> QuerySet[DirectoryGroup]:
    groups = DirectoryGroup.objects.filter(directory=directory).annotate(
        member_count=Count("members")
    )
    search = search.strip()
    if search:
        groups = groups.filter(Q(display_name__icontains=search) | Q(description__icontains=search))
    return groups


def directory_group_get(*, directory: Directory, object_id: uuid.UUID) -> DirectoryGroup:
    group = DirectoryGroup.objects.filter(directory=directory, object_id=object_id).first()
    if group is None:
        raise Http404("No such group")
    return group


def application_list(*, directory: Directory) -> QuerySet[EnterpriseApplication]:
    return EnterpriseApplication.objects.filter(directory=directory).select_related(
        "provisioning_job"
    )


def application_get(*, directory: Directory, object_id: uuid.UUID) -> EnterpriseApplication:
    application = (
        EnterpriseApplication.objects.filter(directory=directory, object_id=object_id)
        .select_related("provisioning_job", "directory")
        .first()
    )
    if application is None:
        raise Http404("No such application")
    return application


def app_assignment_list(*, application: EnterpriseApplication) -> QuerySet[AppRoleAssignment]:
    return application.assignments.select_related("role", "principal_user", "principal_group")


def object_mapping_get(*, application: EnterpriseApplication, object_type: str) -> ObjectMapping:
    mapping = ObjectMapping.objects.filter(
        job__application=application, object_type=object_type
    ).first()
    if mapping is None:
        raise Http404("No such mapping")
    return mapping


def audit_event_list(*, application: EnterpriseApplication) -> QuerySet[ProvisioningAuditEvent]:
    return application.audit_events.all()


def change_records_after(*, directory: Directory, watermark: int) -> QuerySet[ChangeRecord]:
    """Changes of the directory with an id above ``watermark``, oldest first."""
    return ChangeRecord.objects.filter(directory=directory, id__gt=watermark).order_by("id")


def change_watermark(*, directory: Directory) -> int:
    last = (
        ChangeRecord.objects.filter(directory=directory)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return last or 0


def jobs_due(*, now: datetime | None = None) -> QuerySet[ProvisioningJob]:
    """Jobs the scheduler should run now: On, configured, and either never run, past their
    interval, or in quarantine with their next attempt due."""
    now = now or timezone.now()
    quarantine = ProvisioningJobState.Code.QUARANTINE
    return (
        ProvisioningJob.objects.filter(
            status=ProvisioningJob.Status.ON, mode=ProvisioningJob.Mode.AUTOMATIC
        )
        .exclude(tenant_url="")
        .filter(
            Q(state__isnull=True)
            | (
                ~Q(state__code=quarantine)
                & (Q(state__next_cycle_at__isnull=True) | Q(state__next_cycle_at__lte=now))
            )
            | Q(state__code=quarantine, state__quarantine_next_attempt__lte=now)
        )
    )


# -- provisioning logs ------------------------------------------------------------------------

LOG_DATE_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def _uuid_or_none(text: str) -> uuid.UUID | None:
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
    if date_range in LOG_DATE_RANGES:
        entries = entries.filter(activity_at__gte=timezone.now() - LOG_DATE_RANGES[date_range])
    if start:
        entries = entries.filter(activity_at__gte=start)
    if end:
        entries = entries.filter(activity_at__lte=end)
    if cycle_id:
        value = _uuid_or_none(cycle_id)
        entries = entries.filter(cycle_id=value) if value else entries.none()
    if change_id:
        value = _uuid_or_none(change_id)
        entries = entries.filter(change_id=value) if value else entries.none()
    if job_id and job_id.strip() != job.job_id:
        entries = entries.none()
    return entries.order_by("-activity_at", "-id")


def log_entry_get(*, job: ProvisioningJob, change_id: uuid.UUID) -> ProvisioningLogEntry | None:
    return ProvisioningLogEntry.objects.filter(job=job, change_id=change_id).first()


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
    users = linked.filter(object_type=ConnectorObject.ObjectType.USER).count()
    groups = linked.filter(object_type=ConnectorObject.ObjectType.GROUP).count()
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


Action = ProvisioningLogEntry.Action
LogStatus = ProvisioningLogEntry.Status

CHART_SERIES = (
    ("Created", Action.CREATE, LogStatus.SUCCESS, "#107c10"),
    ("Updated", Action.UPDATE, LogStatus.SUCCESS, "#0078d4"),
    ("Disabled", Action.DISABLE, LogStatus.SUCCESS, "#ca5010"),
    ("Deleted", Action.DELETE, LogStatus.SUCCESS, "#a4262c"),
    ("Skipped", None, LogStatus.SKIPPED, "#8a8886"),
    ("Failed", None, LogStatus.FAILURE, "#d13438"),
)


@dataclass(frozen=True)
class ChartBar:
    """One coloured segment of a cycle's stacked bar (coordinates already formatted)."""

    x: str
    y: str
    width: str
    height: str
    color: str
    title: str


@dataclass(frozen=True)
class ChartLegendItem:
    color: str
    label: str


@dataclass(frozen=True)
class ChartTick:
    """A label on an axis: ``x``/``y`` where it goes, ``text`` what it says."""

    x: str
    y: str
    text: str


@dataclass(frozen=True)
class ChartPoint:
    x: str
    y: str
    title: str


@dataclass(frozen=True)
class CyclesChart:
    """What ``provisioning/includes/cycles_chart.html`` draws: a stacked bar per cycle
    (created, updated, disabled, deleted, skipped, failed) on a time axis (when each cycle
    started), and the cycle duration as a line with a marker per cycle, on its own scale at the
    right. Geometry is computed here; the template only places it. The legend is HTML under the
    chart, so it wraps and stays readable at any width."""

    width: int
    height: int
    left: int
    right: int
    top: int
    baseline: int
    count_ticks: list[ChartTick]
    duration_ticks: list[ChartTick]
    time_ticks: list[ChartTick]
    time_axis_title: str
    bars: list[ChartBar]
    points: str
    markers: list[ChartPoint]
    legend: list[ChartLegendItem]
    duration_color: str


DURATION_COLOR = "#8764b8"


def cycles_chart(
    cycles: list[ProvisioningCycle], *, width: int = 640, height: int = 220
) -> CyclesChart | None:
    """The Recent cycles chart of ``cycles`` (oldest first); None when there is none."""
    if not cycles:
        return None
    left, right_margin, bottom, top = 44, 44, 36, 12
    plot_w, plot_h = width - left - right_margin, height - bottom - top
    baseline = top + plot_h
    stacks = [
        [
            (label, cycle.count(action, status), color)
            for label, action, status, color in CHART_SERIES
        ]
        for cycle in cycles
    ]
    peak = max(1, max(sum(v for _, v, _ in s) for s in stacks))
    durations = [c.duration_seconds or 0 for c in cycles]
    peak_duration = max(1.0, max(durations))
    slot = plot_w / len(cycles)
    bar = min(36.0, max(4.0, slot * 0.6))  # a few cycles must not look like a wall
    one_day = len({timezone.localtime(c.started_at).date() for c in cycles}) == 1
    time_format = "%H:%M" if one_day else "%m-%d %H:%M"
    every = max(1, -(-len(cycles) // (6 if one_day else 4)))  # at most 6 (or 4) time labels
    bars, points, markers, time_ticks = [], [], [], []
    for index, (cycle, stack) in enumerate(zip(cycles, stacks, strict=True)):
        x = left + index * slot + (slot - bar) / 2
        y = baseline
        started = timezone.localtime(cycle.started_at)
        when = f"{cycle.get_kind_display()} cycle {started:%Y-%m-%d %H:%M}"
        for label, value, color in stack:
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            bars.append(
                ChartBar(
                    x=f"{x:.1f}",
                    y=f"{y:.1f}",
                    width=f"{bar:.1f}",
                    height=f"{h:.1f}",
                    color=color,
                    title=f"{label}: {value} ({when})",
                )
            )
        cx = left + index * slot + slot / 2
        cy = baseline - plot_h * durations[index] / peak_duration
        points.append(f"{cx:.1f},{cy:.1f}")
        markers.append(
            ChartPoint(x=f"{cx:.1f}", y=f"{cy:.1f}", title=f"{durations[index]:.1f} s ({when})")
        )
        if index % every == 0:
            time_ticks.append(
                ChartTick(x=f"{cx:.1f}", y=str(baseline + 16), text=f"{started:{time_format}}")
            )
    count_ticks = [
        ChartTick(x=str(left - 6), y=str(baseline + 4), text="0"),
        ChartTick(x=str(left - 6), y=str(top + 8), text=str(peak)),
    ]
    duration_ticks = [
        ChartTick(x=str(left + plot_w + 6), y=str(baseline + 4), text="0 s"),
        ChartTick(x=str(left + plot_w + 6), y=str(top + 8), text=f"{peak_duration:.0f} s"),
    ]
    zone = timezone.get_current_timezone_name()
    return CyclesChart(
        width=width,
        height=height,
        left=left,
        right=left + plot_w,
        top=top,
        baseline=baseline,
        count_ticks=count_ticks,
        duration_ticks=duration_ticks,
        time_ticks=time_ticks,
        time_axis_title=f"Cycle start ({zone})",
        bars=bars,
        points=" ".join(points),
        markers=markers,
        legend=[ChartLegendItem(color=color, label=label) for label, _, _, color in CHART_SERIES],
        duration_color=DURATION_COLOR,
    )


def provisioning_job_status(*, job: ProvisioningJob) -> dict[str, Any]:
    """What the Current status panel shows (``provisioning/includes/current_status.html``):
    the job's state, the last cycle and its progress, statistics to date, the chart."""
    state = job_state(job)
    figures = status_figures(job=job)
    cycle = state.last_cycle
    running = bool(cycle and cycle.state == ProvisioningCycle.State.RUNNING)
    pending = job.status == ProvisioningJob.Status.ON and (
        state.code == ProvisioningJobState.Code.NOT_RUN
        or (state.next_cycle_at is not None and state.next_cycle_at <= timezone.now())
    )
    queued = pending and not running and not state.is_quarantined
    if cycle is None:
        cycle_line = (
            "Initial cycle queued: it starts in a few seconds."
            if queued
            else ("Initial cycle not run.")
        )
    elif running:
        cycle_line = f"{cycle.get_kind_display()} cycle running."
    elif cycle.state == ProvisioningCycle.State.QUARANTINED:
        cycle_line = f"{cycle.get_kind_display()} cycle stopped: provisioning is in quarantine."
    elif cycle.state == ProvisioningCycle.State.FAILED:
        cycle_line = f"{cycle.get_kind_display()} cycle failed."
    else:
        cycle_line = f"{cycle.get_kind_display()} cycle completed."
    if cycle is not None and queued:
        cycle_line += " The next cycle is queued and starts in a few seconds."
    totals = figures.totals

    def total(action: str) -> int:
        return sum(v for k, v in totals.items() if k == f"{action}.{LogStatus.SUCCESS}")

    return {
        "state": state,
        "cycle": cycle,
        "running": running,
        "queued": queued,
        "live": running or (pending and not state.is_quarantined),
        "cycle_line": cycle_line,
        "percent": cycle.progress_percent if cycle else 0,
        "figures": figures,
        "stats": [
            ("Users and groups created", total(Action.CREATE)),
            ("Updated", total(Action.UPDATE)),
            ("Disabled", total(Action.DISABLE)),
            ("Deleted", total(Action.DELETE)),
            ("Skipped", sum(v for k, v in totals.items() if k.endswith(f".{LogStatus.SKIPPED}"))),
            ("Failed", sum(v for k, v in totals.items() if k.endswith(f".{LogStatus.FAILURE}"))),
        ],
        "chart": cycles_chart(figures.recent),
        "can_start": job.is_configured and job.status != ProvisioningJob.Status.ON,
        "can_stop": job.status == ProvisioningJob.Status.ON,
    }


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def scim_validation_runs_stalled(*, stalled_seconds: int) -> QuerySet[ScimValidationRun]:
    """Console validation runs still "running" whose worker is gone: the procrastinate job that
    ran them is no longer ``doing`` (requeued or ended without finishing the run), or its worker
    has sent no heartbeat for ``stalled_seconds`` (``kill -9``, OOM, a lost machine) — the same
    rule as procrastinate's stalled jobs (``provisioning.retry_stalled_jobs``)."""
    alive = RawSQL(
        """
        SELECT job.id
          FROM procrastinate_jobs job
          JOIN procrastinate_workers worker ON worker.id = job.worker_id
         WHERE job.status = 'doing'
           AND worker.last_heartbeat >= NOW() - make_interval(secs => %s)
        """,
        [stalled_seconds],
    )
    return (
        ScimValidationRun.objects.filter(
            status=ScimValidationRun.Status.RUNNING, worker_job_id__isnull=False
        )
        .exclude(worker_job_id__in=alive)
        .order_by("pk")
    )
