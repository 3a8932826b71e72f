"""The directory change feed (see :class:`provisioning.models.ChangeRecord`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from provisioning.models import ChangeRecord, Directory

ObjectType = ChangeRecord.ObjectType
ChangeType = ChangeRecord.ChangeType


def change_record_append(
    *,
    directory: Directory,
    object_type: str,
    object_id: uuid.UUID,
    change_type: str,
    related_object_id: uuid.UUID | None = None,
) -> ChangeRecord:
    """Append one change. Callers run it inside the transaction of the change itself, so the
    feed never shows a change that was rolled back or misses one that was committed."""
    return ChangeRecord.objects.create(
        directory=directory,
        object_type=object_type,
        object_id=object_id,
        related_object_id=related_object_id,
        change_type=change_type,
    )


def change_records_append_many(*, directory: Directory, records: Iterable[tuple]) -> int:
    """Bulk variant for imports: ``records`` are (object_type, object_id, change_type,
    related_object_id) tuples, appended in order."""
    rows = [
        ChangeRecord(
            directory=directory,
            object_type=object_type,
            object_id=object_id,
            change_type=change_type,
            related_object_id=related,
        )
        for object_type, object_id, change_type, related in records
    ]
    ChangeRecord.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
