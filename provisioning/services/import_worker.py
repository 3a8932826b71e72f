"""The worker's half of a background directory import: run a queued
:class:`~provisioning.models.DirectoryImportJob`, writing its progress where the console sees it.

Apart from :mod:`provisioning.services.import_jobs` (which queues the task) so that
``provisioning.tasks`` can call it without an import circle.
"""

from __future__ import annotations

import logging
import time

from django.db import connection
from django.utils import timezone

from provisioning.models import DirectoryImportJob
from provisioning.services.directory_import import DirectoryImportError, directory_import

logger = logging.getLogger(__name__)


class _ProgressWriter:
    """Writes progress on a connection of its own, in autocommit: the import itself runs in one
    transaction whose writes nobody sees before it ends, but its progress must be visible."""

    def __init__(self, job: DirectoryImportJob, *, every_seconds: float = 0.5):
        self.job_pk = job.pk
        self.every = every_seconds
        self.total = 0
        self.done = 0
        self.last_write = 0.0
        self.conn = connection.get_new_connection(connection.get_connection_params())
        self.conn.autocommit = True

    def set_total(self, total: int) -> None:
        self.total = total
        self._write(force=True)

    def advance(self, n: int) -> None:
        self.done += n
        self._write()

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < self.every:
            return
        self.last_write = now
        self.conn.execute(
            "UPDATE provisioning_directoryimportjob SET total = %s, processed = %s, "
            "status = %s WHERE id = %s",
            [
                self.total,
                min(self.done, self.total),
                DirectoryImportJob.Status.RUNNING,
                self.job_pk,
            ],
        )

    def close(self) -> None:
        self.conn.close()


def directory_import_job_run(*, job_pk: int) -> DirectoryImportJob | None:
    """Run a queued import (the worker's task). Idempotent: a finished job is left alone."""
    job = DirectoryImportJob.objects.filter(pk=job_pk).select_related("directory").first()
    if job is None or job.finished:
        return job
    writer = _ProgressWriter(job)
    try:
        result = directory_import(
            directory=job.directory,
            content=job.content,
            filename=job.filename,
            on_total=writer.set_total,
            progress=writer.advance,
        )
    except DirectoryImportError as error:
        job.status = DirectoryImportJob.Status.FAILED
        job.problems = [
            {"line": p.line, "field": p.field, "message": p.message} for p in error.problems
        ]
    except Exception:
        logger.exception("Directory import %s failed", job.public_id)
        job.status = DirectoryImportJob.Status.FAILED
        job.problems = [
            {
                "line": 0,
                "field": "",
                "message": "The import failed unexpectedly; nothing was "
                "written. The error was logged for the operators.",
            }
        ]
    else:
        job.status = DirectoryImportJob.Status.SUCCEEDED
        job.summary = result.summary()
    finally:
        writer.close()
    job.refresh_from_db(fields=["total"])
    job.processed = job.total
    job.content = ""  # the directory now holds what matters; don't keep a copy of the file
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "problems", "summary", "processed", "content", "finished_at"])
    return job
