"""Reads of the Azure side. Every selector takes the directory (or application) explicitly and
fails closed: an id from another directory is "not found"."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from provisioning.models import (
    AppRoleAssignment,
    ChangeRecord,
    Directory,
    DirectoryGroup,
    DirectoryUser,
    EnterpriseApplication,
    ObjectMapping,
    ProvisioningAuditEvent,
    ProvisioningJob,
    ProvisioningJobState,
)


def directory_list() -> QuerySet[Directory]:
    return Directory.objects.annotate(
        user_count=Count("users", distinct=True), group_count=Count("groups", distinct=True)
    )


def directory_get(*, tenant_id: uuid.UUID) -> Directory:
    directory = Directory.objects.filter(tenant_id=tenant_id).first()
    if directory is None:
        raise Http404("No such directory")
    return directory


def directory_user_list(*, directory: Directory, search: str = "") -> QuerySet[DirectoryUser]:
    users = DirectoryUser.objects.for_directory(directory).select_related("manager")
    search = search.strip()
    if search:
        condition = (
            Q(display_name__icontains=search)
            | Q(user_principal_name__icontains=search)
            | Q(mail__icontains=search)
            | Q(given_name__istartswith=search)
            | Q(surname__istartswith=search)
        )
        if _is_uuid(search):
            condition |= Q(object_id=uuid.UUID(search))
        users = users.filter(condition)
    return users


def directory_user_get(*, directory: Directory, object_id: uuid.UUID) -> DirectoryUser:
    user = DirectoryUser.objects.for_directory(directory).filter(object_id=object_id).first()
    if user is None:
        raise Http404("No such user")
    return user


def directory_group_list(*, directory: Directory, search: str = "") -> QuerySet[DirectoryGroup]:
    groups = DirectoryGroup.objects.filter(directory=directory).annotate(
        member_count=Count("members")
    )
    search = search.strip()
    if search:
        groups = groups.filter(Q(display_name__icontains=search) | Q(description__icontains=search))
    return groups


def directory_group_get(*, directory: Directory, object_id: uuid.UUID) -> DirectoryGroup:
    group = DirectoryGroup.objects.filter(directory=directory, object_id=object_id).first()
    if group is None:
        raise Http404("No such group")
    return group


def application_list(*, directory: Directory) -> QuerySet[EnterpriseApplication]:
    return EnterpriseApplication.objects.filter(directory=directory).select_related(
        "provisioning_job"
    )


def application_get(*, directory: Directory, object_id: uuid.UUID) -> EnterpriseApplication:
    application = (
        EnterpriseApplication.objects.filter(directory=directory, object_id=object_id)
        .select_related("provisioning_job", "directory")
        .first()
    )
    if application is None:
        raise Http404("No such application")
    return application


def app_assignment_list(*, application: EnterpriseApplication) -> QuerySet[AppRoleAssignment]:
    return application.assignments.select_related("role", "principal_user", "principal_group")


def object_mapping_get(*, application: EnterpriseApplication, object_type: str) -> ObjectMapping:
    mapping = ObjectMapping.objects.filter(
        job__application=application, object_type=object_type
    ).first()
    if mapping is None:
        raise Http404("No such mapping")
    return mapping


def audit_event_list(*, application: EnterpriseApplication) -> QuerySet[ProvisioningAuditEvent]:
    return application.audit_events.all()


def change_records_after(*, directory: Directory, watermark: int) -> QuerySet[ChangeRecord]:
    """Changes of the directory with an id above ``watermark``, oldest first."""
    return ChangeRecord.objects.filter(directory=directory, id__gt=watermark).order_by("id")


def change_watermark(*, directory: Directory) -> int:
    last = (
        ChangeRecord.objects.filter(directory=directory)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return last or 0


def jobs_due(*, now: datetime | None = None) -> QuerySet[ProvisioningJob]:
    """Jobs the scheduler should run now: On, configured, and either never run, past their
    interval, or in quarantine with their next attempt due."""
    now = now or timezone.now()
    quarantine = ProvisioningJobState.Code.QUARANTINE
    return (
        ProvisioningJob.objects.filter(
            status=ProvisioningJob.Status.ON, mode=ProvisioningJob.Mode.AUTOMATIC
        )
        .exclude(tenant_url="")
        .filter(
            Q(state__isnull=True)
            | (
                ~Q(state__code=quarantine)
                & (Q(state__next_cycle_at__isnull=True) | Q(state__next_cycle_at__lte=now))
            )
            | Q(state__code=quarantine, state__quarantine_next_attempt__lte=now)
        )
    )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
