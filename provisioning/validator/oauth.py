"""OAuth 2.0 client-credentials grant for a validation run (Validate_Credentials): the access
token is fetched once, before the SCIM checks, by the grant the provisioning service itself
uses (:mod:`provisioning.oauth`, through the same SSRF guard as every outbound request), and
judged by Microsoft's rules; the client secret and the token are never recorded."""

from __future__ import annotations

from dataclasses import dataclass

from provisioning.oauth import OAuthCredentials, oauth_token_request
from provisioning.validator.result import REDACTED, Exchange, clip, redact

__all__ = ["OAuthCredentials", "OAuthOutcome", "oauth_token_fetch"]

# Microsoft's gallery validation accepts client-credentials tokens that live 60 to 360 minutes.
MIN_LIFETIME_SECONDS = 60 * 60
MAX_LIFETIME_SECONDS = 360 * 60


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
    exchange = Exchange(
        method="POST",
        url=credentials.token_url,
        request_body={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": REDACTED,
        },
    )
    answer = oauth_token_request(credentials=credentials)
    exchange.duration_ms = answer.duration_ms
    if answer.transport_error:
        exchange.response_body = answer.transport_error
        return OAuthOutcome("", "The token endpoint could not be reached.", exchange)
    exchange.status = answer.status
    token = answer.access_token
    exchange.response_body = clip(redact(answer.body, [credentials.client_secret, token]))
    if answer.status != 200 or not isinstance(answer.body, dict):
        return OAuthOutcome("", f"The token endpoint answered {answer.status}.", exchange)
    if not token:
        return OAuthOutcome("", "The token response has no access_token.", exchange)
    if answer.token_type.lower() != "bearer":
        return OAuthOutcome(token, "token_type is not Bearer.", exchange)
    lifetime = answer.expires_in
    if lifetime is None:
        return OAuthOutcome(token, "The token response has no expires_in.", exchange)
    if not MIN_LIFETIME_SECONDS <= lifetime <= MAX_LIFETIME_SECONDS:
        return OAuthOutcome(
            token,
            f"The token lives {lifetime // 60} minutes; Microsoft requires 60 to 360.",
            exchange,
        )
    return OAuthOutcome(token, "", exchange)
