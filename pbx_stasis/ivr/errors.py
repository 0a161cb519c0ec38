"""Error types of the IVR layer: a mistake at a place in a flow file, and the errors raised."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Pos:
    """A place in a flow file; line and column count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in a flow file, printed as `file:line:column: message`. A warning (a node no
    path reaches) is shown but does not refuse the flow."""

    pos: Pos
    message: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.pos}: {'warning: ' if self.warning else ''}{self.message}"


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that refuse a flow set (not the warnings)."""
    return [problem for problem in problems if not problem.warning]


class FlowSetInvalid(Exception):
    """A set of flow files was refused; `problems` lists every mistake found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class NoFlowForDid(LookupError):
    """No flow of the set answers the dialled number."""
