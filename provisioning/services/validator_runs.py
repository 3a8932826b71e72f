"""SCIM Validator runs from the console: this module checks what was typed and queues the run;
:mod:`provisioning.validator.runs` executes it on a worker."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from provisioning.crypto import secret_encrypt
from provisioning.models import Directory, ScimValidationRun
from provisioning.outbound import tenant_url_problem
from provisioning.tasks import run_scim_validation


def scim_validation_run_create(
    *,
    directory: Directory,
    tenant_url: str,
    token: str,
    groups: bool = True,
    dialect: str = ScimValidationRun.Dialect.DEFAULT,
    lifecycle: bool = True,
    actor: AbstractBaseUser | None = None,
) -> ScimValidationRun:
    """Store the request (the token encrypted) and queue the run once the row is committed."""
    tenant_url = tenant_url.strip()
    errors = {}
    if not tenant_url:
        errors["tenant_url"] = "This field is required."
    elif problem := tenant_url_problem(tenant_url):
        errors["tenant_url"] = problem
    if dialect not in ScimValidationRun.Dialect.values:
        errors["dialect"] = "Select a valid choice."
    if errors:
        raise ValidationError(errors)
    run = ScimValidationRun.objects.create(
        directory=directory,
        tenant_url=tenant_url,
        token_encrypted=secret_encrypt(token.strip()) if token.strip() else "",
        groups=groups,
        dialect=dialect,
        lifecycle=lifecycle,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: run_scim_validation.defer(run_pk=run.pk))
    return run
