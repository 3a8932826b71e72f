"""The SCIM schemas this server implements (RFC 7643 §4, §8.7.1), as data.

One registry drives discovery (``/Schemas``, ``/ResourceTypes``), attribute resolution for
filters, PATCH paths and ``attributes``/``excludedAttributes``, and the ``returned`` and
``mutability`` rules of serialisation. Attribute names are matched case-insensitively
(RFC 7643 §2.1); the canonical spelling is the one below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM_EXTENSION_PREFIX = "urn:ietf:params:scim:schemas:extension:"
#: How a custom extension's URN ends (lower case): it extends a User or a Group.
CUSTOM_EXTENSION_SUFFIXES = (":2.0:user", ":2.0:group")
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition with the characteristics of RFC 7643 §2.2 / §7."""

    name: str
    type: str = "string"  # string boolean decimal integer dateTime binary reference complex
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly readWrite immutable writeOnly
    returned: str = "default"  # always never default request
    uniqueness: str = "none"  # none server global
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        lowered = name.lower()
        for attr in self.sub_attributes:
            if attr.name.lower() == lowered:
                return attr
        return None

    def to_scim(self) -> dict:
        out: dict = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            out["subAttributes"] = [a.to_scim() for a in self.sub_attributes]
        return out


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    def attr(self, name: str) -> Attribute | None:
        lowered = name.lower()
        for attr in self.attributes:
            if attr.name.lower() == lowered:
                return attr
        return None

    def to_scim(self, base_url: str) -> dict:
        return {
            "schemas": [SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_scim() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.id}"},
        }


def _multi(name, *, types=(), description="", extra=(), value_type="string", ref_types=()):
    """A multi-valued complex attribute with the usual value/display/type/primary quartet."""
    subs = [
        Attribute(
            "value", type=value_type, reference_types=ref_types, description=f"The {name} value."
        ),
        Attribute("display", description="A human-readable name, primarily used for display."),
        Attribute("type", canonical_values=tuple(types), description="A label for the function."),
        Attribute("primary", type="boolean", description="The primary value of the attribute."),
        *extra,
    ]
    return Attribute(
        name, type="complex", multi_valued=True, description=description, sub_attributes=tuple(subs)
    )


_ADDRESS_SUBS = tuple(
    Attribute(n, description=d)
    for n, d in [
        ("formatted", "The full mailing address, formatted for display."),
        ("streetAddress", "The full street address component."),
        ("locality", "The city or locality component."),
        ("region", "The state or region component."),
        ("postalCode", "The zip code or postal code component."),
        ("country", "The country name component (ISO 3166-1 alpha-2)."),
        ("type", "A label indicating the address' function."),
    ]
) + (Attribute("primary", type="boolean", description="The primary mailing address."),)

_GROUP_REF = Attribute(
    "groups",
    type="complex",
    multi_valued=True,
    mutability="readOnly",
    description="Groups to which the user belongs (computed; read-only).",
    sub_attributes=(
        Attribute("value", mutability="readOnly", description="The identifier of the group."),
        Attribute(
            "$ref",
            type="reference",
            mutability="readOnly",
            reference_types=("User", "Group"),
            description="The URI of the group.",
        ),
        Attribute("display", mutability="readOnly", description="The group's displayName."),
        Attribute(
            "type",
            mutability="readOnly",
            canonical_values=("direct", "indirect"),
            description="Direct or indirect membership.",
        ),
    ),
)

USER_SCHEMA = Schema(
    id=CORE_USER,
    name="User",
    description="User Account",
    attributes=(
        Attribute(
            "userName",
            required=True,
            uniqueness="server",
            description="Unique identifier for the User, used to sign in.",
        ),
        Attribute(
            "name",
            type="complex",
            description="The components of the user's real name.",
            sub_attributes=tuple(
                Attribute(n, description=f"The {n} component of the name.")
                for n in (
                    "formatted",
                    "familyName",
                    "givenName",
                    "middleName",
                    "honorificPrefix",
                    "honorificSuffix",
                )
            ),
        ),
        Attribute("displayName", description="The name of the User, suitable for display."),
        Attribute("nickName", description="The casual way to address the user."),
        Attribute(
            "profileUrl",
            type="reference",
            reference_types=("external",),
            description="A fully qualified URL to the User's online profile.",
        ),
        Attribute("title", description="The user's title, such as 'Vice President'."),
        Attribute(
            "userType", description="The relationship between the organization and the user."
        ),
        Attribute(
            "preferredLanguage", description="The User's preferred written or spoken language."
        ),
        Attribute("locale", description="The User's default location for localisation."),
        Attribute("timezone", description="The User's time zone (IANA name)."),
        Attribute("active", type="boolean", description="The User's administrative status."),
        Attribute(
            "password",
            mutability="writeOnly",
            returned="never",
            description="The User's cleartext password (write-only; stored hashed).",
        ),
        _multi("emails", types=("work", "home", "other"), description="Email addresses."),
        _multi(
            "phoneNumbers",
            types=("work", "home", "mobile", "fax", "pager", "other"),
            description="Phone numbers.",
        ),
        _multi(
            "ims",
            types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
            description="Instant messaging addresses.",
        ),
        _multi(
            "photos",
            types=("photo", "thumbnail"),
            value_type="reference",
            ref_types=("external",),
            description="URLs of photos of the User.",
        ),
        Attribute(
            "addresses",
            type="complex",
            multi_valued=True,
            description="Physical mailing addresses.",
            sub_attributes=_ADDRESS_SUBS,
        ),
        _GROUP_REF,
        _multi("entitlements", description="Entitlements of the User."),
        _multi("roles", description="Roles of the User."),
        _multi("x509Certificates", value_type="binary", description="X.509 certificates."),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    id=ENTERPRISE_USER,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        Attribute("employeeNumber", description="Numeric or alphanumeric employee identifier."),
        Attribute("costCenter", description="Name of a cost center."),
        Attribute("organization", description="Name of an organization."),
        Attribute("division", description="Name of a division."),
        Attribute("department", description="Name of a department."),
        Attribute(
            "manager",
            type="complex",
            description="The User's manager.",
            sub_attributes=(
                Attribute("value", description="The id of the manager's User resource."),
                Attribute(
                    "$ref",
                    type="reference",
                    reference_types=("User",),
                    description="The URI of the manager's User resource.",
                ),
                Attribute(
                    "displayName",
                    mutability="readOnly",
                    description="The displayName of the manager.",
                ),
            ),
        ),
    ),
)

GROUP_SCHEMA = Schema(
    id=CORE_GROUP,
    name="Group",
    description="Group",
    attributes=(
        Attribute(
            "displayName",
            required=True,
            uniqueness="server",
            description="A human-readable name for the Group.",
        ),
        Attribute(
            "members",
            type="complex",
            multi_valued=True,
            description="A list of members of the Group.",
            sub_attributes=(
                Attribute("value", mutability="immutable", description="Identifier of the member."),
                Attribute(
                    "$ref",
                    type="reference",
                    mutability="immutable",
                    reference_types=("User", "Group"),
                    description="The URI of the member resource.",
                ),
                Attribute(
                    "display", mutability="readOnly", description="The member's display name."
                ),
                Attribute(
                    "type",
                    mutability="immutable",
                    canonical_values=("User", "Group"),
                    description="The type of the member.",
                ),
            ),
        ),
    ),
)

#: Attributes every resource has (RFC 7643 §3.1), resolved before any schema.
COMMON_ATTRIBUTES = (
    Attribute(
        "id",
        mutability="readOnly",
        returned="always",
        uniqueness="server",
        case_exact=True,
        description="Unique identifier of the resource, assigned by the service provider.",
    ),
    Attribute(
        "externalId",
        case_exact=True,
        description="Identifier of the resource as defined by the provisioning client.",
    ),
    Attribute(
        "meta",
        type="complex",
        mutability="readOnly",
        description="Resource metadata.",
        sub_attributes=(
            Attribute("resourceType", mutability="readOnly", case_exact=True),
            Attribute("created", type="dateTime", mutability="readOnly"),
            Attribute("lastModified", type="dateTime", mutability="readOnly"),
            Attribute(
                "location", type="reference", mutability="readOnly", reference_types=("uri",)
            ),
            Attribute("version", mutability="readOnly", case_exact=True),
        ),
    ),
)


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()
    description: str = ""

    def to_scim(self, base_url: str) -> dict:
        return {
            "schemas": [RESOURCE_TYPE],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": e.id, "required": False} for e in self.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/{self.name}",
            },
        }


USER_RESOURCE = ResourceType(
    "User", "/Users", USER_SCHEMA, (ENTERPRISE_USER_SCHEMA,), "User Account"
)
GROUP_RESOURCE = ResourceType("Group", "/Groups", GROUP_SCHEMA, (), "Group")
RESOURCE_TYPES = (USER_RESOURCE, GROUP_RESOURCE)
SCHEMAS = (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA)


def schema_by_id(schema_id: str) -> Schema | None:
    lowered = schema_id.lower()
    return next((s for s in SCHEMAS if s.id.lower() == lowered), None)


def is_custom_extension(urn: str) -> bool:
    """``urn:ietf:params:scim:schemas:extension:<Name>:2.0:User`` other than the enterprise one,
    the shape Azure AD uses for custom extension attributes."""
    lowered = urn.lower()
    return (
        lowered.startswith(CUSTOM_EXTENSION_PREFIX)
        and lowered != ENTERPRISE_USER.lower()
        and lowered.endswith(CUSTOM_EXTENSION_SUFFIXES)
    )


# --- attribute resolution ------------------------------------------------------------------------
#
# PATCH paths and body keys, filters and sortBy all name attributes the same ways: bare
# (``userName``), qualified by the core schema or an extension (``urn:…:enterprise:2.0:User:
# department``), through Azure AD's unqualified ``manager`` alias, or in a custom extension that
# no schema declares (``urn:ietf:params:scim:schemas:extension:<Name>:2.0:User:<attr>``). The
# rules live here once; each caller turns an :class:`UnknownAttribute` into its own SCIM error.

#: Attribute types whose values are JSON strings.
STRING_TYPES = frozenset({"string", "reference", "binary"})
#: The type given to custom-extension attributes: no schema declares them, so any JSON value.
ANY_TYPE = "any"
#: The enterprise extension's ``manager``, which Azure AD also names without its URN.
ENTERPRISE_MANAGER: Attribute = ENTERPRISE_USER_SCHEMA.attr("manager")  # type: ignore[assignment]

#: Matches a schema URN at the start of an attribute name: ``<urn>`` or ``<urn>:<rest>``.
_URN_PREFIX = re.compile(
    r"^(?P<urn>urn:ietf:params:scim:schemas:(?:core|extension):[^:]+(?::[^:]+)*?:2\.0:(?:User|Group))"
    r"(?::(?P<rest>.+))?$",
    re.IGNORECASE,
)


def resource_type_by_name(name: str) -> ResourceType:
    """``"User"`` or ``"Group"`` (any case) → its resource type; anything else is a bug."""
    for resource in RESOURCE_TYPES:
        if name.lower() == resource.name.lower():
            return resource
    raise ValueError(f"unknown resource type {name!r}; expected 'User' or 'Group'")


def is_own_custom_extension(resource: ResourceType, urn: str) -> bool:
    """A custom extension URN for this resource type (``…:<Name>:2.0:User`` for Users)."""
    return is_custom_extension(urn) and urn.lower().endswith(":2.0:" + resource.name.lower())


def extension_urn(resource: ResourceType, urn: str) -> str | None:
    """The spelling of the extension of ``resource`` that ``urn`` names, or None if it names
    none: the registry's for a declared extension, the client's for a custom one (JSON keys are
    case-sensitive, so a custom extension is stored as the client first spelled it)."""
    lowered = urn.lower()
    for extension in resource.extensions:
        if extension.id.lower() == lowered:
            return extension.id
    return urn if is_own_custom_extension(resource, urn) else None


def split_schema_urn(text: str) -> tuple[str | None, str | None]:
    """``urn:…:2.0:User:name.givenName`` → (the URN, ``name.givenName``); ``<urn>`` alone →
    (the URN, None); text that starts with no schema URN → (None, text)."""
    match = _URN_PREFIX.match(text)
    if match is None:
        return None, text
    return match.group("urn"), match.group("rest")


@dataclass(frozen=True)
class ResolvedAttribute:
    """An attribute of one resource type, found in the registry, and where it lives."""

    definition: Attribute
    #: The schema that declares it, in the registry's spelling; None for the common attributes
    #: (``id``, ``externalId``, ``meta``); a custom extension's URN as the client wrote it.
    schema_id: str | None
    #: The URN of the extension object that holds it; None for core and common attributes.
    extension: str | None = None
    #: A custom-extension attribute, which no schema declares (its type is :data:`ANY_TYPE`).
    custom: bool = False

    @property
    def name(self) -> str:
        return self.definition.name


class UnknownAttribute(LookupError):
    """No schema of the resource type declares the attribute a path names.

    ``uri`` is the schema URN the path was qualified with (None if unqualified) and ``schema``
    the schema it names (None when it names no schema of the resource type).
    """

    def __init__(self, *, name: str, uri: str | None, schema: Schema | None):
        super().__init__(name)
        self.name, self.uri, self.schema = name, uri, schema


def resolve_attribute(
    resource: ResourceType, uri: str | None, name: str, *, manager_alias: bool
) -> ResolvedAttribute:
    """The attribute ``name`` (optionally qualified by the schema URN ``uri``) of ``resource``.

    Names and URNs match case-insensitively (RFC 7643 §2.1). The common attributes resolve
    before the core schema's, unqualified or qualified by the core schema. ``manager_alias``
    lets an unqualified ``manager`` of a User name the enterprise manager, as Azure AD writes it.
    Raises :class:`UnknownAttribute`.
    """
    lowered = name.lower()
    core = resource.schema
    if uri is None or uri.lower() == core.id.lower():
        common = next((a for a in COMMON_ATTRIBUTES if a.name.lower() == lowered), None)
        if common is not None:
            return ResolvedAttribute(common, schema_id=None)
        found = core.attr(name)
        if found is not None:
            return ResolvedAttribute(found, schema_id=core.id)
        if uri is None and manager_alias and resource is USER_RESOURCE and lowered == "manager":
            return ResolvedAttribute(
                ENTERPRISE_MANAGER, schema_id=ENTERPRISE_USER, extension=ENTERPRISE_USER
            )
        raise UnknownAttribute(name=name, uri=uri, schema=core if uri is not None else None)
    for extension in resource.extensions:
        if extension.id.lower() == uri.lower():
            found = extension.attr(name)
            if found is None:
                raise UnknownAttribute(name=name, uri=uri, schema=extension)
            return ResolvedAttribute(found, schema_id=extension.id, extension=extension.id)
    if is_own_custom_extension(resource, uri):
        return ResolvedAttribute(
            Attribute(name, type=ANY_TYPE), schema_id=uri, extension=uri, custom=True
        )
    raise UnknownAttribute(name=name, uri=uri, schema=None)
