"""Provisioning log downloads: the portal's CSV (a zip of three files: entries, steps and
modified properties, joined by change ID) and JSON (Graph's ``provisioningObjectSummary`` shape).
They stream the entries a selector (:func:`provisioning.selectors.log_entry_list`) returns.

Directory values end up in the CSV cells, and a spreadsheet runs a cell that starts with
``= + - @`` (or a tab or carriage return) as a formula: such cells are prefixed with ``'``."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from django.db.models import QuerySet

from elium_portal.csvsafe import csv_safe
from provisioning.models import ProvisioningLogEntry


def log_entry_as_graph(entry: ProvisioningLogEntry) -> dict[str, Any]:
    """An entry shaped like Graph's ``provisioningObjectSummary``."""
    return {
        "id": str(entry.change_id),
        "activityDateTime": entry.activity_at.isoformat(),
        "changeId": str(entry.change_id),
        "cycleId": str(entry.cycle_id) if entry.cycle_id else None,
        "jobId": entry.job.job_id,
        "durationInMilliseconds": entry.duration_ms,
        "initiatedBy": {"displayName": entry.initiated_by, "initiatorType": "system"},
        "provisioningAction": entry.action[0].lower() + entry.action[1:],
        "provisioningStatusInfo": {
            "status": entry.status.lower(),
            "errorInformation": (
                {
                    "errorCode": entry.error_code,
                    "reason": entry.error_reason,
                    "recommendedAction": entry.error_recommendation,
                }
                if entry.error_code
                else None
            ),
        },
        "provisioningSteps": [
            {
                "name": s.get("name"),
                "provisioningStepType": (s.get("type") or "").lower(),
                "status": (s.get("status") or "").lower(),
                "description": s.get("description"),
                "details": s.get("details") or {},
            }
            for s in entry.steps
        ],
        "modifiedProperties": entry.modified_properties,
        "sourceIdentity": {
            "id": entry.source_id,
            "displayName": entry.source_display,
            "identityType": entry.object_type.capitalize(),
        },
        "targetIdentity": {
            "id": entry.target_id,
            "displayName": entry.target_display,
            "identityType": entry.object_type.capitalize(),
        },
        "sourceSystem": {"displayName": entry.source_system},
        "targetSystem": {"displayName": entry.target_system},
    }


def log_entries_json(entries: QuerySet[ProvisioningLogEntry]) -> str:
    rows = [log_entry_as_graph(e) for e in entries.select_related("job").iterator(chunk_size=500)]
    return json.dumps(rows, indent=1, default=str)


CSV_FILES = (
    "ProvisioningLogs.csv",
    "ProvisioningLogs_ProvisioningSteps.csv",
    "ProvisioningLogs_ModifiedProperties.csv",
)


class _SafeWriter:
    def __init__(self, stream: io.StringIO) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([csv_safe(v) for v in row])


def log_entries_csv_zip(entries: QuerySet[ProvisioningLogEntry]) -> bytes:
    """The portal's CSV download: a zip of three CSV files (entries, steps, modified
    properties) joined by change ID, each a valid CSV with one header row."""
    main, steps, props = io.StringIO(), io.StringIO(), io.StringIO()
    main_writer = _SafeWriter(main)
    steps_writer = _SafeWriter(steps)
    props_writer = _SafeWriter(props)
    main_writer.writerow(
        [
            "Date (UTC)",
            "Change ID",
            "Cycle ID",
            "Job ID",
            "Action",
            "Status",
            "Source ID",
            "Identity",
            "Target ID",
            "Source System",
            "Target System",
            "Error Code",
            "Reason",
            "Duration (ms)",
        ]
    )
    steps_writer.writerow(["Change ID", "Step", "Type", "Status", "Description"])
    props_writer.writerow(["Change ID", "Property", "Old Value", "New Value"])
    for entry in entries.select_related("job").iterator(chunk_size=500):
        change = str(entry.change_id)
        main_writer.writerow(
            [
                entry.activity_at.isoformat(),
                change,
                entry.cycle_id or "",
                entry.job.job_id,
                entry.action,
                entry.status,
                entry.source_id,
                entry.source_display,
                entry.target_id,
                entry.source_system,
                entry.target_system,
                entry.error_code,
                entry.error_reason,
                entry.duration_ms,
            ]
        )
        for item in entry.steps:
            steps_writer.writerow(
                [
                    change,
                    item.get("name"),
                    item.get("type"),
                    item.get("status"),
                    item.get("description"),
                ]
            )
        for prop in entry.modified_properties:
            props_writer.writerow(
                [
                    change,
                    prop.get("displayName"),
                    _text(prop.get("oldValue")),
                    _text(prop.get("newValue")),
                ]
            )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, stream in zip(CSV_FILES, (main, steps, props), strict=True):
            zipped.writestr(name, stream.getvalue())
    return archive.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
