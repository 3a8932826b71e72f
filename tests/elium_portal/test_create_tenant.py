import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from elium_portal.models import Membership, Tenant
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_tenant_with_admin_creates_both(capsys):
    call_command(
        "create_tenant",
        "acme",
        "--name",
        "Acme Corp",
        "--admin-username",
        "alice",
        "--admin-password",
        "s3cure-passphrase",
    )

    tenant = Tenant.objects.get(slug="acme")
    assert tenant.name == "Acme Corp"
    membership = Membership.objects.get(tenant=tenant)
    assert membership.user.username == "alice"
    assert membership.role == Membership.Role.ADMIN
    assert membership.user.check_password("s3cure-passphrase")
    assert "Created acme" in capsys.readouterr().out


def test_create_tenant_is_idempotent(capsys):
    args = ["acme", "--admin-username", "alice", "--admin-password", "s3cure-passphrase"]
    call_command("create_tenant", *args)
    call_command("create_tenant", *args)

    assert Tenant.objects.filter(slug="acme").count() == 1
    assert get_user_model().objects.filter(username="alice").count() == 1
    assert Membership.objects.count() == 1
    out = capsys.readouterr().out
    assert "already exists" in out
    assert "already an administrator" in out


def test_create_tenant_rerun_with_name_renames():
    call_command("create_tenant", "acme")
    call_command("create_tenant", "acme", "--name", "Acme Renamed")

    assert Tenant.objects.get(slug="acme").name == "Acme Renamed"


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("A", "3–40 characters"),
        ("Acme", "lowercase"),
        ("ac me", "lowercase"),
        ("9acme", "starting with a letter"),
        ("acme-", "not ending with a hyphen"),
        ("ac--me", "two hyphens"),
        ("admin", "reserved"),
        ("x" * 41, "3–40 characters"),
    ],
)
def test_create_tenant_rejects_bad_slug(slug, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_tenant", slug)

    assert not Tenant.objects.exists()


def test_create_tenant_rejects_username_of_another_account():
    UserFactory(username="alice")

    with pytest.raises(CommandError, match="already taken"):
        call_command(
            "create_tenant",
            "acme",
            "--admin-username",
            "ALICE",
            "--admin-password",
            "s3cure-passphrase",
        )

    assert not Membership.objects.exists()


def test_create_tenant_rejects_admin_of_another_tenant():
    MembershipFactory(
        user__username="alice", tenant=TenantFactory(slug="other"), role=Membership.Role.ADMIN
    )

    with pytest.raises(CommandError, match="already taken"):
        call_command(
            "create_tenant",
            "acme",
            "--admin-username",
            "alice",
            "--admin-password",
            "s3cure-passphrase",
        )


def test_create_tenant_rejects_weak_password_and_writes_nothing_for_the_user():
    with pytest.raises(CommandError, match="too short|too common"):
        call_command(
            "create_tenant", "acme", "--admin-username", "alice", "--admin-password", "abc"
        )

    assert not get_user_model().objects.filter(username="alice").exists()


def test_create_tenant_requires_username_and_password_together():
    with pytest.raises(CommandError, match="together"):
        call_command("create_tenant", "acme", "--admin-username", "alice")
