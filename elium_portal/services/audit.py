"""Recording security audit events."""

from __future__ import annotations

from elium_portal import clock
from elium_portal.models import AuditEvent, Tenant


def actor_label(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    return user.get_username()


def audit_event_record(
    *,
    tenant: Tenant,
    action: str,
    actor=None,
    label: str | None = None,
    ip: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the tenant's security log. Callers run it inside the transaction of
    the change it describes, so a change is never recorded without its event or vice versa."""
    return AuditEvent.objects.create(
        tenant=tenant,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=label or actor_label(actor),
        ip=ip,
        details=details or {},
        created_at=clock.now(),
    )
