"""Helpers of the PATCH engine tests (``test_patch_*.py``): a user's document as Azure AD
creates it, a group's, PATCH bodies applied to them under a policy, and policies with one
compatibility switch flipped."""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from scim_api.patch import apply_patch
from scim_api.policy import AZURE_AD_TOLERANT, STRICT_RFC, CompatibilityPolicy
from scim_api.schema import ENTERPRISE_USER, PATCH_OP

CUSTOM = "urn:ietf:params:scim:schemas:extension:Custom:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
MANAGER_PATH = f"{ENTERPRISE_USER}:manager"


def body(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user_doc() -> dict:
    """A provisioned user as Azure AD creates it (see the POST example in the reference)."""
    return {
        "userName": "alice@contoso.com",
        "externalId": "0a21f0f2",
        "active": True,
        "displayName": "Alice",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [{"value": "alice@contoso.com", "type": "work", "primary": True}],
        ENTERPRISE_USER: {"department": "Sales"},
    }


def patch_user(doc: dict, *operations: dict, policy: CompatibilityPolicy = AZURE_AD_TOLERANT):
    return apply_patch(doc, body(*operations), resource_type="User", policy=policy)


def patch_group(*operations: dict, policy: CompatibilityPolicy = AZURE_AD_TOLERANT):
    return apply_patch(
        {"displayName": "Sales", "externalId": "8aa1"},
        body(*operations),
        resource_type="Group",
        policy=policy,
    )


def strict_with(switch: str) -> CompatibilityPolicy:
    return dataclasses.replace(STRICT_RFC, **{switch: True})


def tolerant_without(switch: str) -> CompatibilityPolicy:
    return dataclasses.replace(AZURE_AD_TOLERANT, **{switch: False})


#: Any JSON value, for the property tests.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
POLICIES = st.sampled_from([AZURE_AD_TOLERANT, STRICT_RFC])
