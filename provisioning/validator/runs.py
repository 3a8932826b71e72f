"""A console run of the SCIM Validator, executed on a worker: progress written on the run's row
for the console's progress bar, the report stored as JSON, the token wiped when it ends.

While it runs, the row also holds what a dead worker would leave behind: the run's prefix, the
procrastinate job running it, and every object it created on the target (journaled as soon as
the target answers). :func:`scim_validation_runs_recover` — the periodic
``provisioning.recover_stalled_validations`` — ends a run whose worker died: "Could not run"
with the reason, its objects deleted on the target (best effort, failures listed in its
result), its scratch directory and app removed, its token wiped."""

from __future__ import annotations

import logging
from dataclasses import asdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from provisioning.crypto import SecretUnavailableError, secret_decrypt
from provisioning.engine.scim_client import ScimClient
from provisioning.models import Directory, ScimValidationRun
from provisioning.outbound import DestinationRefusedError
from provisioning.selectors import scim_validation_runs_stalled
from provisioning.validator.context import Created, run_prefix_new, scratch_directory_name
from provisioning.validator.lifecycle import scratch_directory_delete
from provisioning.validator.oauth import OAuthCredentials, oauth_token_fetch
from provisioning.validator.runner import scim_validation_run

logger = logging.getLogger(__name__)
Status = ScimValidationRun.Status

WORKER_DIED = (
    "The worker running this validation stopped (no heartbeat for {seconds} seconds) before "
    "the run ended. What the run had created was cleaned up automatically."
)


def _oauth_of(run: ScimValidationRun, secret: str) -> OAuthCredentials | None:
    if run.auth_method != ScimValidationRun.AuthMethod.OAUTH:
        return None
    return OAuthCredentials(
        token_url=run.oauth_token_url, client_id=run.oauth_client_id, client_secret=secret
    )


def scim_validation_run_execute(
    *, run_pk: int, worker_job_id: int | None = None
) -> ScimValidationRun | None:
    """Run the checks the row asks for; None when there is no such queued run (a run is
    started once: the retry of a dead worker's job finds it running, and the recovery sweep
    ends it)."""
    prefix = run_prefix_new()
    claimed = ScimValidationRun.objects.filter(pk=run_pk, status=Status.QUEUED).update(
        status=Status.RUNNING, worker_job_id=worker_job_id, prefix=prefix, created_objects=[]
    )
    if not claimed:
        return None
    run = ScimValidationRun.objects.get(pk=run_pk)

    def progress(done: int, total: int, name: str) -> None:
        run.done, run.total, run.current = done, total, name[:64]
        run.save(update_fields=["done", "total", "current"])

    def journal(created: Created) -> None:
        run.created_objects.append(asdict(created))
        run.save(update_fields=["created_objects"])

    try:
        secret = secret_decrypt(run.token_encrypted) if run.token_encrypted else ""
        oauth = _oauth_of(run, secret)
        report = scim_validation_run(
            tenant_url=run.tenant_url,
            token="" if oauth else secret,
            oauth=oauth,
            groups=run.groups,
            dialect=run.dialect,
            lifecycle=run.lifecycle,
            progress=progress,
            prefix=prefix,
            on_created=journal,
        )
    except (DestinationRefusedError, SecretUnavailableError) as error:
        run.status, run.error = Status.ERROR, str(error)
    except Exception as error:  # the row must end; the worker's log has the traceback
        logger.exception("SCIM validation run %s failed", run.public_id)
        run.status, run.error = Status.ERROR, f"{type(error).__name__}: {error}"
    else:
        run.result = report.as_dict()
        run.status = Status.SUCCEEDED if report.succeeded else Status.FAILED
    run.token_encrypted = ""
    run.created_objects = []  # deleted by the run itself (failures are in its result)
    run.finished_at = timezone.now()
    run.save()
    return run


# -- runs whose worker died -----------------------------------------------------------------


def scim_validation_runs_recover() -> int:
    """End every run whose worker died (see
    :func:`~provisioning.selectors.scim_validation_runs_stalled`), each claimed under a row lock
    so two sweeps never clean up the same run. Returns how many were recovered."""
    seconds = settings.WORKER_STALLED_SECONDS
    recovered = 0
    for stalled in scim_validation_runs_stalled(stalled_seconds=seconds):
        with transaction.atomic():
            run = (
                ScimValidationRun.objects.select_for_update(skip_locked=True)
                .filter(pk=stalled.pk, status=Status.RUNNING)
                .first()
            )
            if run is None:
                continue
            cipher = run.token_encrypted
            run.status = Status.ERROR
            run.error = WORKER_DIED.format(seconds=seconds)
            run.token_encrypted = ""  # wiped at once: the cleanup holds it in memory only
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "token_encrypted", "finished_at"])
        logger.warning(
            "SCIM validation run %s was left running by a dead worker; cleaning up %s",
            run.public_id,
            run.prefix or "(no prefix)",
        )
        deleted, failures = _leftovers_delete(run, cipher)
        run.result = {
            "overall": "Could not run",
            "recovered": True,
            "run_prefix": run.prefix,
            "target_url": run.tenant_url,
            "deleted_on_target": deleted,
            "cleanup_failures": failures,
            "results": [],
        }
        run.created_objects = []
        run.save(update_fields=["result", "created_objects"])
        recovered += 1
    return recovered


def _client_for(run: ScimValidationRun, cipher: str) -> tuple[ScimClient | None, str]:
    """A client with the run's credentials, or None and why there is none."""
    try:
        secret = secret_decrypt(cipher) if cipher else ""
        oauth = _oauth_of(run, secret)
        token = secret
        if oauth is not None:
            outcome = oauth_token_fetch(credentials=oauth)
            if not outcome.access_token:
                return None, f"no access token: {outcome.problem}"
            token = outcome.access_token
        client = ScimClient(
            tenant_url=run.tenant_url,
            token=token,
            timeout=settings.PROVISIONING_HTTP_TIMEOUT,
            max_concurrency=1,
            max_retry_after=settings.PROVISIONING_MAX_RETRY_AFTER,
        )
    except (SecretUnavailableError, DestinationRefusedError) as error:
        return None, str(error)
    return client, ""


def _leftovers_delete(run: ScimValidationRun, cipher: str) -> tuple[list[str], list[str]]:
    """Delete on the target what the run had created (its journal, and what its scratch app's
    cycles created, groups first), then its scratch directory. Returns what was deleted and
    what could not be, described."""
    client, why = _client_for(run, cipher)
    deleted: list[str] = []
    failures: list[str] = []
    journal = [Created(**item) for item in run.created_objects or []]
    ordered = [c for c in reversed(journal) if c.resource == "Groups"] + [
        c for c in reversed(journal) if c.resource == "Users"
    ]
    try:
        for created in ordered:
            label = f"{created.resource}/{created.target_id} ({created.label})"
            if client is None:
                failures.append(f"{label}: not deleted ({why})")
                continue
            result = client.request(
                "DELETE", f"/{created.resource}/{created.target_id}", want_body=False
            )
            if result.ok or result.status == 404:
                deleted.append(label)
            else:
                failures.append(f"{label}: DELETE answered {result.status or result.error_code}")
        if run.prefix:
            for directory in Directory.objects.filter(name=scratch_directory_name(run.prefix)):
                failures += scratch_directory_delete(directory=directory, client=client, why=why)
    finally:
        if client is not None:
            client.close()
    return deleted, failures
