"""The change feed's vocabulary, as pure code: who made a SCIM write (:class:`Origin`), what
changed between two versions of a resource (:func:`document_changes`), and the sentence a row
of the feed reads as (:func:`change_sentence`) — "Azure AD changed Alice Smith's job title from
Analyst to Manager".

The services (:mod:`scim_api.services.feed`) write the rows; the console, its CSV and the admin
render them with :func:`change_sentence`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from scim_api.models import ScimChange
from scim_api.schema import ENTERPRISE_USER

#: Who the feed says made the changes. Tokens carry no name of their own, and the SCIM API is
#: there for Azure AD's provisioning service.
ACTOR = "Azure AD"
#: Shown for a value that was or became empty.
NOTHING = "(none)"
#: The longest value a sentence shows; the row keeps the whole value.
MAX_SHOWN = 80
#: How many attribute changes a sentence names before "and N more".
MAX_CLAUSES = 6


@dataclass(frozen=True)
class Origin:
    """Where a SCIM write came from, handed from the request to the services explicitly: the
    display prefix of the token that authenticated it (never the secret) and the request id the
    feed row shares with the request log."""

    token_prefix: str
    request_id: uuid.UUID


def parse_request_id(text: str | None) -> uuid.UUID | None:
    """A client's ``client-request-id`` header, when it is a UUID (Azure AD's always is)."""
    if not text:
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def user_label(*, display_name: str, data: dict, user_name: str) -> str:
    """The name a person goes by in the feed: displayName, else the formatted name, else given
    and family names, else userName. :data:`USER_LABEL_SQL` is the same rule in SQL."""
    if display_name:
        return display_name
    name = data.get("name") if isinstance(data.get("name"), dict) else {}
    formatted = name.get("formatted")
    if isinstance(formatted, str) and formatted:
        return formatted
    parts = [p for p in (name.get("givenName"), name.get("familyName")) if isinstance(p, str) and p]
    return " ".join(parts) or user_name


#: :func:`user_label` for the row ``{alias}`` of ``scim_api_scimuser`` (NULL when the row is
#: NULL, as in an outer join).
USER_LABEL_SQL = (
    "COALESCE(NULLIF({alias}.display_name, ''), NULLIF({alias}.data #>> '{{name,formatted}}', ''),"
    " NULLIF(concat_ws(' ', NULLIF({alias}.data #>> '{{name,givenName}}', ''),"
    " NULLIF({alias}.data #>> '{{name,familyName}}', '')), ''), {alias}.user_name)"
)

# --- what changed -----------------------------------------------------------------------------

#: Parts of a document that are not attributes a person would call a change.
_SKIPPED = frozenset({"schemas", "meta", "id", "password", "groups", "members", "active"})
#: The key of the manager in a flattened document.
MANAGER = f"{ENTERPRISE_USER}:manager"


def _flatten(document: dict) -> dict[str, Any]:
    """``{"title": …, "name.givenName": …, "emails[work]": …, "<urn>:department": …}``: one key
    per attribute a person would name, each with a plain value."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if key in _SKIPPED:
            continue
        if key.startswith("urn:") and isinstance(value, dict):
            for sub, item in value.items():
                if sub == "manager" and isinstance(item, dict):
                    flat[f"{key}:manager"] = item.get("value")
                else:
                    _put(flat, f"{key}:{sub}", item)
        else:
            _put(flat, key, value)
    return {k: v for k, v in flat.items() if v not in (None, "", [])}


def _put(flat: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(value, dict):
        for sub, item in value.items():
            _put(flat, f"{key}.{sub}", item)
    elif isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            by_type: dict[str, list] = {}
            for item in value:
                kind = item.get("type")
                slot = f"{key}[{kind}]" if isinstance(kind, str) and kind else key
                if "value" in item:
                    by_type.setdefault(slot, []).append(item["value"])
                else:
                    for sub, part in item.items():
                        if sub not in ("type", "primary"):
                            _put(flat, f"{slot}.{sub}", part)
            for slot, values in by_type.items():
                flat[slot] = _joined(values)
        else:
            flat[key] = _joined(value)
    else:
        flat[key] = value


def _joined(values: list) -> Any:
    shown = [v for v in values if v not in (None, "")]
    if len(shown) == 1 and not isinstance(shown[0], dict | list):
        return shown[0]
    return ", ".join(str(v) for v in shown)


def document_changes(
    before: dict, after: dict, *, names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The attributes that differ between two versions of a resource document, in the order
    of ``after``: ``[{"attribute": key, "old": value, "new": value}, …]`` (a missing side is
    None). ``names`` turns a manager's id into its name, which is what the feed keeps."""
    old_flat, new_flat = _flatten(before), _flatten(after)
    names = names or {}
    changes = []
    for key in [*new_flat, *(k for k in old_flat if k not in new_flat)]:
        old, new = old_flat.get(key), new_flat.get(key)
        if old == new:
            continue
        if key == MANAGER:
            old = names.get(str(old), old) if old is not None else None
            new = names.get(str(new), new) if new is not None else None
        changes.append({"attribute": key, "old": old, "new": new})
    return changes


PASSWORD_CHANGE = {"attribute": "password"}

# --- words ------------------------------------------------------------------------------------

#: Human names of attributes, by flattened key (see :func:`_flatten`).
ATTRIBUTE_LABELS = {
    "userName": "username",
    "displayName": "display name",
    "nickName": "nickname",
    "title": "job title",
    "externalId": "external ID",
    "userType": "user type",
    "preferredLanguage": "preferred language",
    "locale": "locale",
    "timezone": "time zone",
    "profileUrl": "profile URL",
    "name.givenName": "first name",
    "name.familyName": "last name",
    "name.middleName": "middle name",
    "name.formatted": "full name",
    "name.honorificPrefix": "name prefix",
    "name.honorificSuffix": "name suffix",
    "emails": "email",
    "emails[work]": "work email",
    "emails[home]": "home email",
    "emails[other]": "other email",
    "phoneNumbers": "phone number",
    "phoneNumbers[work]": "work phone",
    "phoneNumbers[mobile]": "mobile phone",
    "phoneNumbers[home]": "home phone",
    "phoneNumbers[fax]": "fax number",
    "phoneNumbers[pager]": "pager",
    "password": "password",
    f"{ENTERPRISE_USER}:employeeNumber": "employee number",
    f"{ENTERPRISE_USER}:costCenter": "cost center",
    f"{ENTERPRISE_USER}:organization": "organization",
    f"{ENTERPRISE_USER}:division": "division",
    f"{ENTERPRISE_USER}:department": "department",
    MANAGER: "manager",
}
_ADDRESS_PARTS = {
    "streetAddress": "street address",
    "locality": "city",
    "region": "state or province",
    "postalCode": "postal code",
    "country": "country",
    "formatted": "address",
}
_SLOT = re.compile(r"^(?P<attr>[A-Za-z0-9_]+)(?:\[(?P<type>[^\]]*)\])?(?:\.(?P<sub>.+))?$")


def _words(name: str) -> str:
    """``costCenter`` → ``cost center``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower()


def attribute_label(key: str) -> str:
    """The words for a flattened attribute key: ``title`` → "job title"."""
    if key in ATTRIBUTE_LABELS:
        return ATTRIBUTE_LABELS[key]
    if key.startswith("urn:"):
        # Another extension's attribute: its own name is the best there is.
        return _words(key.rsplit(":", 1)[-1])
    match = _SLOT.match(key)
    if match is None:
        return key
    attr, kind, sub = match.group("attr"), match.group("type"), match.group("sub")
    if attr == "addresses" and sub:
        return " ".join(p for p in (kind, _ADDRESS_PARTS.get(sub, _words(sub))) if p)
    base = ATTRIBUTE_LABELS.get(attr, _words(attr))
    parts = [kind, base, _words(sub) if sub else None]
    return " ".join(p for p in parts if p)


def shown_value(value: Any) -> str:
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def change_clause(change: dict) -> str:
    """One attribute change: "job title from Analyst to Manager"."""
    label = attribute_label(str(change.get("attribute", "")))
    if "old" not in change and "new" not in change:
        return label  # a secret: that it changed, never what to
    old, new = change.get("old"), change.get("new")
    if old is None:
        return f"{label} to {shown_value(new)}"
    return f"{label} from {shown_value(old)} to {shown_value(new)}"


def _listed(clauses: list[str]) -> str:
    if len(clauses) > MAX_CLAUSES:
        rest = len(clauses) - (MAX_CLAUSES - 1)
        clauses = [*clauses[: MAX_CLAUSES - 1], f"{rest} more attributes"]
    if len(clauses) == 1:
        return clauses[0]
    return ", ".join(clauses[:-1]) + " and " + clauses[-1]


def _possessive(name: str) -> str:
    return f"{name}'s"


def change_sentence(row: ScimChange, *, actor: str = ACTOR) -> str:
    """The row in words: "Azure AD added Alice Smith to Finance"."""
    kind, name = row.kind, row.object_name
    member = f"group {name}" if row.object_type == ScimChange.ObjectType.GROUP else name
    clauses = [change_clause(c) for c in row.changes or [] if isinstance(c, dict)]
    match kind:
        case ScimChange.Kind.USER_CREATED:
            return f"{actor} created {name}"
        case ScimChange.Kind.USER_UPDATED:
            if not clauses:
                return f"{actor} changed {name}"
            return f"{actor} changed {_possessive(name)} {_listed(clauses)}"
        case ScimChange.Kind.USER_DEACTIVATED:
            return f"{actor} deactivated {name}"
        case ScimChange.Kind.USER_REACTIVATED:
            return f"{actor} reactivated {name}"
        case ScimChange.Kind.USER_DELETED:
            return f"{actor} deleted {name}"
        case ScimChange.Kind.MEMBER_ADDED:
            return f"{actor} added {member} to {row.group_name}"
        case ScimChange.Kind.MEMBER_REMOVED:
            return f"{actor} removed {member} from {row.group_name}"
        case ScimChange.Kind.GROUP_CREATED:
            return f"{actor} created group {name}"
        case ScimChange.Kind.GROUP_RENAMED:
            old = next((c.get("old") for c in row.changes or [] if isinstance(c, dict)), None)
            return f"{actor} renamed group {shown_value(old)} to {name}"
        case ScimChange.Kind.GROUP_UPDATED:
            if not clauses:
                return f"{actor} changed group {name}"
            return f"{actor} changed group {_possessive(name)} {_listed(clauses)}"
        case ScimChange.Kind.GROUP_DELETED:
            return f"{actor} deleted group {name}"
    return f"{actor} changed {name}"


def changes_text(row: ScimChange) -> str:
    """Every attribute change of the row, for the CSV: "job title: Analyst → Manager; …"."""
    parts = []
    for change in row.changes or []:
        if not isinstance(change, dict):
            continue
        label = attribute_label(str(change.get("attribute", "")))
        if "old" not in change and "new" not in change:
            parts.append(f"{label}: changed")
            continue
        old, new = change.get("old"), change.get("new")
        parts.append(
            f"{label}: {NOTHING if old is None else old} → {NOTHING if new is None else new}"
        )
    return "; ".join(parts)
