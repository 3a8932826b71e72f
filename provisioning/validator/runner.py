"""Run the checks against one SCIM endpoint and report: the entry point of the CLI, the console
task and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings

from provisioning.engine.scim_client import Dialect, ScimClient, split_tenant_url
from provisioning.outbound import destination_check
from provisioning.validator import credentials as _credentials  # noqa: F401  (registers)
from provisioning.validator import direct as _direct  # noqa: F401  (registers its checks)
from provisioning.validator import lifecycle as _lifecycle  # noqa: F401  (registers its checks)
from provisioning.validator.context import (
    CheckFailedError,
    CheckSkippedError,
    Created,
    RunContext,
)
from provisioning.validator.oauth import OAuthCredentials, oauth_token_fetch
from provisioning.validator.registry import CHECKS, FLAG2020, CheckSpec
from provisioning.validator.result import (
    Category,
    CheckResult,
    CheckStatus,
    ValidationReport,
    redact,
)

Progress = Callable[[int, int, str], None]


ORDER = [
    Category.CREDENTIALS,
    Category.DIRECT,
    Category.DIALECT,
    Category.USER_LIFECYCLE,
    Category.GROUP_LIFECYCLE,
]


def validation_checks(*, lifecycle: bool = False) -> list[CheckSpec]:
    """The checks of a run, in the order they run (each module's own order within a
    category)."""
    chosen = [spec for spec in CHECKS if lifecycle or not spec.lifecycle]
    return sorted(chosen, key=lambda spec: ORDER.index(spec.category))


def _run_one(spec: CheckSpec, ctx: RunContext, *, flag2020: bool) -> CheckResult:
    mandatory = spec.is_mandatory(flag2020=flag2020)
    result = CheckResult(
        name=spec.name,
        category=spec.category,
        mandatory=mandatory,
        status=CheckStatus.PASSED,
        beyond_gallery=spec.beyond_gallery,
    )
    started = time.monotonic()
    ctx.exchanges = []
    if spec.groups and not ctx.groups:
        result.status = CheckStatus.SKIPPED
        result.message = "Groups are off for this run."
        return result
    if ctx.facts.get("credentials_failed"):
        result.status = CheckStatus.SKIPPED
        result.message = "Not run: the credentials are not valid (Validate_Credentials)."
        return result
    try:
        if spec.groups and ctx.facts.get("group_schema") is False:
            raise CheckFailedError("The Group schema is not in /Schemas.")
        result.message = spec.func(ctx)
    except CheckSkippedError as skipped:
        result.status = CheckStatus.SKIPPED
        result.message = str(skipped)
    except CheckFailedError as failed:
        result.status = CheckStatus.FAILED if mandatory else CheckStatus.WARNING
        result.message = str(failed)
        result.deciding = failed.exchange
    except Exception as error:  # a check must never end the run; the target decides its result
        result.status = CheckStatus.FAILED if mandatory else CheckStatus.WARNING
        result.message = f"The check could not complete: {type(error).__name__}: {error}"
    result.exchanges = ctx.exchanges
    if result.deciding is None and result.exchanges:
        result.deciding = len(result.exchanges) - 1
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def scim_validation_run(
    *,
    tenant_url: str,
    token: str = "",
    oauth: OAuthCredentials | None = None,
    groups: bool = True,
    dialect: str | None = None,
    lifecycle: bool = False,
    progress: Progress | None = None,
    prefix: str | None = None,
    on_created: Callable[[Created], None] | None = None,
) -> ValidationReport:
    """Run every check against ``tenant_url`` and delete what the run created on it.

    ``dialect`` is ``"default"`` or ``"aadOptscim062020"``; None takes the one the Tenant URL's
    query string selects. With ``oauth`` the bearer token is fetched by the client-credentials
    grant instead (Validate_Credentials). ``prefix`` names what the run creates (a new one when
    None); ``on_created`` is told of each object the run creates on the target. Raises
    ``DestinationRefusedError`` when a URL may not be called (the provisioning service's SSRF
    guard)."""
    base, url_dialect = split_tenant_url(tenant_url)
    destination_check(base)  # before a token is asked for it
    outcome = oauth_token_fetch(credentials=oauth) if oauth else None
    if outcome is not None:
        token = outcome.access_token
    chosen = url_dialect if dialect is None else Dialect(flag2020=dialect == FLAG2020)
    client = ScimClient(
        tenant_url=tenant_url,
        token=token,
        timeout=settings.PROVISIONING_HTTP_TIMEOUT,
        max_concurrency=1,
        max_retry_after=settings.PROVISIONING_MAX_RETRY_AFTER,
        dialect=chosen,
    )
    ctx = RunContext(
        client=client,
        token=token,
        groups=groups,
        secrets=[oauth.client_secret] if oauth else [],
        on_created=on_created,
    )
    if prefix:
        ctx.prefix = prefix
    ctx.facts["oauth"] = outcome
    report = ValidationReport(
        target_url=redact(base, [token, *ctx.secrets]),
        dialect=FLAG2020 if chosen.flag2020 else "default",
        groups=groups,
        run_prefix=ctx.prefix,
        started_at=datetime.now(UTC),
    )
    specs = validation_checks(lifecycle=lifecycle)
    with client:
        try:
            for done, spec in enumerate(specs):
                if progress:
                    progress(done, len(specs), spec.name)
                report.results.append(_run_one(spec, ctx, flag2020=chosen.flag2020))
        finally:
            report.cleanup_failures = ctx.cleanup()
    report.finished_at = datetime.now(UTC)
    if progress:
        progress(len(specs), len(specs), "")
    return report
