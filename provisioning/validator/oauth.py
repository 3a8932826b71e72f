"""OAuth 2.0 client-credentials grant for a validation run (Validate_Credentials): the access
token is fetched once, before the SCIM checks, through the same SSRF guard as every outbound
request; the client secret and the token are never recorded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from provisioning.outbound import GuardedTransport, destination_check
from provisioning.validator.result import REDACTED, Exchange, clip, redact

# Microsoft's gallery validation accepts client-credentials tokens that live 60 to 360 minutes.
MIN_LIFETIME_SECONDS = 60 * 60
MAX_LIFETIME_SECONDS = 360 * 60


@dataclass(frozen=True)
class OAuthCredentials:
    token_url: str
    client_id: str
    client_secret: str


@dataclass
class OAuthOutcome:
    """The token (empty when none was issued), why it is not acceptable (empty when it is), and
    the exchange that shows it."""

    access_token: str
    problem: str
    exchange: Exchange


def oauth_token_fetch(*, credentials: OAuthCredentials) -> OAuthOutcome:
    """POST the client-credentials grant (client_secret_post) and judge the answer: 200 JSON
    with an ``access_token``, ``token_type`` Bearer and ``expires_in`` within 60–360 minutes.
    Raises ``DestinationRefusedError`` when the token URL may not be called."""
    destination_check(credentials.token_url)
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    secrets = [credentials.client_secret]
    exchange = Exchange(
        method="POST",
        url=credentials.token_url,
        request_body={**form, "client_secret": REDACTED},
    )
    started = time.monotonic()
    limits = httpx.Limits(max_connections=1)
    try:
        with httpx.Client(
            transport=GuardedTransport(limits=limits),
            timeout=settings.PROVISIONING_HTTP_TIMEOUT,
            follow_redirects=False,
        ) as http:
            response = http.post(
                credentials.token_url, data=form, headers={"Accept": "application/json"}
            )
    except httpx.HTTPError as error:
        exchange.response_body = f"{type(error).__name__}: {error}"
        return OAuthOutcome("", "The token endpoint could not be reached.", exchange)
    exchange.duration_ms = int((time.monotonic() - started) * 1000)
    exchange.status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    token = str(body.get("access_token") or "") if isinstance(body, dict) else ""
    exchange.response_body = clip(redact(body, [*secrets, token]))
    if response.status_code != 200 or not isinstance(body, dict):
        return OAuthOutcome("", f"The token endpoint answered {response.status_code}.", exchange)
    if not token:
        return OAuthOutcome("", "The token response has no access_token.", exchange)
    if str(body.get("token_type", "")).lower() != "bearer":
        return OAuthOutcome(token, "token_type is not Bearer.", exchange)
    try:
        lifetime = int(body.get("expires_in"))
    except (TypeError, ValueError):
        return OAuthOutcome(token, "The token response has no expires_in.", exchange)
    if not MIN_LIFETIME_SECONDS <= lifetime <= MAX_LIFETIME_SECONDS:
        return OAuthOutcome(
            token,
            f"The token lives {lifetime // 60} minutes; Microsoft requires 60 to 360.",
            exchange,
        )
    return OAuthOutcome(token, "", exchange)
