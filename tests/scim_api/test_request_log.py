"""The inbound request log: levels, redaction, pruning."""

import datetime as dt

import pytest

from scim_api.models import ScimRequestLog
from scim_api.request_log import redact_body, scim_request_log_prune
from tests.factories import ScimRequestLogFactory, azure_user

pytestmark = pytest.mark.django_db


def test_default_level_keeps_errors_only(scim):
    scim.get("/Users")
    scim.get("/Users/00000000-0000-0000-0000-000000000000")

    entries = list(ScimRequestLog.objects.all())
    assert len(entries) == 1
    entry = entries[0]
    assert entry.status == 404
    assert entry.method == "GET"
    assert entry.tenant.slug == "acme"
    assert entry.token_prefix.startswith("elium_scim_")
    assert entry.duration_ms >= 0


def test_level_all_records_bodies_with_secrets_redacted(scim, tenant):
    tenant.scim_request_log_level = "all"
    tenant.save()

    response = scim.post("/Users", azure_user(password="Hunter2-secret"))

    entry = ScimRequestLog.objects.get()
    assert entry.status == 201
    assert "alice@contoso.com" in entry.request_body
    assert "Hunter2-secret" not in entry.request_body
    assert "[redacted]" in entry.request_body
    assert str(entry.request_id) == response["X-Request-Id"]
    assert scim.token not in entry.request_body + entry.response_body + entry.query


def test_level_off_records_nothing(scim, tenant):
    tenant.scim_request_log_level = "off"
    tenant.save()

    scim.get("/Users/nope")

    assert not ScimRequestLog.objects.exists()


def test_failed_authentication_is_logged_for_the_tenant_without_the_token(client, tenant):
    client.get("/t/acme/scim/v2/Users", HTTP_AUTHORIZATION="Bearer elium_scim_wrong")

    entry = ScimRequestLog.objects.get()
    assert entry.status == 401
    assert entry.tenant == tenant
    assert entry.token_prefix == ""


def test_redaction_of_patch_password_and_token_like_strings():
    body = redact_body(
        b'{"Operations": [{"op": "replace", "path": "password", "value": "p4ss"}],'
        b' "note": "elium_scim_abcdefghijkl_SECRETSECRET"}'
    )

    assert "p4ss" not in body
    assert "SECRETSECRET" not in body


def test_prune_removes_old_entries(scim, clock):
    scim.get("/Users/nope")
    clock.advance(days=15)
    scim.get("/Users/nope-again")

    assert scim_request_log_prune(days=14) == 1
    assert ScimRequestLog.objects.get().path.endswith("nope-again")


def test_huge_bodies_are_truncated():
    assert len(redact_body("x" * 100_000)) < 9_000


def test_prune_uses_days_from_settings(settings, clock):
    settings.SCIM_REQUEST_LOG_DAYS = 1
    ScimRequestLogFactory(created_at=clock.current - dt.timedelta(days=2))

    assert scim_request_log_prune() == 1


def test_password_is_never_logged_even_under_a_capitalised_path_or_in_broken_json(scim, tenant):
    tenant.scim_request_log_level = "all"
    tenant.save()
    user = scim.post("/Users", azure_user()).json()

    scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "Path": "password", "value": "Hunter2-first"},
                {"op": "replace", "path": "id", "value": "x"},
            ],
        },
    )
    scim.post("/Users", raw='{"userName": "a", "password": "Hunter2-second",}')

    logged = " ".join(ScimRequestLog.objects.values_list("request_body", flat=True))
    assert "Hunter2" not in logged


def test_unauthenticated_requests_are_logged_without_body_and_unknown_tenants_not_at_all(
    client, tenant
):
    client.post(
        "/t/acme/scim/v2/Users",
        data='{"userName": "x"}',
        content_type="application/scim+json",
        HTTP_AUTHORIZATION="Bearer nope",
    )
    client.get("/t/no-such-tenant/scim/v2/Users", HTTP_AUTHORIZATION="Bearer nope")

    entry = ScimRequestLog.objects.get()
    assert entry.tenant == tenant
    assert entry.request_body == ""


def test_requests_with_nul_characters_are_still_logged(scim):
    # PostgreSQL text cannot hold NUL: the entry shows U+FFFD instead of being lost.
    scim.get("/Users/a%00b")
    scim.post("/Users", raw=b'{"userName": "\x00')

    entries = {e.method: e for e in ScimRequestLog.objects.all()}
    assert entries["GET"].path.endswith("/Users/a\ufffdb")
    assert entries["POST"].status == 400
    assert "\ufffd" in entries["POST"].request_body
