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
    """One mistake in a flow file, printed as `file:line:column: message`."""

    pos: Pos
    message: str

    def __str__(self) -> str:
        return f"{self.pos}: {self.message}"


class FlowSetInvalid(Exception):
    """A set of flow files was refused; `problems` lists every mistake found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class NoFlowForDid(LookupError):
    """No flow of the set answers the dialled number."""
