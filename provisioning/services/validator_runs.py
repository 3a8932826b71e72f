"""SCIM Validator runs from the console: this module checks what was typed and queues the run;
:mod:`provisioning.validator.runs` executes it on a worker."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from provisioning.crypto import secret_encrypt
from provisioning.models import Directory, ProvisioningJob, ScimValidationRun
from provisioning.outbound import tenant_url_problem
from provisioning.tasks import run_scim_validation


def scim_validation_run_create(
    *,
    directory: Directory,
    tenant_url: str,
    token: str = "",
    oauth_token_url: str = "",
    oauth_client_id: str = "",
    oauth_client_secret: str = "",
    groups: bool = True,
    dialect: str = ScimValidationRun.Dialect.DEFAULT,
    lifecycle: bool = True,
    saved_token_of: ProvisioningJob | None = None,
    actor: AbstractBaseUser | None = None,
) -> ScimValidationRun:
    """Store the request (the Secret Token, or with OAuth the client secret, encrypted) and
    queue the run once the row is committed. With ``oauth_token_url`` the run authenticates
    by the client-credentials grant. With ``saved_token_of`` and no secret typed, that job's saved
    Secret Token (with OAuth, its Client Secret) is used, copied still encrypted (it is never
    shown) — and only towards the URLs it was saved with: a changed Tenant URL (or Token
    Endpoint) is a field error asking for the secret."""
    tenant_url = tenant_url.strip()
    oauth_token_url = oauth_token_url.strip()
    errors = {}
    if not tenant_url:
        errors["tenant_url"] = "This field is required."
    elif problem := tenant_url_problem(tenant_url):
        errors["tenant_url"] = problem
    if oauth_token_url and (problem := tenant_url_problem(oauth_token_url)):
        errors["oauth_token_url"] = problem.replace("Tenant URL", "Token URL")
    if dialect not in ScimValidationRun.Dialect.values:
        errors["dialect"] = "Select a valid choice."
    if errors:
        raise ValidationError(errors)
    secret = (oauth_client_secret if oauth_token_url else token).strip()
    encrypted = secret_encrypt(secret) if secret else ""
    if not secret and saved_token_of is not None:
        encrypted = _saved_secret(
            job=saved_token_of,
            directory=directory,
            tenant_url=tenant_url,
            oauth_token_url=oauth_token_url,
        )
    if oauth_token_url and not encrypted:
        raise ValidationError({"oauth_client_secret": "This field is required with OAuth."})
    run = ScimValidationRun.objects.create(
        directory=directory,
        tenant_url=tenant_url,
        auth_method=(
            ScimValidationRun.AuthMethod.OAUTH
            if oauth_token_url
            else ScimValidationRun.AuthMethod.BEARER
        ),
        oauth_token_url=oauth_token_url,
        oauth_client_id=oauth_client_id.strip(),
        token_encrypted=encrypted,
        groups=groups,
        dialect=dialect,
        lifecycle=lifecycle,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: run_scim_validation.defer(run_pk=run.pk))
    return run


def _saved_secret(
    *, job: ProvisioningJob, directory: Directory, tenant_url: str, oauth_token_url: str
) -> str:
    """The job's saved secret (encrypted) for a run towards ``tenant_url``: a stored credential
    is only ever sent to the URLs it was saved with."""
    if job.application.directory_id != directory.pk:
        raise ValueError("the job belongs to another directory")
    if oauth_token_url:
        if not job.oauth_client_secret_encrypted:
            return ""
        if oauth_token_url != job.oauth_token_url.strip() or tenant_url != job.tenant_url.strip():
            raise ValidationError(
                {
                    "oauth_client_secret": "Enter the Client Secret: the saved one is only ever "
                    "sent to the app's saved Token Endpoint, and its tokens to the saved Tenant "
                    "URL."
                }
            )
        return job.oauth_client_secret_encrypted
    if not job.secret_token_encrypted:
        return ""
    if tenant_url != job.tenant_url.strip():
        raise ValidationError(
            {
                "secret_token": "Enter the Secret Token: the app's saved token is only ever sent "
                "to its saved Tenant URL."
            }
        )
    return job.secret_token_encrypted
