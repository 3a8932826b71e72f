"""The inbound SCIM request log: what a provisioning client sent and what it got back, with
secrets redacted, for support staff."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid

from django.conf import settings
from django.db import connection

from elium_portal import clock
from elium_portal.models import Tenant
from scim_api.models import ScimRequestLog

logger = logging.getLogger(__name__)

MAX_BODY_CHARS = 8_000
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"password|secret|token", re.IGNORECASE)
_TOKEN_IN_TEXT = re.compile(r"elium_scim_[a-z0-9]{12}_[A-Za-z0-9_-]+")
# For bodies that are not valid JSON: any "…password…": "…" pair, and the value after a
# "path": "…password…" pair, however broken the rest is.
_SECRET_PAIR = re.compile(
    r'("[^"]*(?:password|secret|token)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE
)
_VALUE_PAIR = re.compile(r'("value"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)


def _redact(value):
    if isinstance(value, dict):
        out = {}
        # Azure-tolerant parsing accepts "Path" as well as "path": so must the redaction.
        path = next((v for k, v in value.items() if k.lower() == "path" and isinstance(v, str)), "")
        for key, item in value.items():
            secret_value = key.lower() == "value" and _SECRET_KEY.search(path)
            if _SECRET_KEY.search(key) or secret_value:
                out[key] = REDACTED
            else:
                out[key] = _redact(item)
        return out
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return _TOKEN_IN_TEXT.sub(REDACTED, value)
    return value


def redact_body(raw: bytes | str | None) -> str:
    """A body for the log: JSON with every password/secret/token value replaced, anything else
    with token-looking strings replaced; truncated."""
    if not raw:
        return ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        text = json.dumps(_redact(json.loads(text)), ensure_ascii=True)
    except (ValueError, RecursionError):
        text = _TOKEN_IN_TEXT.sub(REDACTED, text)
        text = _SECRET_PAIR.sub(rf'\1"{REDACTED}"', text)
        if _SECRET_KEY.search(text):
            # A broken body that mentions a secret path: keep no value at all.
            text = _VALUE_PAIR.sub(rf'\1"{REDACTED}"', text)
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + f"… [truncated, {len(text)} characters]"
    return text


def _storable(text: str) -> str:
    """PostgreSQL text cannot hold NUL nor lone surrogates: show U+FFFD in their place."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


def _as_uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def should_log(tenant: Tenant | None, status: int) -> bool:
    level = tenant.scim_request_log_level if tenant else Tenant.ScimRequestLogLevel.ERRORS
    if level == Tenant.ScimRequestLogLevel.OFF:
        return False
    if level == Tenant.ScimRequestLogLevel.ERRORS:
        return status >= 400
    return True


def scim_request_record(
    *,
    tenant: Tenant | None,
    token_prefix: str,
    method: str,
    path: str,
    query: str,
    status: int,
    duration_ms: float,
    client_ip: str | None,
    request_id,
    request_body,
    response_body,
    aggregate: bool = False,
    client_request_id: str | None = None,
) -> None:
    """Write one log row. A failure to log never fails the request itself.

    With ``aggregate`` (a request no token was accepted for), the requests of one tenant,
    address, status and minute share one row, whose ``count`` goes up by one; the row shows the
    first request of the minute.

    ``client_request_id`` is the client's ``client-request-id`` header (Azure AD's, or the
    Change ID of this installation's provisioning log entry); kept when it is a UUID.
    """
    try:
        now = clock.now()
        row = ScimRequestLog(
            tenant=tenant,
            created_at=now,
            request_id=request_id,
            client_request_id=_as_uuid(client_request_id),
            token_prefix=token_prefix,
            method=_storable(method)[:10],
            path=_storable(path[:500]),
            query=_storable(_TOKEN_IN_TEXT.sub(REDACTED, query)[:2000]),
            status=status,
            duration_ms=round(duration_ms, 2),
            client_ip=client_ip,
            request_body=_storable(redact_body(request_body)),
            response_body=_storable(redact_body(response_body)),
        )
        if aggregate and tenant is not None:
            row.aggregate_key = f"{status} {client_ip or '-'} {now:%Y-%m-%dT%H:%M}"
            _record_aggregated(row)
        else:
            row.save(force_insert=True)
    except Exception:  # logging must never fail the request it describes
        logger.warning("Could not record a SCIM request log entry", exc_info=True)


_AGGREGATED_COLUMNS = (
    "tenant_id",
    "created_at",
    "request_id",
    "token_prefix",
    "method",
    "path",
    "query",
    "status",
    "duration_ms",
    "client_ip",
    "request_body",
    "response_body",
    "aggregate_key",
)


def _record_aggregated(row: ScimRequestLog) -> None:
    """Insert ``row``, or count one more request on the row of its key, in one statement: two
    processes counting the same minute never lose a request nor make two rows."""
    table = ScimRequestLog._meta.db_table
    columns = ", ".join(f'"{c}"' for c in _AGGREGATED_COLUMNS)
    values = ", ".join(["%s"] * len(_AGGREGATED_COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({columns}, "count") VALUES ({values}, 1) '
            'ON CONFLICT ("tenant_id", "aggregate_key") WHERE "aggregate_key" IS NOT NULL '
            f'DO UPDATE SET "count" = "{table}"."count" + 1',
            [getattr(row, column) for column in _AGGREGATED_COLUMNS],
        )


def scim_request_log_prune(*, days: int | None = None) -> int:
    """Delete entries older than the retention period; returns how many went."""
    days = settings.SCIM_REQUEST_LOG_DAYS if days is None else days
    cutoff = clock.now() - dt.timedelta(days=days)
    deleted, _ = ScimRequestLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
