"""Gallery templates: default object and attribute mappings (provisioning-ui.md part C) and the
attribute lists the Edit Attribute dialog offers."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACTIVE_EXPRESSION = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
SCIM_USER_OBJECT = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP_OBJECT = "urn:ietf:params:scim:schemas:core:2.0:Group"


AZURE_AD = "Azure Active Directory"
ENTRA_ID = "Microsoft Entra ID"


def directory_product_name() -> str:
    """ "Microsoft Entra ID" (default) or "Azure Active Directory": the name every label uses."""
    return settings.AZURE_DIRECTORY_PRODUCT_NAME


@dataclass(frozen=True)
class DefaultAttribute:
    source: str
    target: str
    mapping_type: str = "Direct"
    matching_precedence: int = 0


def _direct(source: str, target: str, precedence: int = 0) -> DefaultAttribute:
    return DefaultAttribute(source, target, "Direct", precedence)


def _expression(text: str, target: str) -> DefaultAttribute:
    return DefaultAttribute(text, target, "Expression")


SCIM_USER_DEFAULTS: tuple[DefaultAttribute, ...] = (
    _direct("userPrincipalName", "userName", 1),
    _expression(ACTIVE_EXPRESSION, "active"),
    _direct("displayName", "displayName"),
    _direct("jobTitle", "title"),
    _direct("mail", 'emails[type eq "work"].value'),
    _direct("preferredLanguage", "preferredLanguage"),
    _direct("givenName", "name.givenName"),
    _direct("surname", "name.familyName"),
    _expression('Join(" ", [givenName], [surname])', "name.formatted"),
    _direct("physicalDeliveryOfficeName", 'addresses[type eq "work"].formatted'),
    _direct("streetAddress", 'addresses[type eq "work"].streetAddress'),
    _direct("city", 'addresses[type eq "work"].locality'),
    _direct("state", 'addresses[type eq "work"].region'),
    _direct("postalCode", 'addresses[type eq "work"].postalCode'),
    _direct("country", 'addresses[type eq "work"].country'),
    _direct("telephoneNumber", 'phoneNumbers[type eq "work"].value'),
    _direct("mobile", 'phoneNumbers[type eq "mobile"].value'),
    _direct("facsimileTelephoneNumber", 'phoneNumbers[type eq "fax"].value'),
    _direct("mailNickname", "externalId"),
    _direct("employeeId", f"{ENTERPRISE}:employeeNumber"),
    _direct("department", f"{ENTERPRISE}:department"),
    _direct("manager", f"{ENTERPRISE}:manager"),
)

SCIM_GROUP_DEFAULTS: tuple[DefaultAttribute, ...] = (
    _direct("displayName", "displayName", 1),
    _direct("objectId", "externalId"),
    _direct("members", "members"),
)

# Unverified (Microsoft publishes Elium's list only as a screenshot): part C.3's proposal.
ELIUM_USER_DEFAULTS: tuple[DefaultAttribute, ...] = (
    _direct("userPrincipalName", "userName", 1),
    _expression(ACTIVE_EXPRESSION, "active"),
    _direct("mail", 'emails[type eq "work"].value'),
    _direct("givenName", "name.givenName"),
    _direct("surname", "name.familyName"),
    _direct("displayName", "displayName"),
    _direct("jobTitle", "title"),
    _direct("companyName", f"{ENTERPRISE}:organization"),
    _direct("mailNickname", "externalId"),
)


@dataclass(frozen=True)
class DefaultObjectMapping:
    object_type: str  # ObjectMapping.ObjectType value
    name_template: str  # {product} and {app} are filled in when the app is added
    target_object: str
    attributes: tuple[DefaultAttribute, ...]
    entra_name_template: str = ""  # when the Entra-era portal words it differently

    def name(self, *, app_name: str, product: str | None = None) -> str:
        """The mapping's name as the portal of the product's era shows it: the 2019 tutorial's
        "Synchronize Azure Active Directory Users to Elium", the 2025 tutorial's "Synchronize
        Microsoft Entra users to Elium"."""
        product = product or directory_product_name()
        template = self.name_template
        if product != AZURE_AD and self.entra_name_template:
            template = self.entra_name_template
        return template.format(product=product, app=app_name)

    def names(self, *, app_name: str) -> set[str]:
        """Every name this mapping had in either era (with the current product name)."""
        products = {AZURE_AD, ENTRA_ID, directory_product_name()}
        return {self.name(app_name=app_name, product=product) for product in products} | {
            self.name_template.format(product=product, app=app_name) for product in products
        }


TEMPLATE_MAPPINGS: dict[str, tuple[DefaultObjectMapping, ...]] = {
    "scim": (
        DefaultObjectMapping(
            "user", "Provision {product} Users", SCIM_USER_OBJECT, SCIM_USER_DEFAULTS
        ),
        DefaultObjectMapping(
            "group", "Provision {product} Groups", SCIM_GROUP_OBJECT, SCIM_GROUP_DEFAULTS
        ),
    ),
    "elium": (
        DefaultObjectMapping(
            "user",
            "Synchronize {product} Users to {app}",
            SCIM_USER_OBJECT,
            ELIUM_USER_DEFAULTS,
            entra_name_template="Synchronize Microsoft Entra users to {app}",
        ),
    ),
}

# What the dialog's "Source attribute" list offers (Graph names, as the portal lists them).
USER_SOURCE_ATTRIBUTES: tuple[str, ...] = (
    "accountEnabled",
    "appRoleAssignments",
    "city",
    "companyName",
    "country",
    "department",
    "displayName",
    "employeeId",
    "facsimileTelephoneNumber",
    "givenName",
    "IsSoftDeleted",
    "jobTitle",
    "mail",
    "mailNickname",
    "manager",
    "mobile",
    "objectId",
    "physicalDeliveryOfficeName",
    "postalCode",
    "preferredLanguage",
    "state",
    "streetAddress",
    "surname",
    "telephoneNumber",
    "usageLocation",
    "userPrincipalName",
    "userType",
) + tuple(f"extensionAttribute{n}" for n in range(1, 16))

GROUP_SOURCE_ATTRIBUTES: tuple[str, ...] = (
    "description",
    "displayName",
    "mail",
    "mailEnabled",
    "mailNickname",
    "members",
    "objectId",
    "securityEnabled",
)

USER_TARGET_ATTRIBUTES: tuple[str, ...] = (
    "active",
    'addresses[type eq "work"].country',
    'addresses[type eq "work"].formatted',
    'addresses[type eq "work"].locality',
    'addresses[type eq "work"].postalCode',
    'addresses[type eq "work"].region',
    'addresses[type eq "work"].streetAddress',
    'addresses[type eq "other"].formatted',
    "displayName",
    'emails[type eq "work"].value',
    'emails[type eq "other"].value',
    "externalId",
    "locale",
    "name.familyName",
    "name.formatted",
    "name.givenName",
    "name.honorificPrefix",
    "name.honorificSuffix",
    "nickName",
    'phoneNumbers[type eq "fax"].value',
    'phoneNumbers[type eq "mobile"].value',
    'phoneNumbers[type eq "work"].value',
    "preferredLanguage",
    "profileUrl",
    'roles[primary eq "True"].value',
    'roles[primary eq "True"].display',
    'roles[primary eq "True"].type',
    "timezone",
    "title",
    "userName",
    "userType",
    f"{ENTERPRISE}:costCenter",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:division",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:organization",
)

GROUP_TARGET_ATTRIBUTES: tuple[str, ...] = ("displayName", "externalId", "members")


def source_attributes_for(object_type: str) -> tuple[str, ...]:
    return USER_SOURCE_ATTRIBUTES if object_type == "user" else GROUP_SOURCE_ATTRIBUTES


def target_attributes_for(object_type: str) -> tuple[str, ...]:
    return USER_TARGET_ATTRIBUTES if object_type == "user" else GROUP_TARGET_ATTRIBUTES


def object_mapping_display_name(
    *, template: str, object_type: str, app_name: str, name: str
) -> str:
    """The name a mapping shows: a default name follows ``AZURE_DIRECTORY_PRODUCT_NAME`` (it
    was stored when the app was added, perhaps under the other product name); any other name
    is shown as it is."""
    for default in TEMPLATE_MAPPINGS.get(template, ()):
        if default.object_type == object_type and name in default.names(app_name=app_name):
            return default.name(app_name=app_name)
    return name
