"""The parsed expression: compare, render and evaluate it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from random import Random
from typing import Any

from provisioning.expressions.errors import IgnoreFlowSignal
from provisioning.expressions.evaluator import Evaluator
from provisioning.expressions.functions import FUNCTIONS
from provisioning.expressions.nodes import Attribute, Call, Node, StringLiteral, walk
from provisioning.expressions.values import IGNORE_FLOW, redact


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed mapping expression; compare, render and evaluate it."""

    root: Node
    text: str = ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and self.root == other.root

    def __hash__(self) -> int:
        return hash(self.root)

    def to_text(self) -> str:
        """Canonical rendering: ``Func(a, , "b")``, comparisons spaced, strings re-escaped."""
        return self.root.to_text()

    def attributes(self) -> set[str]:
        """Source attribute names referenced (as written), for change detection and the UI."""
        names: set[str] = set()
        for node in walk(self.root):
            if isinstance(node, Attribute):
                names.add(node.name)
            elif isinstance(node, Call) and node.name == "Replace" and len(node.args) >= 6:
                # replacementAttributeName may name the attribute as a string constant.
                argument = node.args[5]
                if isinstance(argument, StringLiteral) and argument.value:
                    names.add(argument.value)
        return names

    def functions(self) -> set[str]:
        """Function names used, e.g. to reject SelectUniqueValue when saving a SCIM mapping."""
        return {node.name for node in walk(self.root) if isinstance(node, Call)}

    @property
    def contains_redact(self) -> bool:
        return "Redact" in self.functions()

    def evaluate(
        self,
        source: Mapping[str, Any],
        *,
        now: datetime | None = None,
        rng: Random | None = None,
    ) -> Any:
        """Evaluate against a directory object (attribute name → value, names case-insensitive).

        ``now`` pins ``Now()`` (naive means UTC); ``rng`` makes ``Guid``/``RandomString``
        reproducible (without it they use the OS CSPRNG because RandomString makes passwords).
        """
        evaluator = Evaluator(source, functions=FUNCTIONS, now=now, rng=rng)
        try:
            result = evaluator.eval(self.root)
        except IgnoreFlowSignal:
            return IGNORE_FLOW
        if self.contains_redact:
            result = redact(result)
        return result
