"""SCIM secret tokens: format, storage, authentication, grace periods, throttling, audit."""

import datetime as dt
import hashlib
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from elium_portal.models import TOKEN_PREFIX, AuditEvent, ScimToken
from elium_portal.services.tokens import (
    KEY_ID_LENGTH,
    scim_token_authenticate,
    scim_token_issue,
    scim_token_revoke,
    tenant_scim_set_enabled,
)
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"^elium_scim_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$")


def test_token_has_a_recognizable_format():
    issued = scim_token_issue(tenant=TenantFactory())

    assert TOKEN_RE.match(issued.plaintext)
    assert issued.token.display_prefix == (
        f"elium_scim_{issued.token.key_id}_…{issued.plaintext[-4:]}"
    )
    assert issued.plaintext not in repr(issued)


def test_only_a_keyed_digest_is_stored():
    issued = scim_token_issue(tenant=TenantFactory())
    # The whole secret (it may itself contain "_"; its last four characters are stored on
    # purpose, to identify the token on screen).
    secret_part = issued.plaintext[len(TOKEN_PREFIX) + KEY_ID_LENGTH + 1 :]

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM elium_portal_scimtoken")
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert issued.plaintext not in stored
    assert secret_part not in stored
    # Not a plain (unpeppered) hash either: a leaked table cannot be checked offline.
    assert hashlib.sha256(issued.plaintext.encode()).hexdigest() not in stored
    assert len(issued.token.digest) == 64


def test_authenticate_accepts_the_token_and_rejects_everything_else():
    tenant = TenantFactory()
    issued = scim_token_issue(tenant=tenant)
    key_id = issued.token.key_id

    assert scim_token_authenticate(plaintext=issued.plaintext).tenant == tenant
    wrong_secret = f"elium_scim_{key_id}_" + "A" * 43
    unknown_key = "elium_scim_zzzzzzzzzzzz_" + issued.plaintext.rsplit("_", 1)[-1]
    for candidate in [
        wrong_secret,
        unknown_key,
        "",
        "garbage",
        issued.plaintext + "x",
        issued.plaintext.upper(),
        "elium_scim_" + "x" * 500,
    ]:
        assert scim_token_authenticate(plaintext=candidate) is None


def test_revoked_and_expired_tokens_stop_working(clock):
    tenant = TenantFactory()
    revoked = scim_token_issue(tenant=tenant)
    scim_token_revoke(tenant=tenant, token=revoked.token)
    expiring = scim_token_issue(tenant=tenant, expires_at=clock.current + dt.timedelta(days=1))

    assert scim_token_authenticate(plaintext=revoked.plaintext) is None
    assert scim_token_authenticate(plaintext=expiring.plaintext) is not None
    clock.advance(days=1, seconds=1)
    assert scim_token_authenticate(plaintext=expiring.plaintext) is None


def test_regenerate_immediately_revokes_the_old_token():
    tenant = TenantFactory()
    old = scim_token_issue(tenant=tenant)

    new = scim_token_issue(tenant=tenant, replace="immediately")

    assert scim_token_authenticate(plaintext=old.plaintext) is None
    assert scim_token_authenticate(plaintext=new.plaintext) is not None


@pytest.mark.parametrize(("grace", "hours"), [("1h", 1), ("24h", 24)])
def test_regenerate_with_grace_keeps_the_old_token_until_the_period_ends(clock, grace, hours):
    tenant = TenantFactory()
    old = scim_token_issue(tenant=tenant)

    scim_token_issue(tenant=tenant, replace=grace)

    clock.advance(hours=hours, seconds=-1)
    assert scim_token_authenticate(plaintext=old.plaintext) is not None
    clock.advance(seconds=2)
    assert scim_token_authenticate(plaintext=old.plaintext) is None


def test_last_used_at_is_written_at_most_once_a_minute(clock):
    issued = scim_token_issue(tenant=TenantFactory())

    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            scim_token_authenticate(plaintext=issued.plaintext, ip="10.0.0.1")
            clock.advance(seconds=1)
    updates = [q for q in queries if q["sql"].startswith('UPDATE "elium_portal_scimtoken"')]
    assert len(updates) == 1

    clock.advance(seconds=60)
    with CaptureQueriesContext(connection) as queries:
        scim_token_authenticate(plaintext=issued.plaintext, ip="10.0.0.1")
    assert sum(q["sql"].startswith('UPDATE "elium_portal_scimtoken"') for q in queries) == 1
    issued.token.refresh_from_db()
    assert issued.token.last_used_at == clock.current
    assert issued.token.last_used_ip == "10.0.0.1"


def test_first_use_from_a_new_address_is_audited_once_per_address():
    tenant = TenantFactory()
    issued = scim_token_issue(tenant=tenant)

    for ip in ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1"]:
        scim_token_authenticate(plaintext=issued.plaintext, ip=ip)

    events = AuditEvent.objects.filter(tenant=tenant, action=AuditEvent.Action.TOKEN_NEW_ADDRESS)
    assert sorted(events.values_list("ip", flat=True)) == ["10.0.0.1", "10.0.0.2"]


def test_every_action_is_audited_with_actor_and_ip():
    membership = MembershipFactory(role="admin")
    tenant, user = membership.tenant, membership.user

    first = scim_token_issue(tenant=tenant, actor=user, ip="192.0.2.1")
    scim_token_issue(tenant=tenant, actor=user, ip="192.0.2.1", replace="1h")
    scim_token_revoke(tenant=tenant, token=first.token, actor=user, ip="192.0.2.1")
    tenant_scim_set_enabled(tenant=tenant, enabled=False, actor=user, ip="192.0.2.1")
    tenant_scim_set_enabled(tenant=tenant, enabled=False, actor=user, ip="192.0.2.1")  # no-op
    tenant_scim_set_enabled(tenant=tenant, enabled=True, actor=user, ip="192.0.2.1")

    events = list(AuditEvent.objects.filter(tenant=tenant).order_by("id"))
    assert [e.action for e in events] == [
        "token.generated",
        "token.regenerated",
        "token.revoked",
        "scim.disabled",
        "scim.enabled",
    ]
    assert {e.actor_label for e in events} == {user.username}
    assert {e.ip for e in events} == {"192.0.2.1"}
    assert events[1].details["old_tokens_stop"] == "1h"


def test_expiry_in_the_past_is_refused():
    with pytest.raises(ValueError, match="future"):
        scim_token_issue(tenant=TenantFactory(), expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))

    assert not ScimToken.objects.exists()


def test_issue_token_command_prints_only_the_token(capsys):
    tenant = TenantFactory(slug="acme")

    call_command("issue_token", "acme")

    out = capsys.readouterr().out
    assert TOKEN_RE.match(out.strip())
    assert out.count("\n") == 1
    assert scim_token_authenticate(plaintext=out.strip()).tenant == tenant


def test_issue_token_command_revokes_others_with_or_without_grace(capsys, clock):
    TenantFactory(slug="acme")
    call_command("issue_token", "acme")
    first = capsys.readouterr().out.strip()
    call_command("issue_token", "acme", "--revoke-others", "--grace", "1h")
    second = capsys.readouterr().out.strip()

    assert scim_token_authenticate(plaintext=first) is not None
    call_command("issue_token", "acme", "--revoke-others")
    assert scim_token_authenticate(plaintext=first) is None
    assert scim_token_authenticate(plaintext=second) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "No tenant"),
        (["acme", "--grace", "1h"], "only makes sense"),
        (["acme", "--expires", "tomorrow"], "must be a date"),
        (["acme", "--expires", "2001-01-01"], "future"),
    ],
)
def test_issue_token_command_bad_input(args, message):
    TenantFactory(slug="acme")

    with pytest.raises(CommandError, match=message):
        call_command("issue_token", *args)

    assert not ScimToken.objects.exists()
