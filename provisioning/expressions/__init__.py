"""The Entra ID attribute-mapping expression language.

Entra's "Expression" mapping type takes a VBA-like script such as
``Join(" ", [givenName], [surname])``. This package parses those scripts with a real grammar,
reports syntax errors with positions for the console's "Expression input" box, and evaluates them
against a directory object (a mapping of attribute name to value) with the semantics Microsoft
documents in "Reference for writing expressions for attribute mappings in Microsoft Entra ID".

Value model (the choices Entra leaves implicit):

* ``None`` is null. An absent attribute, an empty argument slot (``Switch([a], , ...)``) and an
  empty multi-valued attribute are all null. Null values are never provisioned.
* Booleans produced by functions (``CBool``, ``IsNull``, ``Not``, comparisons, ...) are the strings
  ``"True"``/``"False"``, because that is how Entra flows them to SCIM and how ``Switch`` keys are
  written in the default ``active`` mapping. Functions that consume booleans accept those strings
  (any case), Python ``bool`` and numbers (non-zero is true).
* Date functions return :class:`DateTimeValue`, a ``str`` rendered as ``M/d/yyyy h:mm:ss tt`` in UTC
  (Entra's documented output) that also carries the exact ``datetime`` for further date maths.
* ``Redact`` returns :class:`Redacted` (a ``str``); any expression that contains ``Redact`` anywhere
  yields a ``Redacted`` result so a log writer can never leak it (see :func:`redact_for_log`).
* ``IgnoreFlowIfNullOrEmpty`` makes :meth:`Expression.evaluate` return the :data:`IGNORE_FLOW`
  sentinel: the engine must drop the target attribute from the flow.
* The role functions return :class:`AppRoleAssignments`, a list of SCIM role dicts whose
  ``replace`` flag says whether the engine must PATCH ``replace`` (assertive) or ``add``.

Layout, each module importing only the ones listed after it (stdlib and lark besides):
:mod:`.parser` (grammar, syntax errors) → :mod:`.expression` (the parsed expression) →
:mod:`.functions` (the function table, one module per family) → :mod:`.evaluator` →
:mod:`.datetimes` (.NET dates) → :mod:`.values` (the value model) / :mod:`.nodes` (syntax tree) →
:mod:`.errors`. Nothing here knows Django or the rest of ``provisioning``.
"""

from provisioning.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
)
from provisioning.expressions.expression import Expression
from provisioning.expressions.functions import FUNCTION_NAMES
from provisioning.expressions.parser import (
    MAX_EXPRESSION_LENGTH,
    PARSE_SUCCESS_MESSAGE,
    parse_expression,
    validate_expression,
)
from provisioning.expressions.values import (
    IGNORE_FLOW,
    AppRoleAssignments,
    DateTimeValue,
    Redacted,
    redact_for_log,
)

__all__ = [
    "IGNORE_FLOW",
    "MAX_EXPRESSION_LENGTH",
    "PARSE_SUCCESS_MESSAGE",
    "AppRoleAssignments",
    "DateTimeValue",
    "Expression",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "FUNCTION_NAMES",
    "Redacted",
    "parse_expression",
    "redact_for_log",
    "validate_expression",
]
