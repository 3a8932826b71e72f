"""The service: read the file, check every row, then write it all in one transaction."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from provisioning.models import Directory
from provisioning.services.directory_import.entra_csv import read_csv
from provisioning.services.directory_import.graph_json import read_json
from provisioning.services.directory_import.records import (
    DirectoryImportError,
    ImportProblem,
    ImportResult,
    Parsed,
    Progress,
)
from provisioning.services.directory_import.store import cross_check, write


def directory_import(
    *,
    directory: Directory,
    content: bytes | str,
    filename: str = "",
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate the whole file, then write it in one transaction. ``on_total`` receives the
    number of progress steps and ``progress`` each step done (for a progress bar). Raises
    :class:`DirectoryImportError` listing every problem; nothing is written in that case."""
    advance = progress or (lambda n: None)
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DirectoryImportError(
                [ImportProblem(0, "", "The file must be UTF-8 encoded.")]
            ) from None
    else:
        text = content.lstrip("\ufeff")
    parsed = Parsed()
    stripped = text.lstrip()
    is_json = filename.lower().endswith(".json") or stripped[:1] in ("{", "[")
    if filename.lower().endswith(".csv"):
        is_json = False
    if not stripped:
        raise DirectoryImportError([ImportProblem(0, "", "The file is empty.")])
    (read_json if is_json else read_csv)(text, parsed)
    total = len(parsed.users) * 2 + len(parsed.groups)
    if on_total:
        on_total(total)
    advance(len(parsed.users))
    cross_check(directory, parsed)
    if parsed.problems:
        raise DirectoryImportError(sorted(parsed.problems, key=lambda p: (p.line, p.field)))
    result = ImportResult()
    try:
        with transaction.atomic():
            write(directory, parsed, result, advance)
    except IntegrityError:
        raise DirectoryImportError(
            [
                ImportProblem(
                    0, "", "The directory changed while importing; nothing was written. Retry."
                )
            ]
        ) from None
    return result
