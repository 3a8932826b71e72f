"""Support roles: the groups, ``create_support_user``, 403 on every action for ``Support``,
``Support admin`` acts and the audit names them; no secret on any page."""

import os
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from elium_portal.models import AuditEvent, ScimToken
from elium_portal.services.support import SUPPORT_ADMIN_PERMISSIONS, SUPPORT_PERMISSIONS
from provisioning.models import ProvisioningAuditEvent, ProvisioningJob, ProvisioningJobState
from tests.factories import (
    MembershipFactory,
    ProvisioningJobFactory,
    ProvisioningJobStateFactory,
    ScimTokenFactory,
    ScimUserFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


def _job(**fields):
    job = ProvisioningJobFactory(
        mode=ProvisioningJob.Mode.AUTOMATIC,
        tenant_url="https://elium.example/t/acme/scim/v2",
        secret_token="s3cret-outbound-token",
        **fields,
    )
    ProvisioningJobStateFactory(
        job=job,
        code=ProvisioningJobState.Code.QUARANTINE,
        quarantine_reason=ProvisioningJobState.QuarantineReason.TOO_MANY_DELETES,
        quarantine_began=timezone.now(),
    )
    return job


def _actions():
    """Every admin action as (url, post data) — built per test, after the rows exist."""
    tenant = TenantFactory()
    token = ScimTokenFactory(tenant=tenant)
    job = _job()
    act = [
        reverse("admin:elium_portal_tenant_act", args=[tenant.pk, name])
        for name in ("disable-scim", "revoke-tokens", "unlock")
    ] + [
        reverse("admin:provisioning_provisioningjob_act", args=[job.pk, name])
        for name in ("start", "stop", "restart", "allow-deletes")
    ]
    return [(url, {}) for url in act] + [
        (
            reverse("admin:elium_portal_scimtoken_changelist"),
            {"action": "revoke", "_selected_action": [token.pk]},
        )
    ]


def test_create_support_user_is_idempotent_and_prints_a_generated_password(monkeypatch):
    monkeypatch.delenv("SUPPORT_USER_PASSWORD", raising=False)
    out = StringIO()

    call_command("create_support_user", "sam", "--role", "support", stdout=out)
    call_command("create_support_user", "sam", "--role", "support-admin", stdout=StringIO())

    user = get_user_model().objects.get(username="sam")
    password = out.getvalue().split("shown once): ")[1].strip()
    assert user.check_password(password)
    assert user.is_staff
    assert not user.is_superuser
    assert [g.name for g in user.groups.all()] == ["Support admin"]


def test_create_support_user_takes_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("SUPPORT_USER_PASSWORD", "from-the-env-42")
    out = StringIO()

    call_command("create_support_user", "sam", "--role", "support", stdout=out)

    assert get_user_model().objects.get(username="sam").check_password("from-the-env-42")
    assert "from-the-env-42" not in out.getvalue()
    assert os.environ["SUPPORT_USER_PASSWORD"]


def test_create_support_user_refuses_a_superuser():
    get_user_model().objects.create_superuser("root", "r@example.com", "pw")

    with pytest.raises(CommandError, match="superuser"):
        call_command("create_support_user", "root", "--role", "support")


def test_support_gets_403_on_every_admin_action(support_client):
    for url, data in _actions():
        assert support_client.post(url, data).status_code == 403, url
    assert not ScimToken.objects.filter(revoked_at__isnull=False).exists()
    assert not ProvisioningAuditEvent.objects.exists()


def test_support_sees_no_action_buttons_and_cannot_edit(support_client):
    job = _job()
    tenant = TenantFactory()

    job_page = support_client.get(
        reverse("admin:provisioning_provisioningjob_change", args=[job.pk])
    )
    tenant_page = support_client.get(reverse("admin:elium_portal_tenant_change", args=[tenant.pk]))

    for page in (job_page, tenant_page):
        assert page.status_code == 200
        assert b"/act/" not in page.content
        assert b'name="_save"' not in page.content


def test_support_never_sees_a_secret(support_client):
    token = ScimTokenFactory()
    job = _job()
    user = ScimUserFactory(password="pbkdf2_sha256$hash-of-a-password")
    pages = [
        reverse("admin:elium_portal_scimtoken_change", args=[token.pk]),
        reverse("admin:elium_portal_scimtoken_changelist"),
        reverse("admin:elium_portal_tenant_change", args=[token.tenant.pk]),
        reverse("admin:provisioning_provisioningjob_change", args=[job.pk]),
        reverse("admin:scim_api_scimuser_change", args=[user.pk]),
    ]

    for url in pages:
        html = support_client.get(url).content.decode()
        assert token.digest not in html
        assert token.plaintext not in html
        assert job.secret_token_encrypted not in html
        assert "s3cret-outbound-token" not in html
        assert "hash-of-a-password" not in html


def test_support_admin_runs_the_job_actions_and_the_audit_names_them(
    support_admin_client, support_admin_user, django_capture_on_commit_callbacks
):
    job = _job()
    for name in ("allow-deletes", "stop", "start", "restart"):
        url = reverse("admin:provisioning_provisioningjob_act", args=[job.pk, name])
        with django_capture_on_commit_callbacks():
            response = support_admin_client.post(url)
        assert response.status_code == 302, name

    events = ProvisioningAuditEvent.objects.filter(application=job.application)
    assert events.count() == 4
    assert {e.actor_label for e in events} == {"ada.admin"}
    assert {e.actor_id for e in events} == {support_admin_user.pk}


def test_support_admin_disables_scim_revokes_tokens_and_unlocks_a_sign_in(
    support_admin_client,
):
    tenant = TenantFactory()
    token = ScimTokenFactory(tenant=tenant)
    member = MembershipFactory(tenant=tenant).user
    AccessAttempt.objects.create(
        username=member.username,
        ip_address="203.0.113.9",
        user_agent="x",
        failures_since_start=9,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )

    for name in ("disable-scim", "revoke-tokens", "unlock"):
        url = reverse("admin:elium_portal_tenant_act", args=[tenant.pk, name])
        assert support_admin_client.post(url).status_code == 302

    tenant.refresh_from_db()
    token.refresh_from_db()
    assert not tenant.scim_enabled
    assert token.revoked_at is not None
    assert not AccessAttempt.objects.filter(username=member.username).exists()
    events = AuditEvent.objects.filter(tenant=tenant).exclude(
        action=AuditEvent.Action.TOKEN_GENERATED
    )
    assert {e.action for e in events} == {"scim.disabled", "token.revoked", "login.unlocked"}
    assert all("ada.admin" in e.actor_label for e in events)


def test_an_action_is_post_only(support_admin_client):
    job = _job()
    url = reverse("admin:provisioning_provisioningjob_act", args=[job.pk, "start"])

    assert support_admin_client.get(url).status_code == 405


def test_the_groups_hold_exactly_the_listed_permissions():
    groups = {
        g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()}
        for g in Group.objects.filter(name__in=["Support", "Support admin"])
    }

    assert groups["Support"] == set(SUPPORT_PERMISSIONS)
    assert groups["Support admin"] == set(SUPPORT_PERMISSIONS) | set(SUPPORT_ADMIN_PERMISSIONS)
    assert not any(p.startswith(("auth.", "axes.")) for p in groups["Support admin"])


def test_support_admin_revokes_selected_tokens_from_the_token_list(support_admin_client):
    token = ScimTokenFactory()

    response = support_admin_client.post(
        reverse("admin:elium_portal_scimtoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(tenant=token.tenant, action="token.revoked")
    assert event.actor_label == "support:ada.admin"
