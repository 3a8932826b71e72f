"""CSV downloads that a spreadsheet opens safely, shared by every app's exports.

A spreadsheet runs a cell that starts with ``= + - @`` (or a tab or carriage return) as a
formula, and directory values end up in cells: such cells are prefixed with ``'`` (OWASP's CSV
injection advice)."""

from __future__ import annotations

import csv
from typing import Any

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell value a spreadsheet shows as text, never runs."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like object whose ``write`` hands back what it was given."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows):
    """Each row (a list of cells) as one CSV line, every cell made safe: stream them."""
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow([csv_safe(v) for v in row])
