"""Provisioning cycles (entra-scim-behaviour.md §3.5): the initial cycle over every in-scope
object, then incremental cycles over what the change feed says changed since the watermark.

Phases, in Entra's order: a random-GUID probe; users; groups; deprovisioning (disable and
delete, counted first against the accidental-deletion threshold); references (managers, then
group members). Each phase streams source object ids in chunks (keyset pagination or the
change window), so memory stays flat with directory size. Per chunk the main thread loads what
it needs from PostgreSQL, worker threads talk to the target through one shared
:class:`~provisioning.engine.scim_client.ScimClient` (bounded concurrency, keep-alive), and the
main thread persists the outcomes — connector data store rows upserted, log entries
bulk-inserted, counts and progress on the cycle row — before the next chunk.

Crash safety: a cycle that dies leaves its row ``running``. The next run of the job (which
holds the job's advisory lock, so the dead one is certainly gone) resumes that cycle with the
same change window, skipping objects it already finished (``ConnectorObject.last_cycle_id``).
An object whose POST reached the target but whose outcome was never persisted is found again
by the matching query, linked and diffed — never created twice.

This module runs the phases; what a chunk loads is in :mod:`.works`, what it writes in
:mod:`.store`, the per-object requests in :mod:`.sync` and :mod:`.references`, the job's
state and lock in :mod:`.state`.

One module, slightly past 600 lines, on purpose: it is one class, :class:`CycleRunner`, whose
phases share the runner's state (the cycle row, the client, the per-type contexts, progress);
what a phase loads and writes already lives in ``works.py`` and ``store.py``.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from provisioning.crypto import SecretUnavailableError
from provisioning.engine.changes import change_horizon, changed_objects
from provisioning.engine.evaluate import CompiledMapping, job_fingerprint, job_mappings
from provisioning.engine.quarantine import (
    Reason,
    escrow_quarantine_reason,
    quarantine_enter,
    quarantine_lift,
)
from provisioning.engine.references import (
    ManagerWork,
    MembersWork,
    sync_manager,
    sync_members,
)
from provisioning.engine.scim_client import Purpose, scim_client_for
from provisioning.engine.state import job_lock, job_state, provisioning_job_reset
from provisioning.engine.store import (
    log_entry,
    persist_outcomes,
    source_system_name,
    target_system_name,
)
from provisioning.engine.sync import (
    ACTIVE,
    Outcome,
    SyncContext,
    deprovision,
    step,
    sync_object,
)
from provisioning.engine.works import (
    batches,
    group_candidates,
    group_works,
    keyset,
    manager_works,
    members_works,
    orphans,
    user_candidates,
    user_works,
)
from provisioning.models import (
    ConnectorObject,
    DirectoryGroupMember,
    DirectoryUser,
    ProvisioningCycle,
    ProvisioningJob,
    ProvisioningJobState,
    ProvisioningLogEntry,
)
from provisioning.outbound import DestinationRefusedError

logger = logging.getLogger(__name__)

Kind = ProvisioningCycle.Kind
State = ProvisioningCycle.State
Status = ProvisioningLogEntry.Status
ProgressCallback = Callable[[ProvisioningCycle], None]


class CycleAborted(Exception):
    """A fatal answer from the target (credentials, non-SCIM endpoint): stop the cycle."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


class CycleRunner:
    """Runs one cycle of a job; call :meth:`run` while holding :func:`job_lock`."""

    def __init__(
        self,
        job: ProvisioningJob,
        *,
        initiated_by: str = "system",
        progress: ProgressCallback | None = None,
    ) -> None:
        self.job = ProvisioningJob.objects.select_related("application__directory").get(pk=job.pk)
        self.application = self.job.application
        self.directory = self.application.directory
        self.initiated_by = initiated_by
        self.progress = progress
        self.chunk_size = settings.PROVISIONING_CHUNK_SIZE
        self.concurrency = settings.PROVISIONING_CONCURRENCY
        self.failures = 0
        self.reference_failures = 0

    # -- bookkeeping --------------------------------------------------------------------------

    def _count(self, outcomes: list[Outcome] | list[ProvisioningLogEntry]) -> None:
        counts = Counter(self.cycle.counts or {})
        for item in outcomes:
            action = getattr(item, "action", None)
            if not action:
                continue
            counts[f"{action}.{item.status}"] += 1
            if item.status == Status.FAILURE:
                if getattr(item, "phase", "") == "references":
                    self.reference_failures += 1
                else:
                    self.failures += 1
        self.cycle.counts = dict(counts)

    def _advance(self, processed: int, phase: str | None = None) -> None:
        cycle = self.cycle
        cycle.processed += processed
        if phase:
            cycle.phase = phase
        if cycle.total:
            cycle.percent = max(cycle.percent, min(99, int(100 * cycle.processed / cycle.total)))
        cycle.save(update_fields=["processed", "percent", "phase", "counts", "total"])
        if self.progress:
            self.progress(cycle)

    def _execute(self, fn, works: list) -> list[Outcome]:
        if len(works) <= 1:
            return [fn(self.ctx_for(work), work) for work in works]
        return list(self.pool.map(lambda work: fn(self.ctx_for(work), work), works))

    def _pipeline(
        self, fn, chunks: Iterator[tuple[list, Any]], finish: Callable[[list[Outcome], Any], None]
    ) -> None:
        """Run ``fn`` over the works of each chunk in the pool, one chunk ahead: while chunk N's
        requests are in flight the main thread loads chunk N+1 (the ``chunks`` generator) and
        submits it, then waits for chunk N and ``finish``-es it (persist, count, progress) while
        N+1 runs. The pool never drains between chunks, so the target sees a steady
        ``PROVISIONING_CONCURRENCY`` requests in flight instead of a pause per chunk.

        Chunks are finished in order, after their requests; a chunk is persisted only once all
        of its requests are done, so a crash leaves at most the chunks in flight unpersisted —
        which the resumed cycle matches again, never creating twice. When ``finish`` aborts the
        cycle (a fatal answer), the works not started yet are cancelled."""
        pending: deque[tuple[list[Future], Any]] = deque()
        try:
            for works, payload in chunks:
                pending.append(
                    ([self.pool.submit(fn, self.ctx_for(work), work) for work in works], payload)
                )
                if len(pending) > 1:
                    futures, done = pending.popleft()
                    finish([future.result() for future in futures], done)
            while pending:
                futures, done = pending.popleft()
                finish([future.result() for future in futures], done)
        except BaseException:
            for futures, _ in pending:
                for future in futures:
                    future.cancel()
            raise

    def ctx_for(self, work: Any) -> SyncContext:
        object_type = getattr(work, "object_type", None)
        if object_type is None:
            object_type = "user" if isinstance(work, ManagerWork) else "group"
        return self.contexts[object_type]

    def _persist(self, outcomes: list[Outcome], links: dict) -> None:
        persist_outcomes(job=self.job, cycle_id=self.cycle.cycle_id, outcomes=outcomes, links=links)
        self._count(outcomes)
        fatal = next((o for o in outcomes if o.fatal), None)
        if fatal:
            raise CycleAborted(fatal)

    # -- entry point --------------------------------------------------------------------------

    def run(self) -> ProvisioningCycle:
        job = self.job
        self.state = state = job_state(job)
        self.mappings = job_mappings(job)
        fingerprint = job_fingerprint(job, self.mappings)
        cycle = ProvisioningCycle.objects.filter(job=job, state=State.RUNNING).first()
        self.resumed = cycle is not None
        if (
            cycle is not None
            and state.mapping_fingerprint
            and (state.mapping_fingerprint != fingerprint and cycle.kind == Kind.INCREMENTAL)
        ):
            cycle.state, cycle.ended_at, cycle.error = State.FAILED, timezone.now(), "Superseded"
            cycle.save()
            cycle, self.resumed = None, False
        if cycle is None:
            initial = state.watermark is None or state.mapping_fingerprint != fingerprint
            cycle = ProvisioningCycle.objects.create(
                job=job,
                kind=Kind.INITIAL if initial else Kind.INCREMENTAL,
                started_at=timezone.now(),
                watermark_from=None if initial else state.watermark,
                watermark_to=change_horizon(),
                initiated_by=self.initiated_by,
            )
        self.cycle = cycle
        state.last_cycle = cycle
        state.save(update_fields=["last_cycle", "updated_at"])
        logger.info(
            "Provisioning cycle %s (%s) of job %s started", cycle.cycle_id, cycle.kind, job.job_id
        )
        try:
            self._run(fingerprint)
        except CycleAborted as aborted:
            self._quarantine(
                Reason.QUARANTINE_EXCEPTION, aborted.outcome.reason, aborted.outcome.error_code
            )
        except Exception as error:
            # Leave the cycle "running": the next run resumes it (a killed worker looks the
            # same). Record the error for the console.
            ProvisioningCycle.objects.filter(pk=cycle.pk).update(error=repr(error)[:2000])
            raise
        return cycle

    def _finish(self, cycle_state: str, *, error: str = "", error_code: str = "") -> None:
        cycle = self.cycle
        cycle.state = cycle_state
        cycle.ended_at = timezone.now()
        cycle.error = error[:4000]
        cycle.error_code = error_code
        if cycle_state != State.FAILED:
            cycle.percent = 100
        cycle.save()

    def _quarantine(self, reason: str, error: str, code: str = "") -> None:
        quarantine_enter(job=self.job, state=self.state, reason=reason, error=error)
        self._finish(State.QUARANTINED, error=error, error_code=code or reason)

    def _run(self, fingerprint: str) -> None:
        job, state, cycle = self.job, self.state, self.cycle
        if not job.is_configured:
            self._finish(
                State.FAILED,
                error="Provisioning is not configured (Automatic mode "
                "and a Tenant URL are required).",
            )
            return
        try:
            client = scim_client_for(job, purpose=Purpose.CYCLE)
        except SecretUnavailableError as error:
            self._quarantine(Reason.QUARANTINE_EXCEPTION, str(error))
            return
        except DestinationRefusedError as error:
            self._quarantine(
                Reason.QUARANTINE_EXCEPTION, f"The Tenant URL cannot be called: {error}"
            )
            return
        users = self.mappings.get("user")
        groups = self.mappings.get("group")
        group_enabled = bool(groups and groups.enabled and self.application.supports_groups)
        self.groups_enabled = group_enabled
        name = target_system_name(job)
        self.contexts = {}
        if users:
            self.contexts["user"] = SyncContext(client, users, source_system_name(), name)
        if groups:
            self.contexts["group"] = SyncContext(client, groups, source_system_name(), name)
        with client, ThreadPoolExecutor(max_workers=self.concurrency) as self.pool:
            # The random-GUID probe Entra sends at the start of every activity.
            attribute = users.matching[0].target if users and users.matching else "userName"
            probe = client.probe("Users", attribute)
            if probe.ok and group_enabled:
                group_attribute = groups.matching[0].target if groups.matching else "displayName"
                probe = client.probe("Groups", group_attribute)
            if not probe.ok:
                self._probe_failed(probe)
                return
            self._phases(users, groups if group_enabled else None)
        if cycle.state == State.QUARANTINED:
            return
        # Escrow thresholds.
        escrowed = ConnectorObject.objects.filter(job=job, escrow_attempts__gt=0).count()
        escrowed_reference = ConnectorObject.objects.filter(
            job=job, reference_attempts__gt=0
        ).count()
        total = ConnectorObject.objects.filter(job=job).count()
        reason = escrow_quarantine_reason(
            escrowed=escrowed, escrowed_reference=escrowed_reference, total=total
        )
        state.watermark = cycle.watermark_to
        state.mapping_fingerprint = fingerprint
        state.successive_complete_failures = 0
        if reason:
            state.save()
            self._quarantine(
                reason,
                f"{escrowed} objects and {escrowed_reference} references are escrowed "
                f"out of {total} objects.",
            )
            return
        if state.is_quarantined and state.quarantine_reason != Reason.TOO_MANY_DELETES:
            quarantine_lift(state=state)
        if not state.is_quarantined:
            state.code = (
                ProvisioningJobState.Code.ACTIVE
                if ProvisioningJob.objects.filter(
                    pk=job.pk, status=ProvisioningJob.Status.ON
                ).exists()
                else ProvisioningJobState.Code.PAUSED
            )
        state.next_cycle_at = timezone.now() + timedelta(minutes=job.cycle_interval_minutes)
        state.save()
        failed = cycle.count(status=Status.FAILURE)
        self._finish(State.ENTRY_LEVEL_ERRORS if failed else State.SUCCEEDED)
        logger.info(
            "Provisioning cycle %s of job %s ended: %s", cycle.cycle_id, job.job_id, cycle.counts
        )

    def _probe_failed(self, probe) -> None:
        state = self.state
        if probe.fatal:
            self._quarantine(Reason.QUARANTINE_EXCEPTION, probe.reason, probe.error_code)
            return
        state.successive_complete_failures += 1
        state.next_cycle_at = timezone.now() + timedelta(minutes=self.job.cycle_interval_minutes)
        state.save()
        limit = settings.PROVISIONING_COMPLETE_FAILURES_BEFORE_QUARANTINE
        if state.successive_complete_failures >= limit:
            self._quarantine(Reason.QUARANTINE_EXCEPTION, probe.reason, probe.error_code)
            return
        self._finish(State.FAILED, error=probe.reason, error_code=probe.error_code)

    # -- phases -------------------------------------------------------------------------------

    def _phases(self, users: CompiledMapping | None, groups: CompiledMapping | None) -> None:
        job, cycle = self.job, self.cycle
        initial = cycle.kind == Kind.INITIAL
        now = timezone.now()
        user_ids: list[uuid.UUID] | None = None
        group_ids: list[uuid.UUID] | None = None
        if not initial:
            changed_users, changed_groups = changed_objects(
                directory=self.directory,
                application=self.application,
                start=cycle.watermark_from or 0,
                end=cycle.watermark_to,
            )
            due = ConnectorObject.objects.filter(job=job, escrow_next_attempt__lte=now)
            changed_users |= set(due.filter(object_type="user").values_list("source_id", flat=True))
            changed_groups |= set(
                due.filter(object_type="group").values_list("source_id", flat=True)
            )
            user_ids, group_ids = sorted(changed_users), sorted(changed_groups)
        cycle.total = self._estimate(user_ids, group_ids, groups is not None)
        cycle.save(update_fields=["total"])
        if users:
            self._phase_upsert("user", users, user_ids)
        if groups:
            self._phase_upsert("group", groups, group_ids)
        if not self._phase_deprovision():
            return
        if groups and user_ids:
            self._recheck_member_lists(user_ids)
        if users and users.reference("manager"):
            self._phase_managers()
        else:
            self._settle_reference_estimate("user", 0)
        if groups and groups.reference("members"):
            self._phase_members()
        else:
            self._settle_reference_estimate("group", 0)

    def _recheck_member_lists(self, user_ids: list[uuid.UUID]) -> None:
        """The groups of changed users go to the member pass, which works out from the
        connector data store alone whether their member lists changed (a member created,
        re-created or deleted in the target) and sends nothing otherwise. They are not read
        again from the target: a user's attribute change is no change of its groups."""
        for batch in batches(user_ids, 2000):
            group_ids = DirectoryGroupMember.objects.filter(
                group__directory=self.directory, member_user__object_id__in=batch
            ).values_list("group__object_id", flat=True)
            ConnectorObject.objects.filter(
                job=self.job, object_type="group", source_id__in=group_ids
            ).exclude(target_id="").update(needs_reference=True)

    def _estimate(self, user_ids, group_ids, with_groups: bool) -> int:
        """Objects the cycle will process, references included: the manager and member passes
        come last, and a total without them would hold the bar at 99% for half a cycle."""
        if user_ids is not None:
            users = DirectoryUser.objects.filter(directory=self.directory, object_id__in=user_ids)
            groups = len(group_ids or []) if with_groups else 0
            managers = users.filter(manager__isnull=False).count()
            self._reference_estimate = {"user": managers, "group": groups}
            return len(user_ids) + groups + managers + groups
        candidates = user_candidates(self.job)
        total = candidates.count() + orphans(self.job, "user").count()
        managers = candidates.filter(manager__isnull=False).count()
        groups = group_candidates(self.job).count() if with_groups else 0
        if with_groups:
            total += groups + orphans(self.job, "group").count()
        self._reference_estimate = {"user": managers, "group": groups}
        return total + managers + groups

    def _settle_reference_estimate(self, object_type: str, actual: int) -> None:
        """Replace the up-front estimate of a reference pass by its real size."""
        estimate = getattr(self, "_reference_estimate", {}).pop(object_type, 0)
        self.cycle.total = max(self.cycle.processed, self.cycle.total - estimate + actual)

    def _id_chunks(self, object_type: str, ids: list[uuid.UUID] | None) -> Iterator[list]:
        if ids is not None:
            yield from batches(ids, self.chunk_size)
            return
        candidates = (user_candidates if object_type == "user" else group_candidates)(self.job)
        yield from keyset(candidates, size=self.chunk_size)
        yield from keyset(orphans(self.job, object_type), size=self.chunk_size, field="source_id")

    def _phase_upsert(
        self, object_type: str, mapping: CompiledMapping, ids: list[uuid.UUID] | None
    ) -> None:
        phase = "users" if object_type == "user" else "groups"
        loader = user_works if object_type == "user" else group_works

        def chunks() -> Iterator[tuple[list, tuple[dict, int]]]:
            for chunk in self._id_chunks(object_type, ids):
                works, links = loader(self.job, mapping, chunk)
                if self.resumed:
                    works = [
                        w
                        for w in works
                        if not (
                            links.get(w.source_id)
                            and links[w.source_id].last_cycle_id == self.cycle.cycle_id
                        )
                    ]
                yield works, (links, len(chunk))

        def finish(outcomes: list[Outcome], done: tuple[dict, int]) -> None:
            links, size = done
            self._persist(outcomes, links)
            self._advance(size, phase)

        self._pipeline(sync_object, chunks(), finish)

    def _phase_deprovision(self) -> bool:
        """Deletes and disables, after counting them (accidental deletion prevention)."""
        job, state, cycle = self.job, self.state, self.cycle
        staged = ConnectorObject.objects.filter(job=job).exclude(staged_action="")
        count = staged.count()
        if not count:
            return True
        if (
            job.prevent_accidental_deletion
            and count > job.deletion_threshold
            and not (state.allow_deletes)
        ):
            for page in keyset(staged, size=500, field="pk"):
                rows = ConnectorObject.objects.filter(pk__in=page)
                entries = []
                for row in rows:
                    outcome = Outcome(
                        object_type=row.object_type,
                        source_id=row.source_id,
                        display=row.display_name,
                        target_id=row.target_id,
                        action="StagedDelete",
                        status=Status.SKIPPED,
                        error_code="TooManyDeletes",
                        reason=(
                            f"This {row.staged_action.lower()} was held back: {count} deletes "
                            f"and disables in one cycle exceed the accidental deletion "
                            f"threshold of {job.deletion_threshold}."
                        ),
                        steps=[
                            step(
                                "EntrySynchronizationSkip",
                                "Export",
                                Status.SKIPPED,
                                f"Staged action {row.staged_action}",
                                {"StagedAction": row.staged_action},
                            )
                        ],
                    )
                    entries.append(outcome)
                ProvisioningLogEntry.objects.bulk_create(
                    [log_entry(job, cycle.cycle_id, o) for o in entries], batch_size=500
                )
                self._count(entries)
            self._quarantine(
                Reason.TOO_MANY_DELETES,
                f"{count} deletes and disables exceed the threshold of {job.deletion_threshold}.",
                "TooManyDeletes",
            )
            return False
        cycle.total += count
        for page in keyset(staged, size=self.chunk_size, field="pk"):
            rows = list(ConnectorObject.objects.filter(pk__in=page))
            links = {row.source_id: row for row in rows}
            if self.groups_enabled:
                self._remove_from_groups(
                    [r.target_id for r in rows if r.staged_action == "Delete" and r.target_id]
                )

            def run(row: ConnectorObject) -> Outcome:
                return deprovision(
                    self.contexts[row.object_type],
                    object_type=row.object_type,
                    source_id=row.source_id,
                    display=row.display_name,
                    target_id=row.target_id,
                    exported=row.exported,
                    kind=row.staged_action,
                )

            outcomes = list(self.pool.map(run, rows)) if len(rows) > 1 else [run(r) for r in rows]
            for outcome in outcomes:
                outcome.needs_reference = False
            # Links are per object type; persist each type with its own rows.
            for object_type in ("user", "group"):
                typed = [o for o in outcomes if o.object_type == object_type]
                if typed:
                    self._persist(
                        typed,
                        {k: v for k, v in links.items() if v.object_type == object_type},
                    )
            self._advance(len(rows), "deprovisioning")
        if state.allow_deletes:
            state.allow_deletes = False
            state.save(update_fields=["allow_deletes", "updated_at"])
        return True

    def _remove_from_groups(self, target_ids: list[str]) -> None:
        """Take objects about to be deleted out of the groups they are members of in the
        target, before the DELETE: Entra's incremental cycle resolves references before it
        deletes (entra-scim-behaviour.md §3.5), and a target need not drop a deleted object's
        memberships itself. A failed removal stays pending for the member pass (escrowed)."""
        if not target_ids:
            return
        wanted = set(target_ids)
        holding = Q()
        for target_id in target_ids:
            holding |= Q(exported__members__contains=[target_id])
        rows = list(
            ConnectorObject.objects.filter(job=self.job, object_type="group", target_state=ACTIVE)
            .exclude(target_id="")
            .exclude(staged_action="Delete")
            .filter(holding)
        )
        if not rows:
            return
        works = []
        for row in rows:
            current = set(row.exported.get("members") or [])
            works.append(
                MembersWork(
                    row.source_id,
                    row.display_name,
                    row.target_id,
                    [],
                    sorted(current & wanted),
                    row.exported,
                    sorted(current - wanted),
                )
            )
        links = {row.source_id: row for row in rows}
        outcomes = self._execute(sync_members, works)
        for outcome in outcomes:
            outcome.needs_reference = (
                outcome.status == Status.FAILURE or links[outcome.source_id].needs_reference
            )
        self._persist_reference(outcomes, links)

    def _phase_managers(self) -> None:
        job = self.job
        pending = self._pending_references("user")
        self._settle_reference_estimate("user", pending.count())

        def chunks() -> Iterator[tuple[list, list]]:
            for page in keyset(pending, size=self.chunk_size, field="pk"):
                rows = list(ConnectorObject.objects.filter(pk__in=page))
                yield manager_works(job, rows), rows

        self._pipeline(
            sync_manager,
            chunks(),
            lambda outcomes, rows: self._settle_reference_chunk(
                "user", rows, outcomes, keep_staged=True
            ),
        )

    def _pending_references(self, object_type: str):
        """Rows whose references need a pass now: flagged, and not waiting out the back-off
        of an escrowed reference failure."""
        return ConnectorObject.objects.filter(
            job=self.job, object_type=object_type, needs_reference=True
        ).filter(
            Q(reference_next_attempt__isnull=True)
            | Q(reference_next_attempt__lte=self.cycle.started_at)
        )

    def _settle_reference_chunk(
        self, object_type: str, rows: list, outcomes: list[Outcome], *, keep_staged: bool
    ) -> None:
        """Finish one chunk of a reference pass: rows that needed no request still get an
        outcome (their flag is cleared); a failed reference stays pending for the next cycle.
        ``keep_staged`` carries a row's staged action over (the manager pass does; the member
        pass has always reset it — see the session note before changing that)."""
        links = {row.source_id: row for row in rows}
        done = {o.source_id for o in outcomes}
        for row in rows:
            if row.source_id not in done:
                outcomes.append(
                    Outcome(
                        object_type=object_type,
                        source_id=row.source_id,
                        display=row.display_name,
                        target_id=row.target_id,
                        target_state=row.target_state,
                        exported=row.exported,
                        staged_action=row.staged_action if keep_staged else "",
                        phase="references",
                    )
                )
        for outcome in outcomes:
            # A failed reference stays pending and is escrowed: retried with a growing wait.
            outcome.needs_reference = outcome.status == Status.FAILURE
        self._persist_reference(outcomes, links)
        self._advance(len(rows), "references")

    def _persist_reference(self, outcomes: list[Outcome], links: dict) -> None:
        for outcome in outcomes:
            row = links.get(outcome.source_id)
            if row is not None:
                outcome.staged_action = row.staged_action
                if not outcome.target_state:
                    outcome.target_state = row.target_state
                if outcome.status == Status.FAILURE:
                    outcome.exported = row.exported
        self._persist(outcomes, links)

    def _phase_members(self) -> None:
        job = self.job
        pending = self._pending_references("group")
        self._settle_reference_estimate("group", pending.count())

        def chunks() -> Iterator[tuple[list, list]]:
            for page in keyset(pending, size=max(1, self.chunk_size // 10), field="pk"):
                rows = list(ConnectorObject.objects.filter(pk__in=page))
                yield members_works(job, rows), rows

        self._pipeline(
            sync_members,
            chunks(),
            lambda outcomes, rows: self._settle_reference_chunk(
                "group", rows, outcomes, keep_staged=False
            ),
        )


def provisioning_cycle_run(
    *,
    job: ProvisioningJob,
    restart: bool = False,
    initiated_by: str = "system",
    progress: ProgressCallback | None = None,
) -> ProvisioningCycle | None:
    """Run one cycle of ``job`` now, in this process. Returns None when another worker is
    running the same job (the advisory lock is taken), else the cycle record."""
    with job_lock(job) as acquired:
        if not acquired:
            logger.info("Job %s is already running elsewhere; skipped", job.job_id)
            return None
        if restart:
            provisioning_job_reset(job=job)
        return CycleRunner(job, initiated_by=initiated_by, progress=progress).run()
