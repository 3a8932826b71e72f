"""The syntax tree a parsed expression is made of."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

# The bare VBA constants an expression may name (InStr's compare type); anything else bare is an
# error.
IDENTIFIERS = {"vbTextCompare", "vbBinaryCompare"}


@dataclass(frozen=True)
class Node:
    """A syntax-tree node. Positions are excluded from equality so re-parsed text compares equal."""

    position: int = field(default=0, compare=False, kw_only=True)
    line: int = field(default=1, compare=False, kw_only=True)
    column: int = field(default=1, compare=False, kw_only=True)

    def children(self) -> tuple[Node, ...]:
        return ()

    def to_text(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(frozen=True)
class Empty(Node):
    """An omitted argument, e.g. the default in ``Switch([IsSoftDeleted], , ...)``; means null."""

    def to_text(self) -> str:
        return ""


@dataclass(frozen=True)
class StringLiteral(Node):
    value: str = ""

    def to_text(self) -> str:
        return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class NumberLiteral(Node):
    value: int | Decimal = 0

    def to_text(self) -> str:
        return format(self.value, "f") if isinstance(self.value, Decimal) else str(self.value)


@dataclass(frozen=True)
class Attribute(Node):
    name: str = ""

    def to_text(self) -> str:
        return f"[{self.name}]"


@dataclass(frozen=True)
class Identifier(Node):
    """A bare VBA constant such as ``vbTextCompare`` (InStr's compare type)."""

    name: str = ""

    def to_text(self) -> str:
        return self.name


@dataclass(frozen=True)
class Comparison(Node):
    operator: str = "="
    left: Node = field(default_factory=Empty)
    right: Node = field(default_factory=Empty)

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def to_text(self) -> str:
        return f"{self.left.to_text()} {self.operator} {self.right.to_text()}"


@dataclass(frozen=True)
class Call(Node):
    name: str = ""
    args: tuple[Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return self.args

    def to_text(self) -> str:
        return f"{self.name}(" + ", ".join(arg.to_text() for arg in self.args) + ")"


def walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))
