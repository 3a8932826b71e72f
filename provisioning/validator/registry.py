"""The checks a run can make, in the order they run. A check is a function of the run's
:class:`~provisioning.validator.context.RunContext` that returns a message when its rule holds
and raises :class:`~provisioning.validator.context.CheckFailedError` (naming the deciding
exchange) when it does not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from provisioning.validator.context import RunContext

DEFAULT = "default"
FLAG2020 = "aadOptscim062020"


@dataclass(frozen=True)
class CheckSpec:
    name: str
    category: str
    func: Callable[[RunContext], str]
    # True / False, or the dialect ("default" / "aadOptscim062020") in which the check is
    # mandatory: Entra sends that shape only in that dialect, so in the other it is optional.
    mandatory: bool | str = True
    groups: bool = False  # needs group support; skipped when the run has groups off
    beyond_gallery: bool = False
    lifecycle: bool = False  # runs through the emulated directory and the engine
    summary: str = ""

    def is_mandatory(self, *, flag2020: bool) -> bool:
        if isinstance(self.mandatory, bool):
            return self.mandatory
        return (self.mandatory == FLAG2020) == flag2020


CHECKS: list[CheckSpec] = []


def check(
    name: str,
    *,
    category: str,
    mandatory: bool | str = True,
    groups: bool = False,
    beyond_gallery: bool = False,
    lifecycle: bool = False,
) -> Callable[[Callable[[RunContext], str]], Callable[[RunContext], str]]:
    def register(func: Callable[[RunContext], str]) -> Callable[[RunContext], str]:
        CHECKS.append(
            CheckSpec(
                name=name,
                category=category,
                func=func,
                mandatory=mandatory,
                groups=groups,
                beyond_gallery=beyond_gallery,
                lifecycle=lifecycle,
                summary=(func.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
            )
        )
        return func

    return register
