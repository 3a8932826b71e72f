"""Audit events for provisioning configuration changes."""

from __future__ import annotations

from typing import Any

from provisioning.models import EnterpriseApplication, ProvisioningAuditEvent

Activity = ProvisioningAuditEvent.Activity


def provisioning_audit_record(
    *,
    application: EnterpriseApplication,
    activity: str,
    actor=None,
    details: dict[str, Any] | None = None,
) -> ProvisioningAuditEvent:
    """Record one activity; run inside the transaction of the change it describes. ``details``
    must never hold a secret."""
    authenticated = getattr(actor, "is_authenticated", False)
    return ProvisioningAuditEvent.objects.create(
        application=application,
        activity=activity,
        actor=actor if authenticated else None,
        actor_label=actor.get_username() if authenticated else "system",
        details=details or {},
    )
