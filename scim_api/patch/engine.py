"""The engine's entry points and its operation loop: reading the PATCH body, dispatching each
operation, and the checks on the whole document."""

from __future__ import annotations

from typing import Any, Literal

from scim_api.errors import InvalidPath, InvalidSyntax, InvalidValue, NoTarget, TooMany
from scim_api.patch.apply import _Apply
from scim_api.patch.coercion import _Coercion
from scim_api.patch.common import _find_key, _json_copy, _json_type, _present, _short
from scim_api.patch.members import _MemberOperations
from scim_api.patch.paths import _PathResolution
from scim_api.patch.results import MemberChanges, PatchResult
from scim_api.patch.value_filters import _ValueFilters
from scim_api.policy import CompatibilityPolicy
from scim_api.schema import PATCH_OP, ResourceType, is_own_custom_extension, resource_type_by_name
from scim_api.validation import check_storable

_OPS = ("add", "remove", "replace")


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
    document_changed = engine.doc != document
    if document_changed:
        # What a POST body is held to: a value filter's string literal (``[value eq "\u0000"]``)
        # can put text into the document that no body carried.
        check_storable(engine.doc, "the patched resource")
    changed = document_changed or engine.password is not None or engine.members.has_changes
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


class _Engine(_PathResolution, _Apply, _Coercion, _MemberOperations, _ValueFilters):
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
        self.doc: dict = _json_copy(document) if isinstance(document, dict) else {}
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
