"""The one base class of every SCIM endpoint: SCIM media type in and out, bearer
authentication bound to the tenant in the URL, SCIM error bodies for every failure, and the
tenant resolved once."""

from __future__ import annotations

import functools
import io
import json
import logging
import time
import uuid

import orjson
from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import APIView

from elium_portal.models import Tenant
from scim_api import ratelimit
from scim_api.authentication import ScimBearerAuthentication, client_ip, request_header
from scim_api.errors import InvalidSyntax, ScimError, Uniqueness
from scim_api.feed import Origin, parse_request_id
from scim_api.policy import POLICIES, CompatibilityPolicy
from scim_api.request_log import scim_request_record, should_log
from scim_api.validation import TOO_DEEP, check_depth

logger = logging.getLogger(__name__)

SCIM_MEDIA_TYPE = "application/scim+json"
#: ``Retry-After`` (seconds) of the 503 answered while the database cannot be reached: about
#: how long a PostgreSQL restart or fail-over takes.
UNAVAILABLE_RETRY_AFTER = 5


class DepthLimitedJSONParser(JSONParser):
    """JSON, refused with 400 ``invalidSyntax`` when nested deeper than
    :data:`~scim_api.validation.MAX_JSON_DEPTH`: past that, recursive code (Python's own JSON
    decoder included) runs out of stack."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidSyntax(TOO_DEEP) from None
        check_depth(data)
        return data


class ScimJSONParser(DepthLimitedJSONParser):
    media_type = SCIM_MEDIA_TYPE


_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class RawJSON:
    """JSON text made elsewhere (by PostgreSQL, for a page of users), to be written as it is."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class RawJSONEncoder(encoders.JSONEncoder):
    """DRF's encoder, which also writes :class:`RawJSON` (as the value its text holds)."""

    def default(self, obj):
        if isinstance(obj, RawJSON):
            return json.loads(obj.text)
        return super().default(obj)


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, with orjson doing the work: the same compact UTF-8 bytes (U+2028
    and U+2029 escaped, as DRF does) several times faster. An ``indent`` asked for in the
    ``Accept`` header, and anything orjson cannot write, still go through DRF's own rendering.
    :class:`RawJSON` values are written as they are (by orjson; DRF's rendering reads them)."""

    encoder_class = RawJSONEncoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=self._default, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            # What orjson refuses and Python's json writes (an integer past 64 bits, which
            # JSONB stores): DRF's own rendering.
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in body or _PARAGRAPH_SEPARATOR in body:
            body = body.replace(_LINE_SEPARATOR, b"\\u2028").replace(
                _PARAGRAPH_SEPARATOR, b"\\u2029"
            )
        return body

    @functools.cached_property
    def _encoder(self):
        return self.encoder_class()

    def _default(self, obj):
        if isinstance(obj, RawJSON):
            return orjson.Fragment(obj.text)
        return self._encoder.default(obj)


class ScimJSONRenderer(FastJSONRenderer):
    media_type = SCIM_MEDIA_TYPE
    charset = "utf-8"


class ScimJSONAcceptingRenderer(FastJSONRenderer):
    """Lets clients that ask for ``application/json`` get the same body."""


class TenantScimEnabled(BasePermission):
    message = "SCIM provisioning is disabled for this tenant."

    def has_permission(self, request, view) -> bool:
        # Authentication already failed with a 401 unless a token of this tenant was given.
        if request.auth is None:
            return False
        if not request.auth.tenant.scim_enabled:
            raise ScimError(
                "SCIM provisioning is disabled for this tenant. An administrator can enable it "
                "in Settings › Security.",
                status=403,
            )
        return True


class ScimView(APIView):
    parser_classes = [ScimJSONParser, DepthLimitedJSONParser]
    renderer_classes = [ScimJSONRenderer, ScimJSONAcceptingRenderer]
    authentication_classes = [ScimBearerAuthentication]
    permission_classes = [TenantScimEnabled]
    #: Set by ``initial()``: the tenant of the authenticated token (= the tenant in the URL).
    tenant: Tenant
    policy: CompatibilityPolicy
    #: Set by ``initial()``: the token and request id the change feed records for a write.
    origin: Origin

    #: False for views that only hand the request on to another SCIM view (which logs it and
    #: counts it against the rate limit).
    log_requests = True
    rate_limited = True

    def dispatch(self, request, *args, **kwargs):
        started = time.perf_counter()
        # The lenient dispatcher hands this request to another view: one id for both.
        request_id = getattr(request, "_scim_request_id", None) or uuid.uuid4()
        request._scim_request_id = request_id
        # The lenient dispatcher hands the same request on to another view: the first view to
        # see it answers for the client address.
        first = not getattr(request, "_scim_address_checked", False)
        request._scim_address_checked = True
        address = client_ip(request)
        wait = ratelimit.auth_failures_wait(address) if first else None
        if wait is not None:
            # Before the token is looked at, and recorded nowhere: a flood costs no query.
            response = self._refuse(
                request,
                ScimError(
                    "Too many failed authentications from this address; retry later.",
                    status=429,
                    headers={"Retry-After": str(wait)},
                ),
                *args,
                **kwargs,
            )
            response["X-Request-Id"] = str(request_id)
            return response
        refused = read_body(request, limit=settings.SCIM_MAX_REQUEST_BYTES)
        if refused:
            response = self._refuse(request, refused, *args, **kwargs)
        else:
            response = super().dispatch(request, *args, **kwargs)
        if first and response.status_code == status.HTTP_401_UNAUTHORIZED:
            ratelimit.auth_failure_record(address)
        response["X-Request-Id"] = str(request_id)
        if self.log_requests:
            self._log(
                request, response, kwargs.get("slug"), started, request_id, skip_body=bool(refused)
            )
        return response

    def _refuse(self, request, error: ScimError, *args, **kwargs):
        """Answer ``error`` without running the view (nor reading any more of the body)."""
        self.args, self.kwargs, self.headers = args, kwargs, self.default_response_headers
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        return self.finalize_response(drf_request, scim_error_response(error), *args, **kwargs)

    def _log(self, request, response, slug, started, request_id, *, skip_body) -> None:
        token = getattr(getattr(self, "request", None), "_auth", None)
        tenant = token.tenant if token is not None else None
        if tenant is None and slug:
            try:
                tenant = Tenant.objects.filter(slug=slug).first()
            except DatabaseError:
                return  # the database is down: the answer (a 503 or 401) matters, not the log
            if tenant is None:
                return  # nothing to attach it to, and anyone can send these
        if not should_log(tenant, response.status_code):
            return
        # An unauthenticated caller's body is not worth keeping (and costs space at will).
        skip_body = skip_body or token is None
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        scim_request_record(
            tenant=tenant,
            token_prefix=token.display_prefix if token is not None else "",
            method=request.method,
            path=request.path,
            query=request.META.get("QUERY_STRING", ""),
            status=response.status_code,
            duration_ms=(time.perf_counter() - started) * 1000,
            client_ip=client_ip(request),
            request_id=request_id,
            client_request_id=request_header(request, "client-request-id"),
            request_body=None if skip_body else request.body,
            response_body=getattr(response, "content", b""),
            # Anyone can send requests no token was accepted for: one row per minute and
            # address, with a count, however many arrive.
            aggregate=token is None,
        )

    #: The ``Accept`` headers SCIM clients send, and the renderer (by index) DRF's content
    #: negotiation picks for each: answered without parsing the header (a twentieth of a
    #: request's time). Anything else — media type parameters, several types, ``?format=`` —
    #: goes through DRF's negotiation.
    _COMMON_ACCEPT = {"": 0, "*/*": 0, SCIM_MEDIA_TYPE: 0, "application/json": 1}

    def perform_content_negotiation(self, request, force=False):
        index = self._COMMON_ACCEPT.get(request.META.get("HTTP_ACCEPT", "").strip())
        if index is None or "format=" in request.META.get("QUERY_STRING", ""):
            return super().perform_content_negotiation(request, force=force)
        renderer = self.get_renderers()[index]
        return renderer, renderer.media_type

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.tenant = request.auth.tenant
        self.policy = POLICIES[self.tenant.scim_compatibility]
        # The feed shares the request log's id: the client's client-request-id, else ours.
        self.origin = Origin(
            token_prefix=request.auth.display_prefix,
            request_id=parse_request_id(request_header(request, "client-request-id"))
            or request._request._scim_request_id,
        )
        wait = ratelimit.take(request.auth.pk) if self.rate_limited else None
        if wait is not None:
            raise ScimError(
                "Too many requests for this token; retry later.",
                status=429,
                headers={"Retry-After": str(int(wait))},
            )

    @property
    def base_url(self) -> str:
        return self.tenant.scim_base_url

    def get_exception_handler(self):
        return scim_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Errors and bodies are always SCIM JSON, even when content negotiation failed.
        if response.get("Content-Type", "").startswith("application/json") and not (
            request.META.get("HTTP_ACCEPT", "").startswith("application/json")
        ):
            response["Content-Type"] = f"{SCIM_MEDIA_TYPE}; charset=utf-8"
        return response


def read_body(request, *, limit: int) -> ScimError | None:
    """Read the request body into ``request.body`` now (so the log can show it after DRF has
    parsed it), or say why not: never more than ``limit`` bytes are read.

    A ``Content-Length`` over the limit is refused before a byte is read. A chunked body has no
    ``Content-Length``: WSGI servers that de-chunk it (gunicorn) say so with
    ``wsgi.input_terminated`` and hand it over in ``wsgi.input``, which Django's
    ``request.body`` never reads (it reads ``Content-Length`` bytes, that is none). It is read
    here from the stream, up to the limit, and then stands in for a body with that length.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return ScimError(
            f"The request body is {length} bytes; the limit is {limit} bytes.", status=413
        )
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if length > 0 or not chunked:
        _ = request.body
        return None
    if not request.environ.get("wsgi.input_terminated"):
        # A server that passes the raw chunked stream (Django's runserver): the body cannot be
        # delimited, and reading it as empty would silently lose it.
        return ScimError(
            "This server cannot read a chunked request body; send Content-Length.", status=411
        )
    stream = request.environ["wsgi.input"]
    chunks, size = [], 0
    while chunk := stream.read(min(65_536, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return ScimError(f"The request body is over the limit of {limit} bytes.", status=413)
    body = b"".join(chunks)
    request._body = body
    request._stream = io.BytesIO(body)
    request.META["CONTENT_LENGTH"] = str(len(body))
    return None


def scim_error_response(error: ScimError) -> Response:
    response = Response(error.to_scim(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def scim_exception_handler(exc, context):
    """Every exception of a SCIM view → an RFC 7644 §3.12 error body. Unexpected exceptions are
    logged with their traceback server-side and answered with a 500 that reveals nothing."""
    if isinstance(exc, ScimError):
        return scim_error_response(exc)
    if isinstance(exc, Http404):
        return scim_error_response(ScimError("Resource not found.", status=404))
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        view = context.get("view")
        error = ScimError(str(exc.detail), status=401)
        response = scim_error_response(error)
        if view is not None:
            response["WWW-Authenticate"] = view.get_authenticate_header(context["request"])
        return response
    if isinstance(exc, exceptions.ParseError):
        return scim_error_response(
            ScimError(
                f"The request body is not valid JSON: {exc.detail}", scim_type="invalidSyntax"
            )
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return scim_error_response(
            ScimError(
                f"Unsupported Content-Type {exc.detail!s}. Send application/scim+json.", status=415
            )
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return scim_error_response(ScimError(str(exc.detail), status=405))
    if isinstance(exc, exceptions.NotAcceptable):
        return scim_error_response(ScimError(str(exc.detail), status=406))
    if isinstance(exc, exceptions.Throttled):
        error = ScimError("Too many requests.", status=429)
        if exc.wait:
            error.headers["Retry-After"] = str(int(exc.wait))
        return scim_error_response(error)
    if isinstance(exc, exceptions.PermissionDenied):
        return scim_error_response(ScimError(str(exc.detail), status=403))
    if isinstance(exc, exceptions.APIException):
        return scim_error_response(ScimError(str(exc.detail), status=exc.status_code))
    if isinstance(exc, OperationalError | InterfaceError):
        # PostgreSQL is restarting, failing over or out of connections: a client that retries
        # later succeeds, and RFC 7644 clients (Azure AD among them) retry a 503.
        logger.warning("SCIM request failed: database unavailable (%s)", exc.__class__.__name__)
        return scim_error_response(
            ScimError(
                "The service is temporarily unavailable; retry later.",
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
            )
        )
    if isinstance(exc, IntegrityError):
        # Checked at commit: a concurrent request deleted a resource this one referred to
        # (23503), or won a race for a unique value (23505). Either way: retry.
        sqlstate = getattr(exc.__cause__, "sqlstate", None)
        if sqlstate == "23505":
            return scim_error_response(
                Uniqueness("A concurrent request created the same resource; retry.")
            )
        if sqlstate == "23503":
            return scim_error_response(
                ScimError(
                    "A resource this request refers to was deleted while it ran; retry.",
                    status=409,
                )
            )
    logger.exception("Unhandled error in SCIM endpoint")
    detail = "Internal server error." if not settings.DEBUG else f"{exc.__class__.__name__}"
    return scim_error_response(ScimError(detail, status=status.HTTP_500_INTERNAL_SERVER_ERROR))
