"""``validate_scim URL --token T | --oauth TOKEN_URL CLIENT_ID SECRET_ENV [--no-groups]
[--dialect default|aadOptscim062020] [--direct-only] [--json FILE]``: Microsoft's
gallery-readiness checks against any SCIM endpoint, with a progress bar on a terminal; the exit
status is 0 only when the run Succeeded (usable in a vendor's CI). The lifecycle checks need
this project's database (a scratch directory and app); ``--direct-only`` leaves them out."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from provisioning.outbound import DestinationRefusedError
from provisioning.validator.oauth import OAuthCredentials
from provisioning.validator.registry import DEFAULT, FLAG2020
from provisioning.validator.result import CheckStatus, ValidationReport
from provisioning.validator.runner import scim_validation_run

MARKS = {
    CheckStatus.PASSED: "PASSED ",
    CheckStatus.FAILED: "FAILED ",
    CheckStatus.SKIPPED: "SKIPPED",
    CheckStatus.WARNING: "WARNING",
}


class Command(BaseCommand):
    help = "Validate a SCIM endpoint against Microsoft's gallery checks; exit 0 when Succeeded."

    def add_arguments(self, parser):
        parser.add_argument("url", help="The Tenant URL (SCIM base URL) to validate")
        credentials = parser.add_mutually_exclusive_group(required=True)
        credentials.add_argument("--token", help="The bearer token (Secret Token)")
        credentials.add_argument(
            "--oauth",
            nargs=3,
            metavar=("TOKEN_URL", "CLIENT_ID", "SECRET_ENV"),
            help="OAuth 2.0 client-credentials grant; the client secret is read from the "
            "environment variable SECRET_ENV (never from the command line)",
        )
        parser.add_argument(
            "--no-groups", action="store_true", help="Skip the group checks (no /Groups)"
        )
        parser.add_argument(
            "--dialect",
            choices=[DEFAULT, FLAG2020],
            default=None,
            help="PATCH dialect (default: the one the URL's query string selects)",
        )
        parser.add_argument(
            "--direct-only",
            action="store_true",
            help="Only the direct SCIM checks, not the lifecycle through the engine",
        )
        parser.add_argument("--json", dest="json_file", help="Write the full result to FILE")

    def handle(
        self,
        *args,
        url,
        token,
        oauth,
        no_groups,
        dialect,
        direct_only,
        json_file,
        verbosity,
        **options,
    ):
        credentials = None
        if oauth:
            token_url, client_id, secret_env = oauth
            secret = os.environ.get(secret_env, "")
            if not secret:
                raise CommandError(f"The environment variable {secret_env} is not set.")
            credentials = OAuthCredentials(
                token_url=token_url, client_id=client_id, client_secret=secret
            )
        bar = tqdm(
            total=1,
            unit="check",
            desc="SCIM Validator",
            disable=verbosity < 1 or not self.stderr.isatty(),
            file=self.stderr._out,
        )

        def progress(done: int, total: int, name: str) -> None:
            bar.total = total
            bar.n = done
            bar.set_description(name or "done")
            bar.refresh()

        try:
            report = scim_validation_run(
                tenant_url=url,
                token=token or "",
                oauth=credentials,
                groups=not no_groups,
                dialect=dialect,
                lifecycle=not direct_only,
                progress=progress,
            )
        except DestinationRefusedError as refused:
            raise CommandError(f"The URL may not be called: {refused}") from refused
        finally:
            bar.close()
        if json_file:
            Path(json_file).write_text(json.dumps(report.as_dict(), indent=2, default=str))
        if verbosity >= 1:
            self.stdout.write(self._summary(report, verbose=verbosity >= 2))
        if not report.succeeded:
            sys.exit(1)

    def _summary(self, report: ValidationReport, *, verbose: bool) -> str:
        lines = [
            f"SCIM Validator: {report.target_url} (dialect {report.dialect}, "
            f"groups {'on' if report.groups else 'off'}, run {report.run_prefix})"
        ]
        for result in report.results:
            tag = "" if result.mandatory else " (optional)"
            beyond = " [beyond the gallery list]" if result.beyond_gallery else ""
            lines.append(f"  {MARKS[result.status]} {result.name}{tag}{beyond}: {result.message}")
            deciding = result.deciding_exchange
            if deciding and (verbose or result.status in (CheckStatus.FAILED, CheckStatus.WARNING)):
                lines += ["      " + line for line in deciding.as_text().splitlines()[:40]]
        for failure in report.cleanup_failures:
            lines.append(f"  Not deleted: {failure}")
        counts = report.counts()
        elapsed = (report.finished_at - report.started_at).total_seconds()
        lines.append(
            f"{report.overall}: {counts['PASSED']} passed, {counts['FAILED']} failed, "
            f"{counts['WARNING']} warnings, {counts['SKIPPED']} skipped in {elapsed:.1f}s"
        )
        return "\n".join(lines)
