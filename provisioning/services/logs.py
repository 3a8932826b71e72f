"""Retention of provisioning logs."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from provisioning.models import ProvisioningLogEntry


def provisioning_logs_prune(*, now: datetime | None = None) -> int:
    """Drop entries older than ``PROVISIONING_LOG_RETENTION_DAYS`` (30, as Entra P1/P2)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PROVISIONING_LOG_RETENTION_DAYS)
    deleted, _ = ProvisioningLogEntry.objects.filter(activity_at__lt=cutoff).delete()
    return deleted
