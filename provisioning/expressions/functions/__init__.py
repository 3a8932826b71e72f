"""The function table: every function an expression may call, by its exact (case-sensitive) name.

Each family module lists its functions as ``SPECS``. An implementation receives the evaluator and
the evaluated arguments or, for ``lazy`` functions, the evaluator and the call node so it can
evaluate only what it needs.
"""

from __future__ import annotations

from provisioning.expressions.evaluator import FunctionSpec
from provisioning.expressions.functions import dates, generated, logic, multivalued, strings

FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in sorted(
        [*dates.SPECS, *generated.SPECS, *logic.SPECS, *multivalued.SPECS, *strings.SPECS],
        key=lambda spec: spec.name.lower(),
    )
}

FUNCTION_NAMES: tuple[str, ...] = tuple(sorted(FUNCTIONS, key=str.lower))
