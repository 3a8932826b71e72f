"""Applying operations to the document: path-less attribute objects, whole schema paths, and
``add``/``replace``/``remove`` of one target (RFC 7644 §3.5.2.1–3)."""

from __future__ import annotations

from typing import Any

from scim2_models.path import CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator

from scim_api.errors import InvalidPath, InvalidValue, Mutability, NoTarget
from scim_api.patch.common import _ABSENT, _EngineState, _find_key, _json_type, _present, _Target
from scim_api.schema import ENTERPRISE_MANAGER, Attribute, ResolvedAttribute


class _Apply(_EngineState):
    """Writes to the working document; members and the password are handed aside."""

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
            text = f"{where}.{key}" if where else key
            if (
                extension is None
                and self.mode == "patch"
                and "[" in key
                and self.policy.flat_dotted_keys
            ):
                self._apply_path_key(op, key, value, text)
                continue
            target = self._value_key_target(key, extension, where)
            if target is None:
                continue
            if value is None:
                # Null is "unassigned" (RFC 7643 §2.5): replace clears, add and bodies skip it.
                if op == "replace" and self.mode == "patch":
                    self._remove(target, None, text)
                continue
            self._set(op, target, value, text)

    def _apply_path_key(self, op: str, key: str, value: Any, where: str) -> None:
        """A key of a path-less value that is a filtered path, e.g.
        ``{"emails[type eq \"work\"].value": "a@b"}``: the flat form some clients (Azure AD
        among them) give ``{"op": op, "path": key, "value": value}``, applied as that
        operation — under the ``flat_dotted_keys`` switch, like the other flat keys."""
        target = self._path_target(key, where)
        if target is None:
            return  # an unknown attribute the policy tells us to ignore
        if value is None:
            if op == "replace":
                self._remove(target, None, where)
            return
        self._set(op, target, value, where)

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
