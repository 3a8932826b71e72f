"""``provision APP [--restart]``: run one provisioning cycle of an application in the
foreground, with a progress bar, then print the cycle's summary. APP is the application's
object id or its name (unique names only)."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from provisioning.engine.cycle import provisioning_cycle_run
from provisioning.models import EnterpriseApplication, ProvisioningCycle


def _application(reference: str) -> EnterpriseApplication:
    try:
        by_id = EnterpriseApplication.objects.filter(object_id=uuid.UUID(reference))
    except ValueError:
        by_id = EnterpriseApplication.objects.none()
    matches = list(by_id) or list(EnterpriseApplication.objects.filter(name=reference))
    if not matches:
        raise CommandError(f"No application with object id or name {reference!r}.")
    if len(matches) > 1:
        listing = ", ".join(f"{a.object_id} ({a.directory})" for a in matches)
        raise CommandError(f"Several applications are named {reference!r}: {listing}.")
    return matches[0]


class Command(BaseCommand):
    help = "Run one provisioning cycle of an application now, in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("app", help="Application object id or name")
        parser.add_argument(
            "--restart",
            action="store_true",
            help="Restart provisioning first: clear the watermark, escrows and quarantine "
            "(links are kept), so the cycle is an initial one.",
        )

    def handle(self, *args, app: str, restart: bool, verbosity: int, **options):
        application = _application(app)
        job = application.provisioning_job
        if not job.is_configured:
            raise CommandError(
                f"{application.name}: set Provisioning Mode to Automatic with a Tenant URL first."
            )
        bar = tqdm(
            total=100, unit="%", desc=application.name, disable=verbosity < 1, file=self.stderr._out
        )

        def progress(cycle: ProvisioningCycle) -> None:
            bar.set_description(f"{application.name} · {cycle.get_kind_display()} · {cycle.phase}")
            bar.n = cycle.percent
            bar.refresh()

        cycle = provisioning_cycle_run(
            job=job, restart=restart, initiated_by="command", progress=progress
        )
        if cycle is None:
            bar.close()
            raise CommandError(f"A cycle of {application.name} is already running elsewhere.")
        cycle.refresh_from_db()
        bar.n = cycle.progress_percent
        bar.refresh()
        bar.close()
        if verbosity >= 1:
            self.stdout.write(self._summary(cycle))
        if cycle.state in (ProvisioningCycle.State.FAILED, ProvisioningCycle.State.QUARANTINED):
            raise CommandError(f"Cycle {cycle.state}: {cycle.error_code} {cycle.error}".strip())

    def _summary(self, cycle: ProvisioningCycle) -> str:
        lines = [
            f"{cycle.get_kind_display()} cycle {cycle.cycle_id}: {cycle.get_state_display()} "
            f"in {cycle.duration_seconds or 0:.1f}s",
        ]
        for label, action in (
            ("Created", "Create"),
            ("Updated", "Update"),
            ("Disabled", "Disable"),
            ("Deleted", "Delete"),
            ("Staged deletes", "StagedDelete"),
        ):
            lines.append(
                f"  {label}: {cycle.count(action, 'Success' if action != 'StagedDelete' else None)}"
            )
        lines.append(f"  Skipped: {cycle.count(status='Skipped')}")
        lines.append(f"  Failed: {cycle.count(status='Failure')}")
        return "\n".join(lines)
