"""The one outbound SCIM client of the provisioning service.

Every request the provisioning service sends — cycles, provision on demand, Test Connection —
goes through a :class:`ScimClient` built by :func:`scim_client_for`, which reads the job and
the settings (dialect, timeouts, concurrency, User-Agent, the SSRF guard of
:mod:`provisioning.outbound`). The client has explicit timeouts, keep-alive connections
shared by the worker threads of a cycle (one per request in flight, at most
``max_concurrency``), 429 answered by waiting ``Retry-After`` and trying again, and every
response classified into the error codes Entra writes in its provisioning logs
(entra-scim-behaviour.md §1.6). HTTP errors are results, not exceptions: the caller decides
whether an object is escrowed (``retryable``) or the whole cycle stops (``fatal``: the
credentials or the endpoint itself are wrong, the quarantine cases).

The Tenant URL may carry Entra's feature flag ``?aadOptscim062020``; it selects the wire
dialect (:class:`Dialect`) and is not sent on the wire (Entra's own query string is not
documented as forwarded, and Test Connection does the same).

The Secret Token is decrypted by the caller, held only by the request headers of this object,
and never logged: reasons quote the response body with any occurrence of the token
masked.

With the Authentication Method "OAuth2 client credentials grant" the client holds an
:class:`OAuthTokenSource` instead: the access token is obtained from the job's Token Endpoint
(:mod:`provisioning.oauth`, through the same SSRF guard) before the first request, cached in
this process until shortly before its ``expires_in``, and fetched again once when the target
answers 401. A token endpoint that cannot be reached, refuses the client or answers without an
``access_token`` makes every request a fatal ``Unauthorized`` result — a cycle quarantines as it
does for a 401 from the target, Test Connection shows why. Neither the client secret nor an
access token is ever logged or quoted.
"""

from __future__ import annotations

import email.utils
import hashlib
import http
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
from django.conf import settings

from provisioning.crypto import secret_decrypt
from provisioning.engine.wire import (
    Connection,
    Endpoint,
    TransportError,
    TransportTimeout,
    WireResponse,
)
from provisioning.models import ProvisioningJob
from provisioning.oauth import OAuthCredentials, TokenAnswer, oauth_token_request
from provisioning.outbound import DestinationRefusedError, destination_check

logger = logging.getLogger(__name__)

SCIM_MEDIA_TYPE = "application/scim+json"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
FLAG_2020 = "aadOptscim062020"
USER_AGENT = "Elium-Portal-Provisioning/1.0"

#: The header Azure AD puts on every provisioning request; its value here is the Change ID of
#: the provisioning log entry the request belongs to, so the target's request log (this
#: installation's, for an Elium tenant) can be joined to the entry.
CLIENT_REQUEST_ID = "client-request-id"
_exchange_id: ContextVar[uuid.UUID | None] = ContextVar("scim_exchange_id", default=None)


@contextmanager
def scim_exchange(change_id: uuid.UUID) -> Iterator[None]:
    """Requests sent in this block (in this thread) carry ``change_id`` as their
    ``client-request-id``; outside any block each request gets a fresh one."""
    token = _exchange_id.set(change_id)
    try:
        yield
    finally:
        _exchange_id.reset(token)


# Entra's provisioning-log error codes (entra-scim-behaviour.md §1.6).
CONFLICT = "EntryConflict"
TOO_MANY_REQUESTS = "TooManyRequests"
INTERNAL_SERVER_ERROR = "InternalServerError"
UNAUTHORIZED = "Unauthorized"
INSUFFICIENT_RIGHTS = "InsufficientRights"
METHOD_NOT_ALLOWED = "MethodNotAllowed"
UNPROCESSABLE = "UnprocessableEntity"
NOT_IMPLEMENTED = "NotImplemented"
PROTOCOL_ERROR = "WebExceptionProtocolError"
TIMEOUT = "Timeout"
INVALID_ANCHOR = "InvalidAnchor"
MULTIPLE_ENTRIES = "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse"
INCOMPATIBLE = "SystemForCrossDomainIdentityManagementServiceIncompatible"
DUPLICATE_TARGET_ENTRIES = "DuplicateTargetEntries"
# Test Connection's code when the credentials could not be checked at all.
CREDENTIAL_VALIDATION_UNAVAILABLE = (
    "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable"
)

RECOMMENDATIONS: dict[str, str] = {
    CONFLICT: "Another object in the target already holds a value that must be unique. Make the "
    "matching attribute consistent between both systems, or remove the duplicate in the target.",
    TOO_MANY_REQUESTS: "The target is rate-limiting requests. The service retries automatically.",
    INTERNAL_SERVER_ERROR: "The target failed to handle the request. The object is retried in a "
    "later cycle; contact the application vendor if the error persists.",
    UNAUTHORIZED: "The credentials were rejected. Update the Secret Token (or the OAuth client "
    "credentials) and Test Connection.",
    INSUFFICIENT_RIGHTS: "The credentials lack permission. Use an administrative token.",
    METHOD_NOT_ALLOWED: "The target does not support this operation.",
    UNPROCESSABLE: "The target could not process the values sent. Check the attribute mappings.",
    NOT_IMPLEMENTED: "The target does not implement this operation.",
    PROTOCOL_ERROR: "The target rejected the request. Check the response details and the "
    "attribute mappings.",
    TIMEOUT: "The target did not answer in time. The object is retried in a later cycle.",
    INVALID_ANCHOR: "The object previously linked in the target no longer exists; it is matched "
    "again by its matching attributes.",
    MULTIPLE_ENTRIES: "The target answered a matching query with more than one object.",
    INCOMPATIBLE: "The target's response is not what a SCIM 2.0 service returns (for example a "
    "404 to a query, or a body that is not SCIM JSON). Fix the endpoint and restart.",
    DUPLICATE_TARGET_ENTRIES: "More than one object in the target matches this object's "
    "matching attribute. Remove the duplicates or choose a unique matching attribute.",
    "ImportSkipped": "The object has no value for any matching attribute. Give it a value or "
    "change the matching attributes.",
}


def recommendation_for(code: str) -> str:
    return RECOMMENDATIONS.get(code, "")


@dataclass(frozen=True)
class Dialect:
    """The two ways Entra writes PATCH requests (§1.3–1.5, §1.7). ``flag2020`` is the
    ``aadOptscim062020`` behaviour: lowercase ops, JSON booleans, one path-less replace of the
    simple attributes, members removed by a ``members[value eq "…"]`` path."""

    flag2020: bool = False

    def op(self, name: str) -> str:
        return name.lower() if self.flag2020 else name.capitalize()

    def boolean(self, value: bool) -> bool | str:
        return value if self.flag2020 else ("True" if value else "False")


def unexpected_response(
    *, url: object, method: str, status: object, content: str, why: str = ""
) -> str:
    """Entra's wording for an answer it did not expect (the provisioning logs, Test
    Connection)."""
    return (
        "We received this unexpected response from your application: Received response from "
        f"Web resource. Resource: {url} Operation: {method} Response Status Code: {status} "
        f"Response Content: {content} {why}"
    ).rstrip()


@dataclass
class ScimResult:
    """One exchange with the target, classified. ``response`` is the raw answer (None when none
    arrived), for callers that judge it by stricter rules (Test Connection)."""

    method: str
    url: str
    status: int  # 0 when no response arrived
    body: Any = None
    error_code: str = ""
    reason: str = ""
    retryable: bool = False
    fatal: bool = False
    duration_ms: int = 0
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    response: WireResponse | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.error_code

    @property
    def resources(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict):
            resources = self.body.get("Resources") or []
            return [r for r in resources if isinstance(r, dict)]
        return []


def filter_value(value: str) -> str:
    """A filter string literal: double-quoted with ``\\`` and ``"`` escaped (RFC 7644 §3.4.2.2)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_tenant_url(tenant_url: str) -> tuple[str, Dialect]:
    """The base URL requests are sent to, and the dialect its query string selects."""
    parts = urlsplit(tenant_url.strip())
    keys = {key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    flag = FLAG_2020.lower() in keys
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return base, Dialect(flag2020=flag)


def _retry_after_seconds(value: str | None, default: float) -> float:
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class OAuthTokenError(Exception):
    """No usable access token: ``str()`` says why, with nothing of the answer but its OAuth
    ``error``/``error_description``."""


#: Access tokens by (token endpoint, client id, digest of the secret): (token, good until,
#: on ``time.monotonic()``). In-process only; a changed secret never meets an old token.
_TOKEN_CACHE: dict[tuple[str, str, str], tuple[str, float]] = {}
_TOKEN_CACHE_LOCK = threading.Lock()
#: When the token endpoint does not say how long its token lives.
DEFAULT_TOKEN_LIFETIME_SECONDS = 300
#: A token is fetched again this long before it expires (at most a tenth of its lifetime).
TOKEN_EXPIRY_MARGIN_SECONDS = 60


def oauth_token_cache_clear() -> None:
    with _TOKEN_CACHE_LOCK:
        _TOKEN_CACHE.clear()


def _token_failure(credentials: OAuthCredentials, answer: TokenAnswer) -> str:
    """Why no token came, in words an admin can act on; of the answer only its OAuth
    ``error``/``error_description``."""
    where = (
        f"The access token could not be obtained from the Token Endpoint {credentials.token_url}"
    )
    if answer.transport_error:
        kind = answer.transport_error.split(":", 1)[0]
        return f"{where}: it could not be reached ({kind})."
    said = answer.oauth_error()
    said = f" ({said})" if said else ""
    if answer.status != 200:
        try:
            status = f"{answer.status} {http.HTTPStatus(answer.status).phrase}"
        except ValueError:
            status = str(answer.status)
        return f"{where}: it answered {status}{said}."
    if not isinstance(answer.body, dict):
        return f"{where}: its answer is not a JSON object."
    return f"{where}: its answer has no access_token{said}."


class OAuthTokenSource:
    """The access tokens of one set of client credentials (client-credentials grant). Thread-
    safe: the worker threads of a cycle share one, and only one of them fetches."""

    def __init__(
        self, credentials: OAuthCredentials, *, timeout: float, cache: bool = True
    ) -> None:
        self.credentials = credentials
        self.timeout = timeout
        self.cache = cache
        digest = hashlib.sha256(credentials.client_secret.encode()).hexdigest()
        self._key = (credentials.token_url, credentials.client_id, digest)
        self._lock = threading.Lock()
        self._token = ""
        self._until = 0.0
        self.fetch_count = 0
        self.issued: set[str] = set()  # every token this source held, masked in reasons

    def token(self) -> str:
        """A token that is not about to expire: the cached one, or a new one. Raises
        :class:`OAuthTokenError`."""
        with self._lock:
            now = time.monotonic()
            if self._token and now < self._until:
                return self._token
            if self.cache:
                with _TOKEN_CACHE_LOCK:
                    cached = _TOKEN_CACHE.get(self._key)
                if cached and now < cached[1]:
                    self._token, self._until = cached
                    self.issued.add(self._token)
                    return self._token
            return self._fetch()

    def invalidate(self, token: str) -> None:
        """The target refused ``token`` (401): forget it, so the next :meth:`token` fetches."""
        with self._lock:
            if self._token == token:
                self._token, self._until = "", 0.0
            if self.cache:
                with _TOKEN_CACHE_LOCK:
                    if (_TOKEN_CACHE.get(self._key) or ("",))[0] == token:
                        del _TOKEN_CACHE[self._key]

    def _fetch(self) -> str:
        credentials = self.credentials
        self.fetch_count += 1
        try:
            answer = oauth_token_request(credentials=credentials, timeout=self.timeout)
        except DestinationRefusedError as error:
            reason = str(error).rstrip(".")
            raise OAuthTokenError(f"The Token Endpoint cannot be called: {reason}.") from None
        token = answer.access_token
        if answer.status != 200 or not token:
            logger.info(
                "Token endpoint %s refused client %s: %s",
                credentials.token_url,
                credentials.client_id,
                answer.status or "no answer",
            )
            raise OAuthTokenError(_token_failure(credentials, answer))
        lifetime = answer.expires_in
        if lifetime is None or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
        margin = min(TOKEN_EXPIRY_MARGIN_SECONDS, lifetime / 10)
        self._token, self._until = token, time.monotonic() + lifetime - margin
        self.issued.add(token)
        if self.cache:
            with _TOKEN_CACHE_LOCK:
                _TOKEN_CACHE[self._key] = (self._token, self._until)
        return token


class ScimClient:
    """A SCIM 2.0 client speaking as Entra does. Thread-safe: one instance serves every worker
    thread of a cycle; close it (or use it as a context manager) when the cycle ends."""

    def __init__(
        self,
        *,
        tenant_url: str,
        token: str,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_concurrency: int = 8,
        max_rate_limit_retries: int = 3,
        max_retry_after: float = 60.0,
        dialect: Dialect | None = None,
        check_destination: bool = True,
        token_source: OAuthTokenSource | None = None,
    ) -> None:
        self.base_url, self.dialect = split_tenant_url(tenant_url)
        if dialect is not None:
            self.dialect = dialect
        if check_destination:
            destination_check(self.base_url)
        self._token = token
        self.token_source = token_source
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_retry_after = max_retry_after
        self.timeout = timeout
        self._endpoint = Endpoint.parse(self.base_url)
        self._headers = [
            (b"Accept", SCIM_MEDIA_TYPE.encode()),
            (b"User-Agent", USER_AGENT.encode()),
        ]
        if token:
            # UTF-8, not ASCII: a token pasted with a stray non-ASCII character is sent and
            # refused by the target (a 401 the admin can read), instead of failing here.
            self._headers.append((b"Authorization", f"Bearer {token}".encode()))
        self.connect_timeout = connect_timeout
        self._ssl_context = (
            httpx.create_ssl_context(trust_env=False) if self._endpoint.tls else None
        )
        # One connection per request in flight, lent out LIFO (the warmest keep-alive
        # connection first). Taking one is what bounds the concurrency. (One shared httpcore
        # pool of N connections cost O(N) Python work per request to pick a connection — at 64
        # in flight, more CPU than everything else the engine does.)
        self._idle: queue.LifoQueue[Connection | None] = queue.LifoQueue()
        for _ in range(max_concurrency):
            self._idle.put(None)  # created on first use
        self._clients: list[Connection] = []
        self._clients_lock = threading.Lock()
        self.request_count = 0
        self._count_lock = threading.Lock()

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def _new_http(self) -> Connection:
        connection = Connection(
            self._endpoint,
            connect_timeout=self.connect_timeout,
            timeout=self.timeout,
            ssl_context=self._ssl_context,
        )
        with self._clients_lock:
            self._clients.append(connection)
        return connection

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        client = self._idle.get()
        try:
            if client is None:
                client = self._new_http()
            yield client
        finally:
            self._idle.put(client)

    # -- transport ---------------------------------------------------------------------------

    def _mask(self, text: str) -> str:
        secrets = [self._token] if self._token else []
        if self.token_source is not None:
            secrets += [t for t in self.token_source.issued if t]
            secrets.append(self.token_source.credentials.client_secret)
        for secret in secrets:
            if secret:
                text = text.replace(secret, "********")
        return text

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        is_query: bool = False,
        want_body: bool = True,
    ) -> ScimResult:
        """Send one request (retrying 429s after ``Retry-After``) and classify the answer."""
        url = self.base_url + path
        target = self._endpoint.target(path, params)
        headers = [
            *self._headers,
            (CLIENT_REQUEST_ID.encode(), str(_exchange_id.get() or uuid.uuid4()).encode()),
        ]
        content = None
        if json_body is not None:
            headers.append((b"Content-Type", SCIM_MEDIA_TYPE.encode()))
            content = json.dumps(json_body, ensure_ascii=False).encode()
        sent_headers = headers
        attempts = 0
        started = time.monotonic()
        refetched = False
        while True:
            attempts += 1
            if self.token_source is not None:
                try:
                    bearer = self.token_source.token()
                except OAuthTokenError as error:
                    return ScimResult(
                        method,
                        url,
                        0,
                        error_code=UNAUTHORIZED,
                        reason=self._mask(str(error)),
                        fatal=True,
                        duration_ms=int((time.monotonic() - started) * 1000),
                        attempts=attempts,
                    )
                sent_headers = [*headers, (b"Authorization", f"Bearer {bearer}".encode())]
            try:
                with self._connection() as connection:
                    with self._count_lock:
                        self.request_count += 1
                    response = connection.exchange(
                        method, target, headers=sent_headers, content=content
                    )
            except TransportTimeout:
                return ScimResult(
                    method,
                    url,
                    0,
                    error_code=TIMEOUT,
                    reason=f"An error occurred while sending the request. Resource: {url} "
                    f"Operation: {method} The operation timed out after {self.timeout:g} seconds.",
                    retryable=True,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    attempts=attempts,
                )
            except TransportError as error:
                return ScimResult(
                    method,
                    url,
                    0,
                    error_code=PROTOCOL_ERROR,
                    reason=f"An error occurred while sending the request. Resource: {url} "
                    f"Operation: {method} {type(error).__name__}: {error}",
                    retryable=True,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    attempts=attempts,
                )
            if response.status_code == 401 and self.token_source is not None and not refetched:
                # The token may have been revoked or expired early: one new one, once.
                refetched = True
                self.token_source.invalidate(bearer)
                logger.info("SCIM target refused the access token (401); fetching a new one")
                continue
            if response.status_code == 429 and attempts <= self.max_rate_limit_retries:
                wait = min(
                    _retry_after_seconds(response.headers.get("retry-after"), 1.0),
                    self.max_retry_after,
                )
                logger.info("SCIM target rate-limited %s %s; retrying in %.1fs", method, url, wait)
                time.sleep(wait)
                continue
            result = self._classify(response, method=method, is_query=is_query, want=want_body)
            result.duration_ms = int((time.monotonic() - started) * 1000)
            result.attempts = attempts
            return result

    def _classify(
        self, response: WireResponse, *, method: str, is_query: bool, want: bool
    ) -> ScimResult:
        url = response.url
        status = response.status_code
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
        result = ScimResult(method, url, status, body=body, response=response)
        if 200 <= status < 300:
            if want and status != 204 and not isinstance(body, dict):
                return self._fail(result, response, INCOMPATIBLE, "The response is not SCIM JSON.")
            if is_query and (
                not isinstance(body, dict)
                or LIST_RESPONSE not in (body.get("schemas") or [])
                or not isinstance(body.get("Resources", []), list)
            ):
                return self._fail(
                    result, response, INCOMPATIBLE, "The response is not a SCIM ListResponse."
                )
            return result
        scim_type = body.get("scimType") if isinstance(body, dict) else None
        if status == 401:
            return self._fail(result, response, UNAUTHORIZED, fatal=True)
        if status == 403:
            return self._fail(result, response, INSUFFICIENT_RIGHTS, fatal=True)
        if status == 404:
            if is_query:
                # Any syntactically correct query must answer 200; a 404 is a compliance issue.
                return self._fail(
                    result, response, INCOMPATIBLE, "A query must return 200.", fatal=True
                )
            return self._fail(result, response, INVALID_ANCHOR)
        if status == 409 or scim_type == "uniqueness":
            return self._fail(result, response, CONFLICT, retryable=True)
        if status == 405:
            return self._fail(result, response, METHOD_NOT_ALLOWED)
        if status == 422:
            return self._fail(result, response, UNPROCESSABLE)
        if status == 429:
            return self._fail(result, response, TOO_MANY_REQUESTS, retryable=True)
        if status == 501:
            return self._fail(result, response, NOT_IMPLEMENTED)
        if status >= 500:
            return self._fail(result, response, INTERNAL_SERVER_ERROR, retryable=True)
        return self._fail(result, response, PROTOCOL_ERROR)

    def _fail(
        self,
        result: ScimResult,
        response: WireResponse,
        code: str,
        why: str = "",
        *,
        retryable: bool = False,
        fatal: bool = False,
    ) -> ScimResult:
        phrase = response.reason_phrase.replace(" ", "")
        content = self._mask(response.text[:1000])
        result.error_code = code
        result.retryable = retryable
        result.fatal = fatal
        result.reason = unexpected_response(
            url=result.url,
            method=result.method,
            status=phrase or response.status_code,
            content=content,
            why=why,
        )
        return result

    # -- the requests Entra sends ------------------------------------------------------------

    def probe(self, resource: str, attribute: str) -> ScimResult:
        """The random-GUID query Entra sends at the start of every activity (§1.1)."""
        return self.query(resource, attribute, str(uuid.uuid4()))

    def query(self, resource: str, attribute: str, value: str) -> ScimResult:
        """The matching query: ``GET /Users?filter=<attr> eq "<value>"`` (groups without
        members)."""
        params = {"filter": f"{attribute} eq {filter_value(value)}"}
        if resource == "Groups":
            params = {"excludedAttributes": "members", **params}
        return self.request("GET", f"/{resource}", params=params, is_query=True)

    def get(self, resource: str, target_id: str) -> ScimResult:
        params = {"excludedAttributes": "members"} if resource == "Groups" else None
        return self.request("GET", f"/{resource}/{target_id}", params=params)

    def create(self, resource: str, body: dict[str, Any]) -> ScimResult:
        return self.request("POST", f"/{resource}", json_body=body)

    def patch(self, resource: str, target_id: str, operations: list[dict[str, Any]]) -> ScimResult:
        return self.request(
            "PATCH",
            f"/{resource}/{target_id}",
            json_body={"schemas": [PATCH_OP], "Operations": operations},
            want_body=False,
        )

    def delete(self, resource: str, target_id: str) -> ScimResult:
        return self.request("DELETE", f"/{resource}/{target_id}", want_body=False)


# -- the one factory --------------------------------------------------------------------------


class Purpose(StrEnum):
    """What a client is built for; each gets the settings Entra's service uses for it."""

    CYCLE = "cycle"
    ON_DEMAND = "on_demand"
    TEST_CONNECTION = "test_connection"


TEST_CONNECTION_TIMEOUT_SECONDS = 5.0
ON_DEMAND_CONCURRENCY = 2  # one object (or a group and five members), one request at a time


def scim_client_for(
    job: ProvisioningJob,
    *,
    tenant_url: str | None = None,
    token: str | None = None,
    oauth: OAuthCredentials | None = None,
    purpose: Purpose = Purpose.CYCLE,
) -> ScimClient:
    """The client for ``job``: its Tenant URL and credentials unless given (Test Connection
    passes what was typed: ``token`` for Bearer authentication, ``oauth`` for the OAuth2 client
    credentials grant). A job whose Authentication Method is OAuth gets its access tokens from
    its Token Endpoint with its decrypted Client Secret (cached in this process; Test
    Connection always fetches a new one). Raises ``SecretUnavailableError`` when a stored secret
    cannot be decrypted and ``DestinationRefusedError`` when the URL may not be called.

    * a cycle: ``PROVISIONING_HTTP_TIMEOUT``, ``PROVISIONING_CONCURRENCY`` requests in flight,
      429s retried after ``Retry-After`` (at most ``PROVISIONING_MAX_RETRY_AFTER``), the dialect
      the Tenant URL selects;
    * on demand: the same timeouts, two requests in flight, and always the default dialect
      (``aadOptscim062020`` does not apply to provisioning on demand, as documented);
    * Test Connection: one request at a time, 5 seconds, a 429 is an answer (no retry).
    """
    url = job.tenant_url if tenant_url is None else tenant_url
    if oauth is None and token is None and job.auth_method == ProvisioningJob.AuthMethod.OAUTH:
        oauth = OAuthCredentials(
            token_url=job.oauth_token_url,
            client_id=job.oauth_client_id,
            client_secret=secret_decrypt(job.oauth_client_secret_encrypted),
        )
    if oauth is None and token is None:
        token = secret_decrypt(job.secret_token_encrypted)
    testing = purpose == Purpose.TEST_CONNECTION
    timeout = TEST_CONNECTION_TIMEOUT_SECONDS if testing else settings.PROVISIONING_HTTP_TIMEOUT
    source = (
        OAuthTokenSource(oauth, timeout=timeout, cache=not testing) if oauth is not None else None
    )
    if testing:
        return ScimClient(
            tenant_url=url,
            token=token or "",
            timeout=TEST_CONNECTION_TIMEOUT_SECONDS,
            connect_timeout=TEST_CONNECTION_TIMEOUT_SECONDS,
            max_concurrency=1,
            max_rate_limit_retries=0,
            token_source=source,
        )
    return ScimClient(
        tenant_url=url,
        token=token or "",
        timeout=timeout,
        max_concurrency=(
            ON_DEMAND_CONCURRENCY
            if purpose == Purpose.ON_DEMAND
            else settings.PROVISIONING_CONCURRENCY
        ),
        max_retry_after=settings.PROVISIONING_MAX_RETRY_AFTER,
        dialect=Dialect(flag2020=False) if purpose == Purpose.ON_DEMAND else None,
        token_source=source,
    )
