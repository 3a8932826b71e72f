"""What the expression language raises.

Syntax errors are shown next to the console's "Expression input" box, evaluation errors in the
provisioning log. The last two classes are internal: ``IgnoreFlowSignal`` unwinds to
``Expression.evaluate``, and the evaluator names the function a ``ConversionError`` came from.
"""

from __future__ import annotations


class ExpressionError(Exception):
    """Base class for everything this package raises on purpose."""


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression; ``message`` is ready to show next to the input box."""

    def __init__(self, message: str, line: int, column: int, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.position = position


class ExpressionEvaluationError(ExpressionError):
    """A function failed on the values it received (recorded as a provisioning-log failure)."""

    def __init__(self, function: str | None, message: str) -> None:
        super().__init__(f"{function}: {message}" if function else message)
        self.function = function
        self.message = message


class IgnoreFlowSignal(Exception):
    """Unwinds evaluation from wherever IgnoreFlowIfNullOrEmpty fired up to ``evaluate``."""


class ConversionError(ValueError):
    """Raised by helpers; the evaluator adds the function name."""
