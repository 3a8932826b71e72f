"""Run the checks against one SCIM endpoint and report: the entry point of the CLI, the console
task and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings

from provisioning.engine.scim_client import Dialect, ScimClient, split_tenant_url
from provisioning.validator import direct as _direct  # noqa: F401  (registers its checks)
from provisioning.validator import lifecycle as _lifecycle  # noqa: F401  (registers its checks)
from provisioning.validator.context import CheckFailedError, CheckSkippedError, RunContext
from provisioning.validator.registry import CHECKS, FLAG2020, CheckSpec
from provisioning.validator.result import CheckResult, CheckStatus, ValidationReport, redact

Progress = Callable[[int, int, str], None]


def validation_checks(*, lifecycle: bool = False) -> list[CheckSpec]:
    return [spec for spec in CHECKS if lifecycle or not spec.lifecycle]


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
    token: str,
    groups: bool = True,
    dialect: str | None = None,
    lifecycle: bool = False,
    progress: Progress | None = None,
) -> ValidationReport:
    """Run every check against ``tenant_url`` and delete what the run created on it.

    ``dialect`` is ``"default"`` or ``"aadOptscim062020"``; None takes the one the Tenant URL's
    query string selects. Raises ``DestinationRefusedError`` when the URL may not be called (the
    provisioning service's SSRF guard)."""
    base, url_dialect = split_tenant_url(tenant_url)
    chosen = url_dialect if dialect is None else Dialect(flag2020=dialect == FLAG2020)
    client = ScimClient(
        tenant_url=tenant_url,
        token=token,
        timeout=settings.PROVISIONING_HTTP_TIMEOUT,
        max_concurrency=1,
        max_retry_after=settings.PROVISIONING_MAX_RETRY_AFTER,
        dialect=chosen,
    )
    ctx = RunContext(client=client, token=token, groups=groups)
    report = ValidationReport(
        target_url=redact(base, [token]),
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
