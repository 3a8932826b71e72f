"""A console run of the SCIM Validator, executed on a worker: progress written on the run's row
for the console's progress bar, the report stored as JSON, the token wiped when it ends."""

from __future__ import annotations

import logging

from django.utils import timezone

from provisioning.crypto import SecretUnavailableError, secret_decrypt
from provisioning.models import ScimValidationRun
from provisioning.outbound import DestinationRefusedError
from provisioning.validator.oauth import OAuthCredentials
from provisioning.validator.runner import scim_validation_run

logger = logging.getLogger(__name__)
Status = ScimValidationRun.Status


def scim_validation_run_execute(*, run_pk: int) -> ScimValidationRun | None:
    """Run the checks the row asks for; None when there is no such queued run."""
    run = ScimValidationRun.objects.filter(pk=run_pk, status=Status.QUEUED).first()
    if run is None:
        return None
    run.status = Status.RUNNING
    run.save(update_fields=["status"])

    def progress(done: int, total: int, name: str) -> None:
        run.done, run.total, run.current = done, total, name[:64]
        run.save(update_fields=["done", "total", "current"])

    try:
        secret = secret_decrypt(run.token_encrypted) if run.token_encrypted else ""
        oauth = (
            OAuthCredentials(
                token_url=run.oauth_token_url,
                client_id=run.oauth_client_id,
                client_secret=secret,
            )
            if run.auth_method == ScimValidationRun.AuthMethod.OAUTH
            else None
        )
        report = scim_validation_run(
            tenant_url=run.tenant_url,
            token="" if oauth else secret,
            oauth=oauth,
            groups=run.groups,
            dialect=run.dialect,
            lifecycle=run.lifecycle,
            progress=progress,
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
    run.finished_at = timezone.now()
    run.save()
    return run
