"""Sign-in security: what happens when django-axes locks a sign-in out."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model

from elium_portal import clock
from elium_portal.models import AuditEvent, Membership
from elium_portal.services.audit import audit_event_record

logger = logging.getLogger(__name__)


def login_lockout_record(*, username: str, ip: str | None) -> int:
    """Record a sign-in lockout in the security log of every tenant the username belongs to
    (once per cool-off period, however many more attempts the lockout refuses), so its admins
    see someone hammering the account. Returns how many events were written. The username is
    logged as typed only when it names a real user, so a password typed into the wrong box
    never lands in a log."""
    user = get_user_model().objects.filter(username=username).first() if username else None
    logger.warning(
        "Sign-in locked out: username=%s ip=%s", user.get_username() if user else "(unknown)", ip
    )
    if user is None:
        return 0
    since = clock.now() - settings.AXES_COOLOFF_TIME
    written = 0
    for membership in Membership.objects.filter(user=user).select_related("tenant"):
        already = AuditEvent.objects.filter(
            tenant=membership.tenant,
            action=AuditEvent.Action.LOGIN_LOCKED_OUT,
            actor_label=user.get_username(),
            created_at__gte=since,
        ).exists()
        if not already:
            audit_event_record(
                tenant=membership.tenant,
                action=AuditEvent.Action.LOGIN_LOCKED_OUT,
                label=user.get_username(),
                ip=ip,
                details={"failure_limit": settings.AXES_FAILURE_LIMIT},
            )
            written += 1
    return written
