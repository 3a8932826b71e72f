"""SCIM secret tokens: issue, regenerate, revoke, authenticate.

Format: ``elium_scim_<key id>_<secret>`` — a fixed prefix secret scanners can spot, a public
12-character key id to find the row, and 32 random bytes (base64url). Only the key id, the last
four characters and ``HMAC-SHA256(TOKEN_PEPPER, token)`` are stored; comparison is constant-time;
an unknown key id and a wrong secret fail the same way.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection, transaction

from elium_portal import clock
from elium_portal.fastsql import instance_from_row, select_list, width
from elium_portal.models import TOKEN_PREFIX, AuditEvent, ScimToken, Tenant, TokenFormSubmission
from elium_portal.services.audit import actor_label, audit_event_record
from elium_portal.services.token_cache import (
    token_cache_invalidate,
    token_cache_row,
    token_use_noted,
    token_use_noted_at,
)

logger = logging.getLogger(__name__)

KEY_ID_LENGTH = 12
_KEY_ALPHABET = string.ascii_lowercase + string.digits
#: ``last_used_at`` is written at most this often per token.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
GRACE_PERIODS = {
    "immediately": dt.timedelta(0),
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
}


#: How long a Generate/Regenerate form stays submittable after the Security page showed it.
TOKEN_FORM_MAX_AGE = dt.timedelta(hours=2)
_TOKEN_FORM_SALT = "elium_portal.token-form"


class TokenFormAlreadySubmittedError(Exception):
    """The Generate/Regenerate form was submitted before: a refresh, a re-post or a replay."""


class TokenFormInvalidError(Exception):
    """The form's one-time id is missing, forged, expired or of another tenant or user."""


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token: the only moment the plaintext exists."""

    token: ScimToken
    plaintext: str

    def __repr__(self) -> str:  # never let the secret reach a log through repr()
        return f"IssuedToken({self.token.display_prefix})"


def _digest(plaintext: str) -> str:
    return hmac.new(settings.TOKEN_PEPPER.encode(), plaintext.encode(), hashlib.sha256).hexdigest()


def _split(plaintext: str) -> tuple[str, str] | None:
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    rest = plaintext[len(TOKEN_PREFIX) :]
    key_id, sep, secret = rest[:KEY_ID_LENGTH], rest[KEY_ID_LENGTH : KEY_ID_LENGTH + 1], rest[13:]
    if sep != "_" or len(key_id) != KEY_ID_LENGTH or not secret or len(plaintext) > 200:
        return None
    return key_id, secret


def token_form_submission_new(*, tenant: Tenant, user) -> str:
    """A one-time id for a Generate/Regenerate form shown to ``user`` on ``tenant``'s Security
    page: signed, bound to both, valid for :data:`TOKEN_FORM_MAX_AGE`, usable once."""
    return signing.dumps(
        {"t": tenant.pk, "u": user.pk, "n": secrets.token_urlsafe(16)}, salt=_TOKEN_FORM_SALT
    )


def token_form_submission_check(*, tenant: Tenant, user, value: str) -> str:
    """The id's random part, when ``value`` is a genuine, unexpired id for this tenant and user;
    else :class:`TokenFormInvalidError`. Whether it was used already is checked on issue."""
    try:
        data = signing.loads(
            value, salt=_TOKEN_FORM_SALT, max_age=TOKEN_FORM_MAX_AGE.total_seconds()
        )
    except signing.BadSignature as error:
        raise TokenFormInvalidError(str(error)) from None
    if not isinstance(data, dict) or data.get("t") != tenant.pk or data.get("u") != user.pk:
        raise TokenFormInvalidError("The form belongs to another page.")
    nonce = data.get("n")
    if not isinstance(nonce, str) or not nonce:
        raise TokenFormInvalidError("The form has no id.")
    return nonce


def _submission_consume(*, tenant: Tenant, submission_id: str, now: dt.datetime) -> None:
    TokenFormSubmission.objects.filter(created_at__lt=now - TOKEN_FORM_MAX_AGE).delete()
    _, created = TokenFormSubmission.objects.get_or_create(
        tenant=tenant, submission_id=submission_id, defaults={"created_at": now}
    )
    if not created:
        raise TokenFormAlreadySubmittedError(submission_id)


@transaction.atomic
def scim_token_issue(
    *,
    tenant: Tenant,
    actor=None,
    label: str | None = None,
    expires_at: dt.datetime | None = None,
    replace: str | None = None,
    ip: str | None = None,
    submission_id: str | None = None,
) -> IssuedToken:
    """Issue a new token for ``tenant``.

    ``replace`` is ``None`` to leave other tokens alone, or a key of :data:`GRACE_PERIODS`
    (``"immediately"``, ``"1h"``, ``"24h"``): the tenant's other usable tokens then stop working
    at once or when the grace period ends, so a running Azure AD job can be updated first.

    ``submission_id`` (the console form's one-time id, see :func:`token_form_submission_new`)
    makes the issue happen at most once per form: a second call with the same id raises
    :class:`TokenFormAlreadySubmittedError` and changes nothing.
    """
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise ValueError("The expiry date must be in the future.")
    if replace is not None and replace not in GRACE_PERIODS:
        raise ValueError(f"Unknown grace period {replace!r}.")
    if submission_id is not None:
        _submission_consume(tenant=tenant, submission_id=submission_id, now=now)

    key_id = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_ID_LENGTH))
    plaintext = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    previous = list(
        ScimToken.objects.for_tenant(tenant).usable(now).select_for_update().order_by("pk")
    )
    token = ScimToken.objects.create(
        tenant=tenant,
        key_id=key_id,
        digest=_digest(plaintext),
        last4=plaintext[-4:],
        created_at=now,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        created_by_label=label or actor_label(actor),
        expires_at=expires_at,
    )

    replaced = []
    if replace is not None:
        token_cache_invalidate()
        grace = GRACE_PERIODS[replace]
        for old in previous:
            if grace:
                ends = now + grace
                old.expires_at = min(old.expires_at, ends) if old.expires_at else ends
                old.save(update_fields=["expires_at"])
            else:
                old.revoked_at = now
                old.save(update_fields=["revoked_at"])
            replaced.append(old.display_prefix)

    regenerated = replace is not None and bool(previous)
    audit_event_record(
        tenant=tenant,
        action=AuditEvent.Action.TOKEN_REGENERATED
        if regenerated
        else AuditEvent.Action.TOKEN_GENERATED,
        actor=actor,
        label=label,
        ip=ip,
        details={
            "token": token.display_prefix,
            "expires_at": expires_at.isoformat() if expires_at else None,
            **({"replaced": replaced, "old_tokens_stop": replace} if regenerated else {}),
        },
    )
    return IssuedToken(token=token, plaintext=plaintext)


@transaction.atomic
def scim_token_revoke(*, tenant: Tenant, token: ScimToken, actor=None, label=None, ip=None) -> None:
    """End ``token`` at once. Idempotent; the token must belong to ``tenant``."""
    token = ScimToken.objects.for_tenant(tenant).select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    token_cache_invalidate()
    audit_event_record(
        tenant=tenant,
        action=AuditEvent.Action.TOKEN_REVOKED,
        actor=actor,
        label=label,
        ip=ip,
        details={"token": token.display_prefix},
    )


def scim_token_authenticate(
    *, plaintext: str, ip: str | None = None, tenant_slug: str | None = None
) -> ScimToken | None:
    """The usable token matching ``plaintext`` (with its tenant loaded), or None.

    Unknown key ids, wrong secrets, revoked and expired tokens all return None after the same
    amount of work, so a caller cannot tell them apart. With ``tenant_slug``, a token of another
    tenant is None too — and its use is not recorded, so a wrong Tenant URL does not show up as
    "last used" on the token's own Security page.
    """
    parts = _split(plaintext)
    token = _token_with_tenant(parts[0]) if parts else None
    expected = token.digest if token else _digest("elium-dummy-token")
    if not hmac.compare_digest(expected, _digest(plaintext)) or token is None:
        return None
    now = clock.now()
    if not token.is_usable(now):
        return None
    if tenant_slug is not None and token.tenant.slug != tenant_slug:
        return None
    _note_use(token, ip=ip, now=now)
    return token


@functools.cache
def _token_with_tenant_sql() -> str:
    return (
        f"SELECT {select_list(ScimToken, 't')}, {select_list(Tenant, 'n')} "
        f'FROM "{ScimToken._meta.db_table}" t '
        f'JOIN "{Tenant._meta.db_table}" n ON n."id" = t."tenant_id" WHERE t."key_id" = %s'
    )


def _token_with_tenant(key_id: str) -> ScimToken | None:
    """The token and its tenant: this runs on every SCIM request, so the row comes from the
    per-process cache when it can (``token_cache``), else from one pre-built query. Fresh
    instances every time: the cached row is an immutable tuple shared by every thread."""
    row = token_cache_row(key_id=key_id, load=_token_with_tenant_row)
    if row is None:
        return None
    split = width(ScimToken)
    token = instance_from_row(ScimToken, row[:split])
    token.tenant = instance_from_row(Tenant, row[split:])
    return token


def _token_with_tenant_row(key_id: str) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(_token_with_tenant_sql(), [key_id])
        return cursor.fetchone()


def _note_use(token: ScimToken, *, ip: str | None, now: dt.datetime) -> None:
    """Throttled bookkeeping: ``last_used_at`` at most once a minute per token, and one audit
    event the first time a token is seen from an address. Never a write on every request.

    A cached row keeps the ``last_used_at`` it was read with (the write does not empty the
    cache), so with the cache on, this process also remembers when it last wrote it."""
    last_used_at = token.last_used_at
    if settings.SCIM_TOKEN_CACHE:
        noted_at = token_use_noted_at(token.pk)
        if noted_at is not None and (last_used_at is None or noted_at > last_used_at):
            last_used_at = noted_at
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        ScimToken.objects.filter(pk=token.pk).exclude(
            last_used_at__gt=now - LAST_USED_RESOLUTION
        ).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
        if settings.SCIM_TOKEN_CACHE:
            token_use_noted(token.pk, now)
    if ip is None:
        return
    cache_key = f"scim-token-ip:{token.pk}:{ip}"
    if cache.get(cache_key):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO elium_portal_scimtokenaddress (token_id, ip, first_seen_at) "
            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [token.pk, ip, now],
        )
        is_new = cursor.fetchone() is not None
    cache.set(cache_key, True, timeout=3600)
    if is_new:
        audit_event_record(
            tenant=token.tenant,
            action=AuditEvent.Action.TOKEN_NEW_ADDRESS,
            label=f"token {token.display_prefix}",
            ip=ip,
            details={"token": token.display_prefix},
        )


@transaction.atomic
def tenant_scim_set_enabled(*, tenant: Tenant, enabled: bool, actor=None, ip=None) -> bool:
    """Switch SCIM provisioning on or off. Returns whether anything changed."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.scim_enabled == enabled:
        return False
    tenant.scim_enabled = enabled
    tenant.save(update_fields=["scim_enabled"])
    token_cache_invalidate()
    audit_event_record(
        tenant=tenant,
        action=AuditEvent.Action.SCIM_ENABLED if enabled else AuditEvent.Action.SCIM_DISABLED,
        actor=actor,
        ip=ip,
    )
    return True


@transaction.atomic
def tenant_scim_settings_update(
    *, tenant: Tenant, compatibility: str, request_log_level: str, actor=None, ip=None
) -> bool:
    """Change the compatibility policy and the request-log level. Audited; returns whether
    anything changed."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    changes = {}
    if tenant.scim_compatibility != compatibility:
        changes["compatibility"] = [tenant.scim_compatibility, compatibility]
        tenant.scim_compatibility = compatibility
    if tenant.scim_request_log_level != request_log_level:
        changes["request_log_level"] = [tenant.scim_request_log_level, request_log_level]
        tenant.scim_request_log_level = request_log_level
    if not changes:
        return False
    tenant.full_clean(exclude=["slug", "name"])
    tenant.save(update_fields=["scim_compatibility", "scim_request_log_level"])
    token_cache_invalidate()
    audit_event_record(
        tenant=tenant,
        action=AuditEvent.Action.SCIM_SETTINGS_CHANGED,
        actor=actor,
        ip=ip,
        details=changes,
    )
    return True
