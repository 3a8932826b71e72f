"""The audit trail of a provisioning configuration (the portal's Audit logs blade).

One writer, below both the services (Save, Start, Stop, mappings…) and the engine (a cycle
putting the job in quarantine), so that neither has to import the other to leave a trace.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from provisioning.models import EnterpriseApplication, ProvisioningAuditEvent

Activity = ProvisioningAuditEvent.Activity


def provisioning_audit_record(
    *,
    application: EnterpriseApplication,
    activity: str,
    actor: AbstractBaseUser | None = None,
    details: dict[str, Any] | None = None,
) -> ProvisioningAuditEvent:
    """Record one activity; run inside the transaction of the change it describes. ``details``
    must never hold a secret. No actor (or an anonymous one) is the system."""
    authenticated = getattr(actor, "is_authenticated", False)
    return ProvisioningAuditEvent.objects.create(
        application=application,
        activity=activity,
        actor=actor if authenticated else None,
        actor_label=actor.get_username() if authenticated else "system",
        details=details or {},
    )
