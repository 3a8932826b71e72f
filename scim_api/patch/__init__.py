"""The SCIM PATCH engine (RFC 7644 §3.5.2) and the canonicaliser of POST/PUT bodies, as pure code.

Nothing here touches the database: a service loads the resource document, calls
:func:`apply_patch` (or :func:`normalize_resource` for a full body), and stores what comes back.
Keeping the rules in one pure package lets the same code serve the SCIM API and the Azure AD
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

The package, by concern: ``engine`` (the entry points, the body and the operation loop),
``paths`` (paths and keys to targets, through :func:`scim_api.schema.resolve_attribute`),
``coercion`` (values against their definitions), ``apply`` (writing targets to the document),
``members`` (group member operations), ``value_filters`` (in-memory ``[filter]`` matching),
``results`` (:class:`MemberChanges`, :class:`PatchResult`) and ``common``.
"""

from scim_api.patch.engine import _Engine as _Engine  # the tests exercise its comparisons
from scim_api.patch.engine import apply_patch, normalize_resource
from scim_api.patch.results import MemberChanges, PatchResult

__all__ = ["MemberChanges", "PatchResult", "apply_patch", "normalize_resource"]
