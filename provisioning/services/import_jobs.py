"""Large directory imports in the background, with progress the console can show: this module
queues them; :mod:`provisioning.services.import_worker` runs them on a worker."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from provisioning.models import Directory, DirectoryImportJob
from provisioning.tasks import run_directory_import


def directory_import_job_create(
    *, directory: Directory, filename: str, content: str, actor: AbstractBaseUser | None = None
) -> DirectoryImportJob:
    """Store the file and queue the import once the row is committed."""
    job = DirectoryImportJob.objects.create(
        directory=directory,
        filename=filename[:255],
        content=content,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: run_directory_import.defer(job_pk=job.pk))
    return job
