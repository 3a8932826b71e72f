"""What an attribute path of a filter or ``sortBy`` resolves to, in each place a name can be
written: the top level of a User or Group (through :func:`scim_api.schema.resolve_attribute`),
inside ``name[...]``, ``emails[...]``, or ``members[...]``/``groups[...]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Exists, F, OuterRef, Q, TextField, Value, When
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from scim2_models.path import AttrPath

from scim_api.errors import ScimError
from scim_api.filters.sql import (
    _AnyElement,
    _ConstantSource,
    _Element,
    _ExprSource,
    _json_typeof,
    _JsonSource,
    _Source,
    _UuidSource,
)
from scim_api.models import ScimGroupMember
from scim_api.schema import (
    CORE_GROUP,
    CORE_USER,
    Attribute,
    ResolvedAttribute,
    UnknownAttribute,
    extension_urn,
    resolve_attribute,
    resource_type_by_name,
)


@dataclass(frozen=True)
class _Scalar:
    """A single value: compared, tested for presence, sorted."""

    label: str
    attribute: Attribute
    source: _Source
    #: Custom extension attributes have no schema: the literal's type decides the comparison.
    untyped: bool = False


@dataclass(frozen=True)
class _Object:
    """A single-valued complex attribute held as a JSON object (``name``, ``manager``)."""

    label: str
    attribute: Attribute
    json: Any  # the object, as a JSONB expression

    def scope(self, error: type[ScimError]) -> _Scope:
        return _ObjectScope(self, error)

    def any(self, build: Callable[[_Scope], Q], error: type[ScimError]) -> Q:
        # name[givenName eq "x"]: one object, so no EXISTS; but it has to be there at all,
        # or `name[not (givenName eq "x")]` would match users without a name.
        return Q(Exact(_json_typeof(self.json), "object")) & build(self.scope(error))


@dataclass(frozen=True)
class _JsonArray:
    """A multi-valued complex attribute held as a JSON array in ``data`` (``emails``)."""

    label: str
    attribute: Attribute
    json: Any

    def scope(self, error: type[ScimError]) -> _Scope:
        return _ElementScope(self, error)

    def any(self, build: Callable[[_Scope], Q], error: type[ScimError]) -> Q:
        return Q(_AnyElement(self.json, build(self.scope(error))))


@dataclass(frozen=True)
class _Membership:
    """``groups`` of a User or ``members`` of a Group: rows of :class:`ScimGroupMember`."""

    label: str
    attribute: Attribute
    owner_field: str  # "user" or "group"

    def scope(self, error: type[ScimError]) -> _Scope:
        return _MembershipScope(self, error)

    def any(self, build: Callable[[_Scope], Q], error: type[ScimError]) -> Q:
        rows = ScimGroupMember.objects.filter(**{self.owner_field: OuterRef("pk")})
        return Q(Exists(rows.filter(build(self.scope(error)))))


_Target = _Scalar | _Object | _JsonArray | _Membership


class _Scope:
    """Resolves attribute paths written in one place of a filter to targets."""

    def __init__(self, error: type[ScimError]):
        self.error = error

    def resolve(self, path: AttrPath) -> _Target:
        raise NotImplementedError

    def _sub_target(self, owner: _Target, sub_name: str, label: str) -> _Target:
        """``owner.sub``: one sub-attribute of a complex attribute."""
        sub = owner.attribute.sub(sub_name)
        if sub is None:
            names = ", ".join(a.name for a in owner.attribute.sub_attributes)
            raise self.error(
                f"{owner.attribute.name} has no sub-attribute {sub_name!r} (in {label!r}); "
                f"its sub-attributes are: {names}"
            )
        if isinstance(owner, _Object):
            return _Scalar(label, sub, _JsonSource(owner.json, sub.name))
        # Multi-valued: the caller wraps the comparison in owner.any(...).
        return owner

    def _unfilterable(self, label: str, why: str) -> ScimError:
        return self.error(f"{label!r} cannot be used in a filter or sortBy: {why}")


_COMPUTED_WHY = "it is computed when a resource is rendered, not stored"


class _ResourceScope(_Scope):
    """Top-level names of a User or a Group: columns, JSON in ``data``, memberships."""

    def __init__(self, resource_type: str, error: type[ScimError]):
        super().__init__(error)
        self.resource = resource_type_by_name(resource_type)
        self.resource_type = self.resource.name

    def resolve(self, path: AttrPath) -> _Target:
        label = str(path)
        whole = (
            extension_urn(self.resource, f"{path.uri}:{path.attr}")
            if path.uri is not None and path.sub_attr is None
            else None
        )
        if whole is not None:  # a whole extension, e.g. "urn:...:enterprise:2.0:User pr"
            return _Object(label, Attribute(whole, type="complex"), self._extension(whole))
        resolved = self._find(path, label)
        attribute = resolved.definition
        # Multi-valued targets are labelled without the sub-attribute: their scopes append it.
        target = self._top_level(resolved, str(AttrPath(path.attr, None, path.uri)))
        if path.sub_attr is None:
            return target
        if not attribute.sub_attributes:
            if resolved.custom:
                # Custom extensions have no schema here; a dotted name is a nested key.
                parent = KeyTransform(attribute.name, self._extension(resolved.schema_id or ""))
                return _Scalar(
                    label, Attribute(path.sub_attr), _JsonSource(parent, path.sub_attr), True
                )
            raise self.error(f"{attribute.name} has no sub-attributes, so {label!r} names nothing")
        return self._sub_of(target, path.sub_attr, label)

    def _find(self, path: AttrPath, label: str) -> ResolvedAttribute:
        """The schema definition a path names, and the schema it comes from."""
        try:
            # Azure AD's legacy `manager eq "<id>"` names the enterprise manager.
            return resolve_attribute(self.resource, path.uri, path.attr, manager_alias=True)
        except UnknownAttribute as exc:
            if exc.uri is None:
                detail = f"unknown attribute {label!r} for a {self.resource_type}"
                raise self.error(detail) from None
            if exc.schema is not None:
                raise self.error(
                    f"unknown attribute {path.attr!r} in schema {exc.schema.id}"
                ) from None
        schemas = (self.resource.schema, *self.resource.extensions)
        raise self.error(
            f"unknown schema {path.uri!r} in {label!r}: a {self.resource_type} filter may use "
            f"{', '.join(s.id for s in schemas)} or a custom extension "
            f"urn:ietf:params:scim:schemas:extension:<Name>:2.0:{self.resource_type}"
        )

    def _extension(self, urn: str) -> KeyTransform:
        # Custom extension keys are stored as the client spelled them; JSON keys are
        # case-sensitive, so the filter must spell the URN the same way.
        return KeyTransform(extension_urn(self.resource, urn) or urn, F("data"))

    def _top_level(self, resolved: ResolvedAttribute, label: str) -> _Target:
        attribute, schema_id = resolved.definition, resolved.schema_id
        name = attribute.name
        if attribute.returned == "never":
            raise self._unfilterable(label, "it is write-only")
        if schema_id is None:  # common attributes
            if name == "id":
                return _Scalar(label, attribute, _UuidSource((("id", False),)))
            if name == "externalId":
                return _Scalar(label, attribute, _ExprSource(F("external_id"), nullable=True))
            return _Object(label, attribute, None)  # meta: only its sub-attributes are stored
        if schema_id == CORE_USER and name == "userName":
            return _Scalar(label, attribute, _ExprSource(F("user_name"), nullable=False))
        if schema_id in (CORE_USER, CORE_GROUP) and name == "displayName":
            return _Scalar(label, attribute, _ExprSource(F("display_name"), nullable=False))
        if schema_id == CORE_USER and name == "active":
            source = _ExprSource(F("active"), nullable=False, empty_is_absent=False)
            return _Scalar(label, attribute, source)
        if schema_id == CORE_USER and name == "groups":
            return _Membership(label, attribute, "user")
        if schema_id == CORE_GROUP and name == "members":
            return _Membership(label, attribute, "group")
        parent = F("data") if schema_id in (CORE_USER, CORE_GROUP) else self._extension(schema_id)
        if resolved.custom:
            return _Scalar(label, attribute, _JsonSource(parent, attribute.name), untyped=True)
        if attribute.multi_valued:
            return _JsonArray(label, attribute, KeyTransform(name, parent))
        if attribute.type == "complex":
            return _Object(label, attribute, KeyTransform(name, parent))
        return _Scalar(label, attribute, _JsonSource(parent, name))

    def _sub_of(self, target: _Target, sub_name: str, label: str) -> _Target:
        if target.attribute.name == "meta":
            sub = target.attribute.sub(sub_name)
            if sub is None or sub.name in ("location", "version"):
                raise (
                    self._unfilterable(label, _COMPUTED_WHY)
                    if sub is not None
                    else self.error(f"meta has no sub-attribute {sub_name!r} (in {label!r})")
                )
            if sub.name == "resourceType":
                return _Scalar(label, sub, _ConstantSource(self.resource_type))
            column = "created" if sub.name == "created" else "last_modified"
            return _Scalar(
                label, sub, _ExprSource(F(column), nullable=False, empty_is_absent=False)
            )
        return self._sub_target(target, sub_name, label)


class _ObjectScope(_Scope):
    """Names inside ``name[...]``: sub-attributes of one JSON object."""

    def __init__(self, owner: _Object, error: type[ScimError]):
        super().__init__(error)
        self.owner = owner

    def resolve(self, path: AttrPath) -> _Target:
        _check_inner_path(path, self.owner.label, self.error)
        return self._sub_target(self.owner, path.attr, f"{self.owner.label}.{path.attr}")


class _ElementScope(_Scope):
    """Names inside ``emails[...]``: sub-attributes of the current array element."""

    def __init__(self, owner: _JsonArray, error: type[ScimError]):
        super().__init__(error)
        self.owner = owner

    def resolve(self, path: AttrPath) -> _Target:
        _check_inner_path(path, self.owner.label, self.error)
        label = f"{self.owner.label}.{path.attr}"
        sub = self.owner.attribute.sub(path.attr)
        if sub is None:
            self._sub_target(self.owner, path.attr, label)  # raises, naming the choices
        return _Scalar(label, sub, _JsonSource(_Element(), sub.name))


class _MembershipScope(_Scope):
    """Names inside ``groups[...]``/``members[...]``: columns of a :class:`ScimGroupMember`."""

    def __init__(self, owner: _Membership, error: type[ScimError]):
        super().__init__(error)
        self.owner = owner

    def resolve(self, path: AttrPath) -> _Target:
        _check_inner_path(path, self.owner.label, self.error)
        label = f"{self.owner.label}.{path.attr}"
        sub = self.owner.attribute.sub(path.attr)
        if sub is None:
            self._sub_target(self.owner, path.attr, label)  # raises, naming the choices
        if sub.name == "$ref":
            raise self._unfilterable(label, _COMPUTED_WHY)
        user_side = self.owner.owner_field == "user"
        if sub.name == "value":
            columns = (
                (("group_id", False),)
                if user_side
                else (("user_id", True), ("member_group_id", True))
            )
            return _Scalar(label, sub, _UuidSource(columns))
        if sub.name == "display":
            if user_side:
                return _Scalar(label, sub, _ExprSource(F("group__display_name"), nullable=False))
            display = Coalesce(F("user__display_name"), F("member_group__display_name"))
            return _Scalar(label, sub, _ExprSource(display, nullable=True))
        # type: every stored membership of a user is direct; a member is a User or a Group.
        if user_side:
            return _Scalar(label, sub, _ConstantSource("direct"))
        kind = Case(
            When(user__isnull=False, then=Value("User")),
            default=Value("Group"),
            output_field=TextField(),
        )
        return _Scalar(label, sub, _ExprSource(kind, nullable=False))


def _check_inner_path(path: AttrPath, owner: str, error: type[ScimError]) -> None:
    if path.uri is not None or path.sub_attr is not None:
        raise error(
            f"inside {owner}[...] only sub-attributes of {owner} can be named, not {str(path)!r}"
        )
