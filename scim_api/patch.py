"""The SCIM PATCH engine (RFC 7644 §3.5.2) and the canonicaliser of POST/PUT bodies, as pure code.

Nothing here touches the database: a service loads the resource document, calls
:func:`apply_patch` (or :func:`normalize_resource` for a full body), and stores what comes back.
Keeping the rules in one pure module lets the same code serve the SCIM API and the Azure AD
emulator, and lets every request shape Azure AD sends be tested as a table without a database.

The document is the canonical SCIM JSON of a User or Group without ``id``, ``meta``, ``groups``
and, for Groups, without ``members``: members live in their own table and a 100,000-member group
must never be loaded, so member operations are returned as :class:`MemberChanges` instead of
being applied to the document. A password is returned apart for the caller to hash.

Every deviation from the RFC that Azure AD needs is asked of the :class:`CompatibilityPolicy` by
name; under the strict policy the engine follows RFC 7644 §3.5.2 to the letter, except that a
``remove`` of ``members`` carrying a value list is rejected (``invalidPath``) rather than read as
"remove every member", which is what the RFC's wording would otherwise make of it.

Paths are parsed by scim2-models' RFC 7644 grammar (``scim2_models.Path``); value filters are
evaluated here, in memory, against the elements of one multi-valued attribute.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from scim2_models import Path
from scim2_models.exceptions import SCIMException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from scim_api.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
    TooMany,
)
from scim_api.policy import CompatibilityPolicy
from scim_api.schema import (
    ANY_TYPE,
    ENTERPRISE_MANAGER,
    ENTERPRISE_USER,
    GROUP_RESOURCE,
    PATCH_OP,
    STRING_TYPES,
    USER_RESOURCE,
    Attribute,
    ResolvedAttribute,
    ResourceType,
    UnknownAttribute,
    extension_urn,
    is_own_custom_extension,
    resolve_attribute,
    resource_type_by_name,
)

__all__ = ["MemberChanges", "PatchResult", "apply_patch", "normalize_resource"]

_OPS = ("add", "remove", "replace")


class _Absent:
    """The value of an attribute that ends up unassigned (null, ``[]``, a manager of ``""``)."""

    def __repr__(self) -> str:
        return "ABSENT"


_ABSENT = _Absent()


@dataclass
class MemberChanges:
    """Group membership changes requested by a PATCH (or a POST/PUT body), by member id.

    The caller applies them in this order: ``remove_all``, then ``replace`` (the exact new
    member list), then ``remove``, then ``add``. Successive operations are folded so that at most
    one of ``remove_all`` / ``replace`` is set, and when ``replace`` is set ``add`` and ``remove``
    are empty. Ids are the client-supplied strings, deduplicated in order; resolving them to
    resources (and checking the tenant) is the caller's job.
    """

    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    replace: list[str] | None = None  # None means no full replacement
    remove_all: bool = False

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.remove or self.replace is not None or self.remove_all)

    def add_ids(self, ids: list[str]) -> None:
        for member_id in ids:
            if self.replace is not None:
                if member_id not in self.replace:
                    self.replace.append(member_id)
                continue
            if member_id in self.remove:
                self.remove.remove(member_id)
            if member_id not in self.add:
                self.add.append(member_id)

    def remove_ids(self, ids: list[str]) -> None:
        for member_id in ids:
            if self.replace is not None:
                if member_id in self.replace:
                    self.replace.remove(member_id)
                continue
            if member_id in self.add:
                self.add.remove(member_id)
            # After remove_all the group is already empty: nothing left to remove.
            if not self.remove_all and member_id not in self.remove:
                self.remove.append(member_id)

    def replace_ids(self, ids: list[str]) -> None:
        self.replace = _dedupe(ids)
        self.add, self.remove, self.remove_all = [], [], False

    def clear(self) -> None:
        self.add, self.remove, self.replace, self.remove_all = [], [], None, True


@dataclass
class PatchResult:
    """What a PATCH did: the new document, the membership changes and any new password."""

    document: dict  # new document (deep copy; the input is never mutated)
    members: MemberChanges  # only for Groups
    password: str | None  # a password set by the patch (caller hashes it); never in document
    changed: bool  # whether anything changed (drives the ETag / version bump)


def apply_patch(
    document: dict,
    body: dict,
    *,
    resource_type: str,
    policy: CompatibilityPolicy,
    max_operations: int = 1000,
) -> PatchResult:
    """Apply a SCIM PATCH request body to a resource document, atomically.

    All operations are applied to a deep copy in order; the first failing operation raises a
    :class:`~scim_api.errors.ScimError` and nothing is returned, so the caller stores nothing.
    """
    resource = resource_type_by_name(resource_type)
    if not isinstance(body, dict):
        raise InvalidSyntax(
            'The PATCH body must be a JSON object: {"schemas": ["' + PATCH_OP + '"], '
            '"Operations": [...]}.'
        )
    engine = _Engine(resource=resource, policy=policy, mode="patch", document=document)
    operations = engine.read_body(body, max_operations=max_operations)
    for index, operation in enumerate(operations):
        engine.apply_operation(index, operation)
    engine.check_required(before=document)
    changed = engine.doc != document or engine.password is not None or engine.members.has_changes
    return PatchResult(
        document=engine.doc,
        members=engine.members,
        password=engine.password,
        changed=changed,
    )


def normalize_resource(
    body: dict, *, resource_type: str, policy: CompatibilityPolicy
) -> tuple[dict, str | None, list[dict] | None]:
    """Validate and canonicalise a full User/Group body (POST or PUT) into a resource document.

    Attribute names take their registry spelling, booleans sent as strings are converted (per
    policy), the manager becomes ``{"value": id}``, readOnly attributes (``id``, ``meta``,
    ``groups``) are dropped as RFC 7644 §3.3 asks, nulls count as absent, and custom extension
    objects are kept. Returns ``(document, password, members)``; ``members`` is None when the body
    carried none, else a list of ``{"value": id}``.
    """
    resource = resource_type_by_name(resource_type)
    if not isinstance(body, dict):
        raise InvalidSyntax(f"A {resource.name} body must be a JSON object.")
    _check_resource_schemas(body, resource=resource, policy=policy)
    engine = _Engine(resource=resource, policy=policy, mode="resource", document={})
    engine.apply_object("replace", body, extension=None, where="")
    engine.check_required(before=None)
    members = None
    if engine.members.replace is not None:
        members = [{"value": member_id} for member_id in engine.members.replace]
    return engine.doc, engine.password, members


# --- internals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """A resolved PATCH target: attribute, optional sub-attribute and optional value filter."""

    attr: ResolvedAttribute  # for a custom attribute, ``extension`` is the document's key
    sub: Attribute | None
    filter: FilterNode | None
    text: str  # as the client wrote it, for error messages


def _dedupe(ids: list[str]) -> list[str]:
    out: list[str] = []
    for member_id in ids:
        if member_id not in out:
            out.append(member_id)
    return out


def _find_key(container: dict, name: str) -> str | None:
    """The key of ``container`` naming ``name``: attribute names are case-insensitive."""
    if name in container:
        return name
    lowered = name.lower()
    return next((k for k in container if isinstance(k, str) and k.lower() == lowered), None)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short(value: Any) -> str:
    """A value quoted for an error message, truncated: details must stay readable."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _parse_datetime(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    # A dateTime without an offset is read as UTC so that comparisons never mix naive and aware.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _check_resource_schemas(
    body: dict, *, resource: ResourceType, policy: CompatibilityPolicy
) -> None:
    schemas = body.get("schemas")
    core = resource.schema.id
    if schemas is None:
        if not policy.ignore_unknown_schemas:
            raise InvalidSyntax(f'"schemas" is required: ["{core}"].')
        return
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise InvalidSyntax('"schemas" must be an array of schema URNs.')
    if policy.ignore_unknown_schemas:
        return
    lowered = [s.lower() for s in schemas]
    if core.lower() not in lowered:
        raise InvalidValue(f'"schemas" must include "{core}" for a {resource.name}.')
    known = {core.lower(), *(e.id.lower() for e in resource.extensions)}
    unknown = [
        s for s in schemas if s.lower() not in known and not is_own_custom_extension(resource, s)
    ]
    if unknown:
        raise InvalidValue(
            f'Unknown schema URN(s) {", ".join(unknown)} in "schemas"; a {resource.name} '
            f"accepts {', '.join(sorted({core, *(e.id for e in resource.extensions)}))} and "
            "custom extensions."
        )


class _Engine:
    """Applies operations to a working deep copy of one document.

    ``mode="patch"`` follows PATCH rules; ``mode="resource"`` reads a POST/PUT body, where
    readOnly attributes are dropped instead of rejected and multi-valued attributes must be
    arrays.
    """

    def __init__(
        self,
        *,
        resource: ResourceType,
        policy: CompatibilityPolicy,
        mode: Literal["patch", "resource"],
        document: dict,
    ):
        self.resource = resource
        self.policy = policy
        self.mode = mode
        self.doc: dict = copy.deepcopy(document) if isinstance(document, dict) else {}
        self.password: str | None = None
        self.members = MemberChanges()

    # -- body ----------------------------------------------------------------------------------

    def _field(self, obj: dict, name: str) -> tuple[bool, Any]:
        if name in obj:
            return True, obj[name]
        # Azure AD asks servers not to match structural names case-sensitively; same switch as op.
        if self.policy.case_insensitive_op:
            for key, value in obj.items():
                if isinstance(key, str) and key.lower() == name.lower():
                    return True, value
        return False, None

    def read_body(self, body: dict, *, max_operations: int) -> list[dict]:
        has_schemas, schemas = self._field(body, "schemas")
        has_patch_op = isinstance(schemas, list) and any(
            isinstance(s, str) and s.lower() == PATCH_OP.lower() for s in schemas
        )
        # ignore_unknown_schemas is the switch for leniency about "schemas" as a whole.
        if not has_patch_op and not self.policy.ignore_unknown_schemas:
            raise InvalidSyntax(
                f'"schemas" must be ["{PATCH_OP}"]'
                + ("" if has_schemas else " (it is missing)")
                + "."
            )
        _, operations = self._field(body, "Operations")
        if not isinstance(operations, list) or not operations:
            raise InvalidSyntax(
                '"Operations" must be a non-empty array of {"op", "path", "value"} objects.'
            )
        if len(operations) > max_operations:
            raise TooMany(
                f"The PATCH carries {len(operations)} operations; at most {max_operations} are "
                "accepted in one request. Split it into several PATCH requests."
            )
        for index, operation in enumerate(operations):
            if not isinstance(operation, dict):
                raise InvalidSyntax(
                    f"Operations[{index}] must be an object with op, path and value; "
                    f"got {_json_type(operation)}."
                )
        return operations

    def apply_operation(self, index: int, operation: dict) -> None:
        where = f"Operations[{index}]"
        op = self._op_name(operation, where)
        has_path, path = self._field(operation, "path")
        has_value, value = self._field(operation, "value")
        if has_path and path is not None and not isinstance(path, str):
            raise InvalidPath(f'{where}: "path" must be a string; got {_json_type(path)}.')
        path = path.strip() if isinstance(path, str) else ""
        if op != "remove" and not has_value:
            raise InvalidValue(f'{where}: "{op}" requires a "value".')
        if not path:
            if op == "remove":
                # RFC 7644 §3.5.2.2: a remove without a path fails with noTarget.
                raise NoTarget(
                    f'{where}: "remove" requires a "path" naming what to remove, e.g. '
                    '"path": "members[value eq \\"<id>\\"]" or "path": "nickName".'
                )
            if not isinstance(value, dict):
                raise InvalidValue(
                    f'{where}: "{op}" without a "path" needs an object of attributes as its '
                    f'value, e.g. {{"displayName": "…"}}; got {_json_type(value)}.'
                )
            self.apply_object(op, value, extension=None, where=f"{where}.value")
            return
        if self._is_extension_urn(path) or path.lower() == self.resource.schema.id.lower():
            self._apply_schema_path(op, path, value, has_value, where)
            return
        target = self._path_target(path, where)
        if target is None:
            return  # an unknown attribute the policy tells us to ignore
        if op == "remove":
            self._remove(target, value if has_value else None, where)
        elif value is None:
            if op == "add":
                raise InvalidValue(
                    f'{where}: "add" of {path} needs a value; to clear it send '
                    f'{{"op": "remove", "path": "{path}"}}.'
                )
            # RFC 7643 §2.5: null is "unassigned", so replacing with null removes the value.
            self._remove(target, None, where)
        else:
            self._set(op, target, value, where)

    def _op_name(self, operation: dict, where: str) -> str:
        _, raw = self._field(operation, "op")
        if not isinstance(raw, str):
            raise InvalidSyntax(
                f'{where}: "op" is required and must be one of add, remove, replace.'
            )
        name = raw.lower() if self.policy.case_insensitive_op else raw
        if name not in _OPS:
            hint = (
                f' ("op" is case-sensitive under the strict policy: send "{raw.lower()}")'
                if raw.lower() in _OPS
                else ""
            )
            raise InvalidSyntax(
                f"{where}: unknown op {_short(raw)}; expected add, remove or replace{hint}."
            )
        return name

    # -- resolution ----------------------------------------------------------------------------

    def _is_extension_urn(self, urn: str) -> bool:
        return extension_urn(self.resource, urn) is not None

    def _extension_key(self, urn: str) -> str:
        """The document key for an extension URN: the registry spelling, or as first stored."""
        existing = _find_key(self.doc, urn)
        if existing is not None:
            return existing
        return extension_urn(self.resource, urn) or urn

    def _lookup(self, uri: str | None, name: str) -> ResolvedAttribute | None:
        """Find an attribute by optional schema URN and name; None if no schema declares it."""
        try:
            # Microsoft's documented example patches "path": "manager" unqualified.
            attr = resolve_attribute(
                self.resource, uri, name, manager_alias=self.policy.manager_as_string
            )
        except UnknownAttribute:
            return None
        if attr.custom:
            # Kept under the spelling the document already uses for the extension.
            return dataclasses.replace(attr, extension=self._extension_key(attr.extension or ""))
        return attr

    def _unknown(self, error: type[ScimError], detail: str) -> None:
        if self.policy.ignore_unknown_attributes:
            return None
        raise error(detail)

    def _resolve(
        self,
        uri: str | None,
        name: str,
        sub_name: str | None,
        *,
        text: str,
        error: type[ScimError],
    ) -> _Target | None:
        attr = self._lookup(uri, name)
        if attr is None:
            return self._unknown(
                error, f"{_short(text)} is not an attribute of a {self.resource.name}."
            )
        sub = None
        if sub_name is not None:
            if attr.custom or attr.definition.type != "complex":
                raise error(
                    f"{_short(text)}: {attr.name} is not a complex attribute, so it has no "
                    f"sub-attribute {sub_name!r}."
                )
            sub = attr.definition.sub(sub_name)
            if sub is None:
                known = ", ".join(a.name for a in attr.definition.sub_attributes)
                return self._unknown(
                    error,
                    f"{_short(text)}: {attr.name} has no sub-attribute {sub_name!r} "
                    f"(it has {known}).",
                )
        return _Target(attr, sub, None, text)

    def _check_writable(self, target: _Target, where: str) -> bool:
        """Whether the target may be written; readOnly raises in PATCH, is dropped in a body."""
        read_only = target.attr.definition.mutability == "readOnly" or (
            target.sub is not None and target.sub.mutability == "readOnly"
        )
        if not read_only:
            return True
        if self.mode == "resource":
            return False  # RFC 7644 §3.3: readOnly values in a body are ignored
        raise Mutability(f"{where}: {target.text} is readOnly; it is set by the server.")

    def _path_target(self, path: str, where: str) -> _Target | None:
        try:
            node = Path(path).ast
        except (SCIMException, ValueError) as exc:
            raise InvalidPath(
                f'{where}: "path" {_short(path)} is not a valid SCIM path ({exc}). Examples: '
                '"name.givenName", "emails[type eq \\"work\\"].value", '
                f'"{ENTERPRISE_USER}:department".'
            ) from None
        # Errata 7122 spells a selection as "emails.type eq \"work\""; read it as a valuePath.
        if isinstance(node, Comparison | Present):
            if node.attr_path.sub_attr is None:
                raise InvalidPath(
                    f"{where}: {_short(path)} is a filter, not a path; write the selection as "
                    'attribute[filter], e.g. emails[type eq "work"].'
                )
            inner = AttrPath(node.attr_path.sub_attr)
            node = ValuePath(
                attr_path=AttrPath(node.attr_path.attr, uri=node.attr_path.uri),
                val_filter=(
                    Comparison(inner, node.op, node.value)
                    if isinstance(node, Comparison)
                    else Present(inner)
                ),
            )
        if isinstance(node, AttrPath):
            target = self._resolve(node.uri, node.attr, node.sub_attr, text=path, error=InvalidPath)
        else:
            assert isinstance(node, ValuePath)
            ap = node.attr_path
            target = self._resolve(ap.uri, ap.attr, node.sub_attr, text=path, error=InvalidPath)
            if target is not None:
                if not target.attr.definition.multi_valued or target.attr.custom:
                    raise InvalidPath(
                        f"{where}: {_short(path)}: a [filter] selects values of a multi-valued "
                        f"attribute, and {target.attr.name} is single-valued."
                    )
                target = _Target(target.attr, target.sub, node.val_filter, path)
                if not self._is_members(target):
                    self._validate_filter(target.attr.definition, node.val_filter, path)
        if target is None or not self._check_writable(target, where):
            return None
        return target

    def _value_key_target(self, key: str, extension: str | None, where: str) -> _Target | None:
        """Resolve one key of an attribute object (path-less PATCH value or resource body)."""
        text = f"{where}.{key}" if where else key
        if extension is not None:
            target = self._resolve(extension, key, None, text=key, error=InvalidValue)
        elif ":" in key or "." in key:
            if not self.policy.flat_dotted_keys:
                return self._unknown(
                    InvalidValue,
                    f"{_short(text)} is not an attribute name. Nest it instead "
                    '({"name": {"givenName": …}} or '
                    f'{{"{ENTERPRISE_USER}": {{"department": …}}}}); flat dotted and URN keys '
                    "are only read under the flat_dotted_keys compatibility switch.",
                )
            try:
                node = Path(key).ast
            except (SCIMException, ValueError):
                node = None
            if not isinstance(node, AttrPath):
                return self._unknown(
                    InvalidValue,
                    f"{_short(text)} is not an attribute name or a flat attribute path "
                    "(filters are not allowed in keys).",
                )
            target = self._resolve(node.uri, node.attr, node.sub_attr, text=key, error=InvalidValue)
        else:
            target = self._resolve(None, key, None, text=key, error=InvalidValue)
        if target is None or not self._check_writable(target, text):
            return None
        return target

    def _is_members(self, target: _Target) -> bool:
        return (
            self.resource is GROUP_RESOURCE
            and target.attr.extension is None
            and target.attr.name == "members"
        )

    def _is_password(self, target: _Target) -> bool:
        return (
            self.resource is USER_RESOURCE
            and target.attr.extension is None
            and target.attr.name == "password"
        )

    # -- path-less values and schema paths -----------------------------------------------------

    def apply_object(self, op: str, obj: dict, *, extension: str | None, where: str) -> None:
        """Apply an object of attributes (a path-less add/replace value, or a resource body)."""
        for key, value in obj.items():
            if not isinstance(key, str):
                raise InvalidValue(f"{where or 'The body'}: attribute names must be strings.")
            if extension is None and key.lower() == "schemas":
                continue
            if extension is None and (
                self._is_extension_urn(key) or key.lower() == self.resource.schema.id.lower()
            ):
                self._apply_schema_object(op, key, value, where)
                continue
            target = self._value_key_target(key, extension, where)
            if target is None:
                continue
            text = f"{where}.{key}" if where else key
            if value is None:
                # Null is "unassigned" (RFC 7643 §2.5): replace clears, add and bodies skip it.
                if op == "replace" and self.mode == "patch":
                    self._remove(target, None, text)
                continue
            self._set(op, target, value, text)

    def _apply_schema_object(self, op: str, urn: str, value: Any, where: str) -> None:
        is_core = urn.lower() == self.resource.schema.id.lower()
        if value is None:
            if op == "replace" and self.mode == "patch" and not is_core:
                self.doc.pop(_find_key(self.doc, urn) or urn, None)
            return
        if not isinstance(value, dict):
            raise InvalidValue(
                f"{where + '.' if where else ''}{urn} must be an object of its attributes; got "
                f"{_json_type(value)}."
            )
        inner = f"{where}.{urn}" if where else urn
        self.apply_object(op, value, extension=None if is_core else urn, where=inner)

    def _apply_schema_path(
        self, op: str, urn: str, value: Any, has_value: bool, where: str
    ) -> None:
        """``"path": "urn:…:enterprise:2.0:User"`` addresses the whole extension object."""
        if urn.lower() == self.resource.schema.id.lower():
            if op == "remove":
                raise InvalidPath(f"{where}: the core schema {urn} cannot be removed.")
            self._apply_schema_object(op, urn, value, where)
            return
        if op == "remove" or value is None:
            if op == "add":
                raise InvalidValue(f'{where}: "add" of {urn} needs an object value.')
            self.doc.pop(_find_key(self.doc, urn) or urn, None)
            return
        self._apply_schema_object(op, urn, value, where)

    # -- value coercion ------------------------------------------------------------------------

    def _coerce_simple(self, definition: Attribute, value: Any, where: str) -> Any:
        kind = definition.type
        if kind == ANY_TYPE:
            return copy.deepcopy(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                if self.policy.boolean_strings:
                    return value.strip().lower() == "true"
                raise InvalidValue(
                    f"{where} is a boolean: send true or false, not the string {_short(value)} "
                    "(boolean strings are only read under the boolean_strings switch)."
                )
            raise InvalidValue(f"{where} is a boolean; got {_json_type(value)}.")
        if kind in STRING_TYPES:
            if isinstance(value, str):
                return value
            raise InvalidValue(f"{where} is a string; got {_json_type(value)} {_short(value)}.")
        if kind == "dateTime":
            if isinstance(value, str) and _parse_datetime(value) is not None:
                return value
            raise InvalidValue(f"{where} is a dateTime (ISO 8601); got {_short(value)}.")
        if kind == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise InvalidValue(f"{where} is an integer; got {_json_type(value)}.")
        if kind == "decimal":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            raise InvalidValue(f"{where} is a decimal; got {_json_type(value)}.")
        if kind == "complex":
            return self._coerce_complex(definition, value, where, keep_nulls=False)
        raise InvalidValue(f"{where} has the unsupported type {kind}.")  # pragma: no cover

    def _coerce_complex(
        self, definition: Attribute, value: Any, where: str, *, keep_nulls: bool
    ) -> dict:
        """A complex value with canonical sub-attribute names; None values mark removals."""
        if not isinstance(value, dict):
            subs = ", ".join(a.name for a in definition.sub_attributes)
            raise InvalidValue(
                f"{where} is a complex attribute: send an object with its sub-attributes "
                f"({subs}); got {_json_type(value)}."
            )
        out: dict = {}
        for key, sub_value in value.items():
            sub = definition.sub(key)
            if sub is None:
                known = ", ".join(a.name for a in definition.sub_attributes)
                self._unknown(
                    InvalidValue,
                    f"{where}: {definition.name} has no sub-attribute {key!r} (it has {known}).",
                )
                continue
            if sub.mutability == "readOnly":
                continue  # computed by the server (members.display, manager.displayName)
            if sub_value is None:
                if keep_nulls:
                    out[sub.name] = None
                continue
            out[sub.name] = self._coerce_simple(sub, sub_value, f"{where}.{sub.name}")
        return out

    def _coerce_multi(self, definition: Attribute, value: Any, where: str) -> list | _Absent:
        if not isinstance(value, list):
            if self.mode == "resource":
                raise InvalidValue(
                    f"{where} is multi-valued: send an array; got {_json_type(value)}."
                )
            value = [value]  # RFC 7644 §3.5.2.1 lets a PATCH value be a single element
        items: list = []
        for position, item in enumerate(value):
            if item is None:
                continue
            if definition.type == "complex":
                element = self._coerce_complex(
                    definition, item, f"{where}[{position}]", keep_nulls=False
                )
                if not element:
                    continue  # an element with no values carries nothing
            else:
                element = self._coerce_simple(definition, item, f"{where}[{position}]")
            if element not in items:
                items.append(element)
        if sum(1 for e in items if isinstance(e, dict) and e.get("primary") is True) > 1:
            raise InvalidValue(
                f'{where}: at most one element may have "primary": true (RFC 7643 §2.4).'
            )
        return items or _ABSENT

    def _coerce_manager(self, value: Any, where: str) -> dict | _Absent:
        """Manager → ``{"value": id}``; the caller adds ``$ref``/``displayName`` on output."""
        tolerant = self.policy.manager_as_string
        hint = f'send {{"value": "<manager id>"}} (got {_json_type(value)} {_short(value)}).'
        if isinstance(value, list):
            if not tolerant:
                raise InvalidValue(f"{where}: manager is a single complex value; {hint}")
            if not value:
                return _ABSENT
            if len(value) > 1:
                raise InvalidValue(f"{where}: a user has one manager; got {len(value)} values.")
            value = value[0]
        if isinstance(value, str):
            if not tolerant:
                raise InvalidValue(f"{where}: manager is complex; {hint}")
            return {"value": value} if value.strip() else _ABSENT
        if value is None:
            return _ABSENT
        complex_value = self._coerce_complex(ENTERPRISE_MANAGER, value, where, keep_nulls=False)
        manager_id = complex_value.get("value")
        # Azure AD clears the manager with an empty value; only the id is stored.
        return {"value": manager_id} if manager_id and manager_id.strip() else _ABSENT

    # -- set / remove --------------------------------------------------------------------------

    def _container(self, attr: ResolvedAttribute, *, create: bool) -> dict | None:
        if attr.extension is None:
            return self.doc
        key = self._extension_key(attr.extension)
        container = self.doc.get(key)
        if not isinstance(container, dict):
            if not create:
                return None
            container = {}
            self.doc[key] = container
        return container

    def _get(self, attr: ResolvedAttribute) -> Any:
        container = self._container(attr, create=False)
        if container is None:
            return None
        key = _find_key(container, attr.name)
        return container.get(key) if key is not None else None

    def _store(self, attr: ResolvedAttribute, value: Any) -> None:
        """Store a value; None/empty leaves the attribute (and an empty extension) unassigned."""
        empty = value is None or value is _ABSENT or value == [] or value == {}
        container = self._container(attr, create=not empty)
        if container is None:
            return
        existing = _find_key(container, attr.name)
        # Custom attributes keep the spelling they were first stored with; others the registry's.
        key = existing if (attr.custom and existing) else attr.name
        if existing is not None and existing != key:
            del container[existing]
        if empty:
            container.pop(key, None)
            if attr.extension is not None and not container:
                self.doc.pop(self._extension_key(attr.extension), None)
        else:
            container[key] = value

    def _set(self, op: str, target: _Target, value: Any, where: str) -> None:
        if self._is_members(target):
            self._members(op, target, value, where)
            return
        if self._is_password(target):
            self._set_password(target, value, where)
            return
        if target.filter is not None:
            self._set_filtered(op, target, value, where)
            return
        attr, definition = target.attr, target.attr.definition
        existing = self._get(attr)
        if target.sub is not None:
            if definition.multi_valued:
                raise InvalidPath(
                    f"{where}: {target.text} names a sub-attribute of every {attr.name} element; "
                    f'select one with a filter, e.g. {attr.name}[type eq "work"].'
                    f"{target.sub.name}."
                )
            if definition is ENTERPRISE_MANAGER:
                if target.sub.name == "value":
                    self._store(attr, self._coerce_manager({"value": value}, where))
                return  # $ref is derived from the id by the caller, never stored
            new = dict(existing) if isinstance(existing, dict) else {}
            new[target.sub.name] = self._coerce_simple(target.sub, value, where)
            self._store(attr, new)
            return
        if definition.multi_valued:
            items = self._coerce_multi(definition, value, where)
            if op == "replace":
                self._store(attr, items)
                return
            if items is _ABSENT:
                return
            current = list(existing) if isinstance(existing, list) else []
            added = []
            for item in items:
                if item not in current:  # RFC 7644 §3.5.2.1: no duplicate of an identical value
                    current.append(item)
                    added.append(item)
            self._fix_primary(definition, current, added)
            self._store(attr, current)
        elif definition is ENTERPRISE_MANAGER:
            self._store(attr, self._coerce_manager(value, where))
        elif definition.type == "complex":
            # RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not given are left unchanged.
            changes = self._coerce_complex(definition, value, where, keep_nulls=True)
            new = dict(existing) if isinstance(existing, dict) else {}
            for key, sub_value in changes.items():
                if sub_value is None:
                    new.pop(key, None)
                else:
                    new[key] = sub_value
            self._store(attr, new)
        else:
            coerced = self._coerce_simple(definition, value, where)
            if definition.mutability == "immutable" and _present(existing) and existing != coerced:
                raise Mutability(f"{where}: {attr.name} is immutable and already set.")
            self._store(attr, coerced)

    def _set_password(self, target: _Target, value: Any, where: str) -> None:
        if target.sub is not None or target.filter is not None:
            raise InvalidPath(f"{where}: password has no sub-attributes.")
        if not isinstance(value, str) or not value:
            raise InvalidValue(f"{where}: password must be a non-empty string.")
        self.password = value

    def _set_filtered(self, op: str, target: _Target, value: Any, where: str) -> None:
        attr, definition = target.attr, target.attr.definition
        assert target.filter is not None
        existing = self._get(attr)
        items = list(existing) if isinstance(existing, list) else []
        matched = [i for i, el in enumerate(items) if self._matches(definition, target.filter, el)]
        touched: list = []
        if target.sub is not None:
            coerced = self._coerce_simple(target.sub, value, where)
            if matched:
                # §3.5.2.3: "the matching sub-attribute of all matching records is replaced".
                for i in matched:
                    element = dict(items[i]) if isinstance(items[i], dict) else {}
                    element[target.sub.name] = coerced
                    items[i] = element
                    touched.append(element)
            else:
                element = {**self._element_from_filter(op, target, where), target.sub.name: coerced}
                items.append(element)
                touched.append(element)
        else:
            given = self._coerce_complex(definition, value, where, keep_nulls=False)
            if matched:
                base = self._derivable(definition, target.filter) or {}
                for i in matched:
                    current = items[i] if isinstance(items[i], dict) else {}
                    # add merges into the element; replace replaces it (§3.5.2.3), keeping the
                    # attributes the filter pinned so the element stays addressable by it.
                    element = {**current, **given} if op == "add" else {**base, **given}
                    items[i] = element
                    touched.append(element)
            else:
                element = {**self._element_from_filter(op, target, where), **given}
                items.append(element)
                touched.append(element)
        self._fix_primary(definition, items, touched)
        self._store(attr, items)

    def _element_from_filter(self, op: str, target: _Target, where: str) -> dict:
        """The element a value-filter path describes, for a filter that matched nothing.

        RFC 7644 §3.5.2.1 adds a target that does not exist, so ``add`` creates the element;
        §3.5.2.3 makes ``replace`` fail with noTarget, which Azure AD does not expect (it sends
        ``replace emails[type eq "work"].value`` for a user without a work email).
        """
        if op == "replace" and not self.policy.create_on_unmatched_filter:
            raise NoTarget(
                f"{where}: {target.text} matches no value of {target.attr.name}; add it first "
                f'with {{"op": "add", "path": "{target.attr.name}", "value": [...]}}.'
            )
        assert target.filter is not None
        element = self._derivable(target.attr.definition, target.filter)
        if element is None:
            raise NoTarget(
                f"{where}: {target.text} matches no value of {target.attr.name}, and only a "
                'filter of eq comparisons joined by "and" describes a value to create.'
            )
        return element

    def _derivable(self, definition: Attribute, node: FilterNode) -> dict | None:
        """The sub-attribute values an ``eq``/``and`` filter pins, or None if it pins none."""
        terms = (
            node.terms
            if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_
            else (node,)
        )
        element: dict = {}
        for term in terms:
            if not (
                isinstance(term, Comparison)
                and term.op == CompareOperator.eq
                and term.value is not None
            ):
                return None
            sub = self._filter_sub(definition, term.attr_path)
            try:
                value = self._coerce_simple(sub, term.value, sub.name)
            except InvalidValue:
                return None
            if sub.name in element and element[sub.name] != value:
                return None
            element[sub.name] = value
        return element

    def _fix_primary(self, definition: Attribute, items: list, touched: list) -> None:
        """Keep one primary: an element this operation made primary wins (RFC 7643 §2.4)."""
        if definition.sub("primary") is None:
            return
        primaries = [e for e in items if isinstance(e, dict) and e.get("primary") is True]
        if len(primaries) <= 1:
            return
        winners = [e for e in touched if isinstance(e, dict) and e.get("primary") is True]
        winner = winners[-1] if winners else primaries[-1]
        for element in primaries:
            if element is not winner:
                element["primary"] = False

    def _remove(self, target: _Target, value: Any, where: str) -> None:
        if self._is_members(target):
            self._members("remove", target, value, where)
            return
        if self._is_password(target):
            raise Mutability(f"{where}: the password cannot be removed, only replaced.")
        attr, definition = target.attr, target.attr.definition
        if target.filter is None and target.sub is None and definition.multi_valued:
            if value is not None:
                self._remove_values(target, self._get(attr), value, where)
                return
        existing = self._get(attr)
        if existing is None:
            return  # removing what is not there changes nothing
        if target.filter is not None:
            if not isinstance(existing, list):
                return
            items = []
            for element in existing:
                if not self._matches(definition, target.filter, element):
                    items.append(element)
                elif target.sub is not None:
                    element = {k: v for k, v in element.items() if k != target.sub.name}
                    if element:
                        items.append(element)
            self._store(attr, items)
            return
        if target.sub is not None:
            if definition is ENTERPRISE_MANAGER and target.sub.name != "value":
                return  # only the id is stored
            if isinstance(existing, list):
                items = [
                    {k: v for k, v in e.items() if k != target.sub.name}
                    for e in existing
                    if isinstance(e, dict)
                ]
                self._store(attr, [e for e in items if e])
            elif isinstance(existing, dict):
                new = {k: v for k, v in existing.items() if k != target.sub.name}
                self._store(attr, new if definition is not ENTERPRISE_MANAGER else None)
            return
        if definition.mutability == "immutable":
            raise Mutability(f"{where}: {attr.name} is immutable and cannot be removed.")
        self._store(attr, None)

    def _remove_values(self, target: _Target, existing: Any, value: Any, where: str) -> None:
        """``remove`` with a value list: remove those values (a non-RFC shape Azure AD sends)."""
        if not self.policy.remove_members_by_value:
            raise InvalidPath(
                f"{where}: a remove of {target.attr.name} with a value list is not defined by "
                "RFC 7644 §3.5.2.2; select the values with a filter instead, e.g. "
                f'{target.attr.name}[value eq "…"].'
            )
        items = self._coerce_multi(target.attr.definition, value, where)
        if items is _ABSENT or not isinstance(existing, list):
            return  # an empty value list removes nothing — never everything
        kept = [e for e in existing if not any(self._same_value(target, e, i) for i in items)]
        self._store(target.attr, kept)

    def _same_value(self, target: _Target, element: Any, given: dict) -> bool:
        if not isinstance(element, dict):
            return False
        for key, expected in given.items():
            sub = target.attr.definition.sub(key)
            if sub is None or not self._compare(
                sub, element.get(key), CompareOperator.eq, expected
            ):
                return False
        return True

    # -- group members -------------------------------------------------------------------------

    def _members(self, op: str, target: _Target, value: Any, where: str) -> None:
        if target.sub is not None:
            raise InvalidPath(
                f'{where}: members are changed as a whole; use path "members" with '
                '[{"value": "<id>"}] or remove members[value eq "<id>"].'
            )
        if target.filter is not None:
            if op != "remove":
                raise InvalidPath(
                    f'{where}: "{op}" with a filtered members path is not supported; send '
                    '{"op": "add", "path": "members", "value": [{"value": "<id>"}]}.'
                )
            self.members.remove_ids(self._member_ids_from_filter(target.filter, where))
            return
        if op == "remove":
            if value is None:
                # RFC 7644 §3.5.2.2: remove of a multi-valued attribute without filter empties it.
                self.members.clear()
                return
            if not self.policy.remove_members_by_value:
                raise InvalidPath(
                    f"{where}: removing members by a value list is not defined by RFC 7644 "
                    '§3.5.2.2; use "path": "members[value eq \\"<id>\\"]" (join ids with or).'
                )
            self.members.remove_ids(self._member_ids(value, where))
            return
        ids = self._member_ids(value, where)
        if op == "add":
            self.members.add_ids(ids)
        else:
            self.members.replace_ids(ids)

    def _member_ids(self, value: Any, where: str) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        ids: list[str] = []
        for position, item in enumerate(items):
            member_id = None
            if isinstance(item, dict):
                _, member_id = next(
                    (
                        (k, v)
                        for k, v in item.items()
                        if isinstance(k, str) and k.lower() == "value"
                    ),
                    (None, None),
                )
            if not isinstance(member_id, str) or not member_id.strip():
                raise InvalidValue(
                    f'{where}[{position}]: a member is {{"value": "<id>"}}; got {_short(item)}.'
                )
            if member_id not in ids:
                ids.append(member_id)
        return ids

    def _member_ids_from_filter(self, node: FilterNode, where: str) -> list[str]:
        """Member ids from ``value eq "a" or value eq "b"`` — the only selection evaluated
        without loading the members, which is the point of keeping them out of the document."""
        terms = (
            node.terms
            if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_
            else (node,)
        )
        ids: list[str] = []
        for term in terms:
            if not (
                isinstance(term, Comparison)
                and term.attr_path.attr.lower() == "value"
                and term.attr_path.sub_attr is None
                and term.attr_path.uri is None
                and term.op == CompareOperator.eq
                and isinstance(term.value, str)
            ):
                raise InvalidPath(
                    f"{where}: members can only be selected by id, as "
                    'members[value eq "<id>"] or members[value eq "a" or value eq "b"].'
                )
            if term.value not in ids:
                ids.append(term.value)
        return ids

    # -- value filters -------------------------------------------------------------------------

    def _filter_sub(self, definition: Attribute, attr_path: AttrPath) -> Attribute:
        sub = None
        if attr_path.uri is None and attr_path.sub_attr is None:
            sub = definition.sub(attr_path.attr)
        if sub is None:
            known = ", ".join(a.name for a in definition.sub_attributes)
            raise InvalidFilter(
                f"The filter on {definition.name} compares {str(attr_path)!r}, which is not one "
                f"of its sub-attributes ({known})."
            )
        return sub

    def _validate_filter(self, definition: Attribute, node: FilterNode, text: str) -> None:
        """Check the whole filter up front: an empty list must not hide an invalid filter."""
        if isinstance(node, LogicalExpr):
            for term in node.terms:
                self._validate_filter(definition, term, text)
        elif isinstance(node, Not):
            self._validate_filter(definition, node.expr, text)
        elif isinstance(node, Present):
            self._filter_sub(definition, node.attr_path)
        elif isinstance(node, Comparison):
            sub = self._filter_sub(definition, node.attr_path)
            self._compare(sub, None, node.op, node.value)
        else:
            raise InvalidFilter(f"{_short(text)}: value selections cannot be nested.")

    def _matches(self, definition: Attribute, node: FilterNode, element: Any) -> bool:
        if not isinstance(element, dict):
            return False
        if isinstance(node, LogicalExpr):
            results = (self._matches(definition, t, element) for t in node.terms)
            return all(results) if node.op == LogicalOperator.and_ else any(results)
        if isinstance(node, Not):
            return not self._matches(definition, node.expr, element)
        if isinstance(node, Present):
            sub = self._filter_sub(definition, node.attr_path)
            return _present(element.get(sub.name))
        if isinstance(node, Comparison):
            sub = self._filter_sub(definition, node.attr_path)
            return self._compare(sub, element.get(sub.name), node.op, node.value)
        raise InvalidFilter("Value selections cannot be nested.")

    def _compare(self, sub: Attribute, actual: Any, op: CompareOperator, expected: Any) -> bool:
        """RFC 7644 §3.4.2.2 comparison of one sub-attribute value, honouring caseExact."""
        if expected is None:
            if op not in (CompareOperator.eq, CompareOperator.ne):
                raise InvalidFilter(f"{sub.name} {op.value} null: null only compares with eq/ne.")
            return (actual is None) == (op == CompareOperator.eq)
        if sub.type == "boolean":
            if isinstance(expected, str) and self.policy.boolean_strings:
                if expected.strip().lower() in ("true", "false"):
                    expected = expected.strip().lower() == "true"
            if not isinstance(expected, bool):
                raise InvalidFilter(
                    f"{sub.name} is a boolean: compare it with true or false (unquoted); got "
                    f"{_short(expected)}."
                )
            if op not in (CompareOperator.eq, CompareOperator.ne):
                raise InvalidFilter(f"{sub.name} is a boolean: only eq and ne apply.")
            return (actual == expected and isinstance(actual, bool)) == (op == CompareOperator.eq)
        if sub.type in ("integer", "decimal"):
            if not isinstance(expected, int | float) or isinstance(expected, bool):
                raise InvalidFilter(f"{sub.name} is a number; got {_short(expected)}.")
            if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
                raise InvalidFilter(f"{sub.name} is a number: {op.value} applies to strings.")
            if not isinstance(actual, int | float) or isinstance(actual, bool):
                return op == CompareOperator.ne
            return _ordered(op, actual, expected)
        if not isinstance(expected, str):
            raise InvalidFilter(
                f"{sub.name} is a string: compare it with a quoted value; got {_short(expected)}."
            )
        if not isinstance(actual, str):
            return op == CompareOperator.ne
        if sub.type == "dateTime" and op not in (
            CompareOperator.co,
            CompareOperator.sw,
            CompareOperator.ew,
        ):
            left, right = _parse_datetime(actual), _parse_datetime(expected)
            if left is not None and right is not None:
                return _ordered(op, left, right)
        if not sub.case_exact:
            actual, expected = actual.casefold(), expected.casefold()
        if op == CompareOperator.co:
            return expected in actual
        if op == CompareOperator.sw:
            return actual.startswith(expected)
        if op == CompareOperator.ew:
            return actual.endswith(expected)
        return _ordered(op, actual, expected)

    # -- whole-document checks -----------------------------------------------------------------

    def check_required(self, *, before: dict | None) -> None:
        """Required attributes (userName, displayName) must stay set.

        A PATCH may not clear one that was set; a body must carry every one.
        """
        for attribute in self.resource.schema.attributes:
            if not attribute.required:
                continue
            now = self.doc.get(attribute.name)
            if _present(now):
                continue
            if before is None:
                raise InvalidValue(
                    f'"{attribute.name}" is required for a {self.resource.name} and is missing '
                    "or empty."
                )
            key = _find_key(before, attribute.name) if isinstance(before, dict) else None
            if key is not None and _present(before[key]):
                raise InvalidValue(
                    f'"{attribute.name}" is required for a {self.resource.name}; it cannot be '
                    "removed or emptied."
                )


def _ordered(op: CompareOperator, left: Any, right: Any) -> bool:
    if op == CompareOperator.eq:
        return left == right
    if op == CompareOperator.ne:
        return left != right
    if op == CompareOperator.gt:
        return left > right
    if op == CompareOperator.ge:
        return left >= right
    if op == CompareOperator.lt:
        return left < right
    if op == CompareOperator.le:
        return left <= right
    return False  # co/sw/ew are handled by the caller
