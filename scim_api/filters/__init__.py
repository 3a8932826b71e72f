"""SCIM ``filter`` and ``sortBy`` (RFC 7644 §3.4.2.2, §3.4.2.3) compiled to Django ORM expressions.

List endpoints must filter and sort in PostgreSQL, not in Python, and a filter is untrusted text:
the django-scim2 mistake was to turn it into SQL strings with the tenant clause appended as text.
Here the text is parsed by the grammar of scim2-models (a lark LALR parser, RFC 7644 ABNF with its
errata, plus Entra's ``emails[type eq "work"].value eq "x"`` form), every attribute name is resolved
against the schema registry in :mod:`scim_api.schema` (the allow-list), and the result is a
:class:`~django.db.models.Q` built from ORM lookups. Every value is a bound parameter; JSON keys go
through :class:`KeyTransform`, which binds them too; the only SQL text written in this module is
constant.

Why scim2-models' parser but not the rest of it: its ``ScimFilter(text).ast`` and
``FilterVisitor`` are exactly what a transpiler needs, and its depth limit protects the recursive
visitors. Its attribute *resolution* is bound to its own pydantic resource models, which know
nothing of our columns, of the JSONB layout, of Azure AD's custom extension URNs or of our
schema registry, so names are resolved here instead. Its grammar has no switch for Azure AD's
unquoted values (``externalId eq jyoung``); :func:`parse_filter` quotes them before parsing when
:attr:`CompatibilityPolicy.unquoted_filter_values` allows it.

Semantics worth knowing:

* Strings compare case-insensitively (``lower()`` on both sides, PostgreSQL's notion of case)
  unless the schema says ``caseExact``. Ids are UUIDs: their text form compares without case,
  and a value that is not a UUID matches nothing.
* Every compiled condition is two-valued (true or false, never SQL ``NULL``), so ``not`` and
  ``ne`` behave: ``title ne "x"`` matches users without a title, like scim2-models' evaluator.
* On a multi-valued attribute a comparison matches when *any* value matches; ``ne`` is the
  negation of ``eq``, i.e. no value equals the operand.
* ``eq null`` means "not present" and ``ne null`` "present".
* A dateTime is compared at the precision it is written with: ``meta.lastModified eq
  "2011-05-13T04:42:34Z"`` matches the whole second, so filters built from the second-precision
  timestamps a client read back still work.

The package: ``parse`` (text to syntax tree), ``targets`` (names to where their values live,
through :func:`scim_api.schema.resolve_attribute`), ``sql`` (the SQL building blocks and value
sources), ``compiler`` (the tree to a ``Q``) and ``sort`` (``sortBy``).
"""

from scim_api.filters.compiler import check_text_value, compile_filter
from scim_api.filters.parse import MAX_FILTER_LENGTH, MAX_NESTING_DEPTH, parse_filter
from scim_api.filters.sort import compile_sort

__all__ = [
    "MAX_FILTER_LENGTH",
    "MAX_NESTING_DEPTH",
    "check_text_value",
    "compile_filter",
    "compile_sort",
    "parse_filter",
]
