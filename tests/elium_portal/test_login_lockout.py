"""Sign-in throttling: repeated failures lock a username, and separately a client address, out of
the console and the admin login alike, with a clear message and an audit event; the lock ends after
the cool-off or when support resets it."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from axes.utils import reset

from elium_portal.models import AuditEvent, Membership
from tests.factories import MembershipFactory
from tests.factories.elium import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URLS = ["/accounts/login/", "/admin/login/"]


def sign_in(client, url, username, password, ip="203.0.113.5"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def alice():
    return MembershipFactory(user__username="alice", role=Membership.Role.ADMIN)


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_the_right_password_after_many_wrong_ones_is_refused(client, settings, alice, url):
    alice.user.is_staff = True  # the admin login admits staff only
    alice.user.save()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, url, "alice", "wrong").status_code == 200
    assert sign_in(client, url, "alice", "wrong").status_code == 429  # the limit-th failure locks

    response = sign_in(client, url, "alice", PASSWORD)

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_an_audit_event_of_the_users_tenants_once(client, settings, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT + 10):
        sign_in(client, "/accounts/login/", "alice", "wrong", ip="198.51.100.7")

    events = AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_LOCKED_OUT)
    assert events.count() == 1
    event = events.get()
    assert event.tenant == alice.tenant
    assert event.actor_label == "alice"
    assert event.ip == "198.51.100.7"


def test_one_address_guessing_many_usernames_is_locked_out(client, settings, alice):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "/accounts/login/", f"nobody{n}", "wrong", ip="192.0.2.66")

    assert (
        sign_in(client, "/accounts/login/", "alice", PASSWORD, ip="192.0.2.66").status_code == 429
    )
    # The same user from another address is not locked by that address's failures.
    assert (
        sign_in(client, "/accounts/login/", "alice", PASSWORD, ip="192.0.2.99").status_code == 302
    )


def test_the_lock_ends_after_the_cool_off(client, settings, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "/accounts/login/", "alice", "wrong")
    assert sign_in(client, "/accounts/login/", "alice", PASSWORD).status_code == 429

    past = AccessAttempt.objects.first().attempt_time - settings.AXES_COOLOFF_TIME
    AccessAttempt.objects.update(attempt_time=past - timedelta(seconds=1))

    assert sign_in(client, "/accounts/login/", "alice", PASSWORD).status_code == 302


def test_support_can_unlock_at_once(client, settings, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "/accounts/login/", "alice", "wrong")

    reset(username="alice")
    reset(ip="203.0.113.5")

    assert sign_in(client, "/accounts/login/", "alice", PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, settings, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "/accounts/login/", "alice", "wrong")
    assert sign_in(client, "/accounts/login/", "alice", PASSWORD).status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "/accounts/login/", "alice", "wrong")
    assert sign_in(client, "/accounts/login/", "alice", PASSWORD).status_code == 302
