"""The OAuth 2.0 client-credentials grant (RFC 6749 §4.4, ``client_secret_post``) the
provisioning service uses when an app's Authentication Method is "OAuth2 client credentials
grant", and the SCIM Validator's Validate_Credentials check. One request, through the same SSRF
guard as every outbound request (:class:`~provisioning.outbound.GuardedTransport`); the answer
is returned as it came, judged by the caller (the engine needs an ``access_token``; the
validator also holds ``token_type`` and ``expires_in`` to Microsoft's rules).

The client secret is sent only in the form body and never logged; of an error answer only the
OAuth ``error`` and ``error_description`` (RFC 6749 §5.2) are ever shown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from provisioning.outbound import GuardedTransport, destination_check


@dataclass(frozen=True)
class OAuthCredentials:
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass
class TokenAnswer:
    """What the token endpoint answered: ``status`` 0 and ``transport_error`` when nothing
    arrived; ``body`` the JSON (or text) of the answer."""

    status: int = 0
    body: Any = None
    transport_error: str = ""
    duration_ms: int = 0

    @property
    def access_token(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("access_token"), str):
            return self.body["access_token"].strip()
        return ""

    @property
    def expires_in(self) -> int | None:
        try:
            return int(self.body.get("expires_in")) if isinstance(self.body, dict) else None
        except (TypeError, ValueError):
            return None

    @property
    def token_type(self) -> str:
        return str(self.body.get("token_type", "")) if isinstance(self.body, dict) else ""

    def oauth_error(self) -> str:
        """The RFC 6749 §5.2 ``error`` and ``error_description`` of the answer ("" when it has
        none) — the only part of a failed answer that may be shown."""
        if not isinstance(self.body, dict):
            return ""
        parts = []
        for key in ("error", "error_description"):
            value = self.body.get(key)
            if isinstance(value, str) and value.strip():
                parts.append(value.strip()[:300])
        return ": ".join(parts)


def oauth_token_request(
    *, credentials: OAuthCredentials, timeout: float | None = None
) -> TokenAnswer:
    """POST the client-credentials grant to the token endpoint. Raises
    ``DestinationRefusedError`` when the token endpoint may not be called."""
    destination_check(credentials.token_url)
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    timeout = settings.PROVISIONING_HTTP_TIMEOUT if timeout is None else timeout
    limits = httpx.Limits(max_connections=1)
    started = time.monotonic()
    answer = TokenAnswer()
    try:
        with httpx.Client(
            transport=GuardedTransport(limits=limits),
            timeout=timeout,
            follow_redirects=False,
        ) as http:
            response = http.post(
                credentials.token_url, data=form, headers={"Accept": "application/json"}
            )
    except httpx.HTTPError as error:
        answer.transport_error = f"{type(error).__name__}: {error}"
        answer.duration_ms = int((time.monotonic() - started) * 1000)
        return answer
    answer.duration_ms = int((time.monotonic() - started) * 1000)
    answer.status = response.status_code
    try:
        answer.body = response.json()
    except ValueError:
        answer.body = response.text
    return answer
