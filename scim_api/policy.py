"""The compatibility policy: every deviation from strict RFC 7643/7644 that a real client needs,
as one named switch, in one place.

A tenant runs either the *Azure-AD-tolerant* policy (the default: every switch on) or the
*strict RFC* policy (every switch off). Code that bends a rule for a client asks the policy by
name — never ``if client == "azure"`` scattered around.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from elium_portal.models import Tenant


@dataclass(frozen=True)
class CompatibilityPolicy:
    #: PATCH ``op`` compared case-insensitively (Azure AD sends ``Add``/``Replace``/``Remove``).
    case_insensitive_op: bool = True
    #: ``"True"``/``"False"`` strings accepted for boolean attributes (Azure AD's default dialect).
    boolean_strings: bool = True
    #: Path-less ``replace``/``add`` values may use flat dotted and URN-qualified keys
    #: (``{"name.givenName": …, "urn:…:enterprise:2.0:User:department": …}``).
    flat_dotted_keys: bool = True
    #: A value-filter path that matches no element (``emails[type eq "work"].value``) creates the
    #: element instead of failing with ``noTarget``.
    create_on_unmatched_filter: bool = True
    #: The enterprise ``manager`` accepted as a plain string, an object or a one-element array.
    manager_as_string: bool = True
    #: ``remove`` of ``members`` with a value list removes those members (not the whole list).
    remove_members_by_value: bool = True
    #: Unknown attributes in a resource body are ignored instead of rejected.
    ignore_unknown_attributes: bool = True
    #: Unknown schema URNs in ``schemas`` are ignored (Azure AD adds an ADSCIM group URN).
    ignore_unknown_schemas: bool = True
    #: Endpoint names matched case-insensitively (``/users``) and a trailing slash accepted.
    lenient_endpoint_paths: bool = True
    #: Filter values without quotes (``externalId eq jyoung``) accepted as strings.
    unquoted_filter_values: bool = True
    #: Unknown query parameters (``?aadOptscim062020``) ignored.
    ignore_unknown_query_parameters: bool = True

    @classmethod
    def switches(cls) -> list[str]:
        return [f.name for f in fields(cls)]


AZURE_AD_TOLERANT = CompatibilityPolicy()
STRICT_RFC = CompatibilityPolicy(**{name: False for name in CompatibilityPolicy.switches()})

POLICIES = {
    Tenant.ScimCompatibility.AZURE_AD: AZURE_AD_TOLERANT,
    Tenant.ScimCompatibility.STRICT: STRICT_RFC,
}
