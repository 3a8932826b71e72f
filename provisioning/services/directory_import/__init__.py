"""Import users and groups into an emulated directory from real exports.

Accepted formats:

* Microsoft Graph JSON: ``{"value": [...]}`` (or a bare list) of users and/or groups, as
  ``GET /users`` (optionally ``$expand=manager``) and ``GET /groups?$expand=members`` return them.
* The Entra admin center's "Download users" CSV; header names are matched case-insensitively and
  with or without spaces ("userPrincipalName" and "User principal name" are the same column).

The import is an idempotent upsert keyed on the objectId, and all-or-nothing: every row is
validated before anything is written, every problem is reported with its line and field, and
nothing is written unless there is none. Only objects that really change get a change record.

Reading (:mod:`.graph_json`, :mod:`.entra_csv`, with :mod:`.fields`) never touches the database;
:mod:`.store` checks the rows against the directory and writes them; :mod:`.service` runs the
stages in that order.
"""

from provisioning.services.directory_import.fields import (
    BLOCK_SIGN_IN,
    GROUP_ALIASES,
    OBJECT_ID_ALIASES,
    USER_ALIASES,
)
from provisioning.services.directory_import.records import (
    DirectoryImportError,
    ImportProblem,
    ImportResult,
    Progress,
)
from provisioning.services.directory_import.service import directory_import

__all__ = [
    "BLOCK_SIGN_IN",
    "GROUP_ALIASES",
    "OBJECT_ID_ALIASES",
    "USER_ALIASES",
    "DirectoryImportError",
    "ImportProblem",
    "ImportResult",
    "Progress",
    "directory_import",
]
