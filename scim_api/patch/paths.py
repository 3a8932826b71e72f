"""Resolving PATCH paths and the keys of attribute objects to targets, through the attribute
resolver of :mod:`scim_api.schema`."""

from __future__ import annotations

import dataclasses

from scim2_models import Path
from scim2_models.exceptions import SCIMException
from scim2_models.path import AttrPath, Comparison, Present, ValuePath

from scim_api.errors import InvalidPath, InvalidValue, Mutability, ScimError
from scim_api.patch.common import _EngineState, _find_key, _short, _Target
from scim_api.schema import (
    ENTERPRISE_USER,
    GROUP_RESOURCE,
    USER_RESOURCE,
    ResolvedAttribute,
    UnknownAttribute,
    extension_urn,
    resolve_attribute,
)


class _PathResolution(_EngineState):
    """Turns a ``path`` or an attribute key into a :class:`_Target`, or None when the policy says
    to ignore an unknown attribute."""

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
