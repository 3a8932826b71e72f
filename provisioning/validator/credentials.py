"""Validate_Credentials: the OAuth 2.0 client-credentials grant a gallery app may use instead of
a long-lived bearer token."""

from __future__ import annotations

import uuid

from provisioning.validator.context import CheckFailedError, CheckSkippedError, RunContext
from provisioning.validator.registry import check
from provisioning.validator.result import Category


@check("Validate_Credentials", category=Category.CREDENTIALS)
def validate_credentials(ctx: RunContext) -> str:
    """With ``--oauth``: the token endpoint answers the client-credentials grant with a Bearer
    ``access_token`` living 60–360 minutes, and the SCIM endpoint accepts it
    (``GET /Users?filter=userName eq "<random GUID>"`` answers 200). Skipped with a static
    bearer token. When it fails, the other checks are skipped: they could not authenticate.

    Microsoft: "Validate_Credentials"."""
    outcome = ctx.facts.get("oauth")
    if outcome is None:
        raise CheckSkippedError("A static bearer token is used, not OAuth.")
    ctx.exchanges.append(outcome.exchange)
    if outcome.problem:
        ctx.facts["credentials_failed"] = True
        raise CheckFailedError(outcome.problem, len(ctx.exchanges) - 1)
    result, index = ctx.query("Users", "userName", str(uuid.uuid4()))
    if result.status in (401, 403):
        ctx.facts["credentials_failed"] = True
        raise CheckFailedError(
            f"The SCIM endpoint refused the issued token ({result.status}).", index
        )
    return "The client-credentials token was issued and accepted."
