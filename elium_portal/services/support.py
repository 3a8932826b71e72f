"""What support staff do from the Django admin (issue 13), each step audited under the support
user's name: revoke a tenant's tokens, clear sign-in lockouts of its members; and the support
accounts themselves (``manage.py create_support_user``)."""

from __future__ import annotations

import secrets

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from elium_portal.models import AuditEvent, Membership, ScimToken, Tenant
from elium_portal.services.audit import actor_label, audit_event_record
from elium_portal.services.tokens import scim_token_revoke

SUPPORT_GROUP = "Support"
SUPPORT_ADMIN_GROUP = "Support admin"
#: ``--role`` of ``create_support_user`` → the group created by the data migrations.
ROLES = {"support": SUPPORT_GROUP, "support-admin": SUPPORT_ADMIN_GROUP}
#: What ``Support`` may see ("app_label.codename"; the apps are named, never imported). No
#: permission here shows a secret: the admins never render digests, hashes or ciphertext.
SUPPORT_PERMISSIONS = (
    "elium_portal.view_tenant",
    "elium_portal.view_membership",
    "elium_portal.view_scimtoken",
    "elium_portal.view_auditevent",
    "scim_api.view_scimuser",
    "scim_api.view_scimgroup",
    "scim_api.view_scimgroupmember",
    "scim_api.view_scimrequestlog",
    "scim_api.view_scimchange",
    "provisioning.view_directory",
    "provisioning.view_directoryuser",
    "provisioning.view_directorygroup",
    "provisioning.view_enterpriseapplication",
    "provisioning.view_approleassignment",
    "provisioning.view_provisioningjob",
    "provisioning.view_provisioningcycle",
    "provisioning.view_provisioninglogentry",
    "provisioning.view_provisioningauditevent",
    "provisioning.view_changerecord",
    "provisioning.view_attributemapping",
    "provisioning.view_objectmapping",
    "provisioning.view_scimvalidationrun",
)
#: What ``Support admin`` may do on top.
SUPPORT_ADMIN_PERMISSIONS = (
    "elium_portal.operate_tenant",
    "provisioning.operate_provisioningjob",
)


def support_label(user) -> str:
    """How a support user appears in a tenant's security log."""
    return f"support:{actor_label(user)}"


@transaction.atomic
def tenant_tokens_revoke_all(*, tenant: Tenant, actor, ip: str | None = None) -> int:
    """Revoke every token of ``tenant`` not yet revoked (one audit event each); returns how
    many."""
    tokens = list(ScimToken.objects.for_tenant(tenant).filter(revoked_at__isnull=True))
    for token in tokens:
        scim_token_revoke(
            tenant=tenant, token=token, actor=actor, label=support_label(actor), ip=ip
        )
    return len(tokens)


@transaction.atomic
def tenant_login_lockouts_reset(*, tenant: Tenant, actor, ip: str | None = None) -> list[str]:
    """Clear django-axes' failed attempts (hence any lockout) of the tenant's members; one
    audit event per username cleared. Returns the usernames."""
    members = Membership.objects.filter(tenant=tenant).values("user__username")
    usernames = sorted(
        set(AccessAttempt.objects.filter(username__in=members).values_list("username", flat=True))
    )
    for username in usernames:
        axes_reset(username=username)
        audit_event_record(
            tenant=tenant,
            action=AuditEvent.Action.LOGIN_UNLOCKED,
            actor=actor,
            label=support_label(actor),
            ip=ip,
            details={"username": username},
        )
    return usernames


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    wanted = Q()
    for name in names:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(wanted))


@transaction.atomic
def support_groups_ensure() -> None:
    """The two groups with their permissions, as the ``*_support_groups`` data migrations left
    them; re-creates them after a database flush (tests that truncate every table)."""
    support, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    support_admin, _ = Group.objects.get_or_create(name=SUPPORT_ADMIN_GROUP)
    viewing = _permissions(SUPPORT_PERMISSIONS)
    support.permissions.add(*viewing)
    support_admin.permissions.add(*viewing, *_permissions(SUPPORT_ADMIN_PERMISSIONS))


@transaction.atomic
def support_user_ensure(*, username: str, role: str, password: str = "") -> tuple[object, str]:
    """Create (or update) a staff account in exactly one support group. Idempotent: running it
    again changes only the role, and the password when one is given. Returns the user and the
    password set ("" when an existing user's password was kept); a new user without a given
    password gets a generated one."""
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    support_groups_ensure()
    group = Group.objects.get(name=ROLES[role])
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if user.is_superuser:
        raise ValidationError(f"{username!r} is a superuser (an operator); not changed.")
    if created and not password:
        password = secrets.token_urlsafe(18)
    if password:
        user.set_password(password)
    user.is_staff = True
    user.is_active = True
    user.save()
    user.groups.remove(*Group.objects.filter(name__in=ROLES.values()))
    user.groups.add(group)
    return user, password
