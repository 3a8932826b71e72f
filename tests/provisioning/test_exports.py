"""The provisioning-log downloads: the CSV zip holds three valid CSV files, and no cell a
directory value reaches can run as a spreadsheet formula."""

import csv
import io
import zipfile

import pytest

from provisioning.exports import CSV_FILES, csv_safe, log_entries_csv_zip
from provisioning.models import ProvisioningLogEntry
from tests.factories import ProvisioningLogEntryFactory

pytestmark = pytest.mark.django_db


def read_zip(data: bytes) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: list(csv.reader(io.StringIO(archive.read(name).decode()))) for name in CSV_FILES
        }


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Ada Lovelace", "Ada Lovelace"),
        (42, 42),
    ],
)
def test_csv_safe(value, shown):
    assert csv_safe(value) == shown


def test_formula_values_from_the_directory_are_escaped_in_every_file():
    entry = ProvisioningLogEntryFactory(
        source_display="=cmd|' /C calc'!A0",
        steps=[{"name": "Import", "type": "Import", "status": "Success", "description": "@x"}],
        modified_properties=[{"displayName": "jobTitle", "oldValue": "-1", "newValue": "+2"}],
    )

    tables = read_zip(log_entries_csv_zip(ProvisioningLogEntry.objects.filter(pk=entry.pk)))

    cells = [cell for rows in tables.values() for row in rows[1:] for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells
    assert "'@x" in cells
    assert "'-1" in cells
    assert "'+2" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
