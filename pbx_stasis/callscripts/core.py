"""The pure rules of call scripts: a script as an admin writes it, its variables
(`{contact.name}`, `{contact.plan}`, `{call.queue}`, `{ivr.language}`, `{ivr.<node>}`...), which
script a call gets, and the script filled for that call. No IO."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, model_validator

from pbx_stasis.validation import LINES, UNIQUE, Model, refusal, text

# {namespace.key}: a contact's field or custom field, the call's, the agent's, the IVR's.
VARIABLE = re.compile(r"\{([a-z]+)\.([A-Za-z0-9_][A-Za-z0-9_ .\-]{0,63})\}")
NAMESPACES = ("contact", "call", "agent", "ivr")
MISSING = "—"  # what a variable without a value shows (the agent sees the gap, not a brace)

Line = Annotated[str, text(max_length=2_000, pattern=LINES)]
MaybeLine = Annotated[str, text(min_length=0, max_length=2_000, pattern=LINES)]
Name = Annotated[str, text(max_length=100)]


class Objection(Model):
    """What a customer may object, and the agent's reply."""

    objection: Line
    reply: MaybeLine = ""


class ScriptBody(Model):
    """A script as an admin writes it (one version of it). It applies to the calls of its
    `queues` or whose caller went through one of its `ivr_nodes`; with neither, to every call
    that no other script claims."""

    headline: Name
    queues: Annotated[tuple[Name, ...], Field(max_length=50), UNIQUE] = ()
    ivr_nodes: Annotated[tuple[Name, ...], Field(max_length=50), UNIQUE] = ()
    opening: MaybeLine = ""
    main_points: Annotated[tuple[Line, ...], Field(max_length=30)] = ()
    objections: Annotated[tuple[Objection, ...], Field(max_length=30)] = ()
    closing: MaybeLine = ""

    @model_validator(mode="after")
    def _known_variables(self) -> ScriptBody:
        for where, value in _texts(self):
            for match in VARIABLE.finditer(value):
                if match.group(1) not in NAMESPACES:
                    raise refusal(where, value, f"{{{match.group(1)}.…}} is not a variable: "
                                  "use contact., call., agent. or ivr.")
        return self


def _texts(body: ScriptBody) -> Iterable[tuple[str, str]]:
    yield "opening", body.opening
    for index, point in enumerate(body.main_points):
        yield f"main_points.{index}", point
    for index, item in enumerate(body.objections):
        yield f"objections.{index}.objection", item.objection
        yield f"objections.{index}.reply", item.reply
    yield "closing", body.closing


def variables(body: ScriptBody) -> list[str]:
    """The variables a script uses, in order of first use ("contact.name", ...)."""
    found: list[str] = []
    for _, value in _texts(body):
        for match in VARIABLE.finditer(value):
            name = f"{match.group(1)}.{match.group(2)}"
            if name not in found:
                found.append(name)
    return found


def fill(value: str, values: Mapping[str, str]) -> str:
    return VARIABLE.sub(lambda m: values.get(f"{m.group(1)}.{m.group(2)}") or MISSING, value)


@dataclass(frozen=True)
class FilledScript:
    """A script as the agent reads it on a call; `missing`: its variables without a value."""

    name: str
    version: int
    headline: str
    opening: str
    main_points: tuple[str, ...]
    objections: tuple[tuple[str, str], ...]
    closing: str
    missing: tuple[str, ...]


def filled(name: str, version: int, body: ScriptBody, values: Mapping[str, str]) -> FilledScript:
    return FilledScript(
        name=name, version=version, headline=fill(body.headline, values),
        opening=fill(body.opening, values),
        main_points=tuple(fill(point, values) for point in body.main_points),
        objections=tuple((fill(o.objection, values), fill(o.reply, values))
                         for o in body.objections),
        closing=fill(body.closing, values),
        missing=tuple(v for v in variables(body) if not values.get(v)),
    )


@dataclass(frozen=True)
class Candidate:
    name: str
    version: int
    body: ScriptBody


def choose(scripts: Sequence[Candidate], queue: str | None,
           ivr_path: Sequence[str]) -> Candidate | None:
    """The script of a call: one naming a node of the caller's IVR path (the most specific: the
    IVR said what the call is about; the latest node wins), else one naming its queue, else a
    script that names neither; ties go to the first by name."""
    ordered = sorted(scripts, key=lambda s: s.name)
    for node in reversed(ivr_path):
        for script in ordered:
            if node in script.body.ivr_nodes:
                return script
    if queue is not None:
        for script in ordered:
            if queue in script.body.queues:
                return script
    return next((s for s in ordered if not s.body.queues and not s.body.ivr_nodes), None)


@dataclass(frozen=True)
class IvrTrail:
    """What a call's IVR journal says: its flow, language, the nodes entered in order, and the
    keys or result at each node (`ivr.<node>`)."""

    flow: str | None
    language: str | None
    path: tuple[str, ...]
    answers: Mapping[str, str]


def ivr_trail(rows: Iterable[tuple[str, Mapping[str, Any]]]) -> IvrTrail:
    """Fold a call's journal rows (event, data), oldest first, into its IVR trail."""
    flow: str | None = None
    language: str | None = None
    path: list[str] = []
    answers: dict[str, str] = {}
    for event, data in rows:
        if event == "ivr.start":
            flow = str(data.get("flow") or flow or "") or None
            language = str(data["language"]) if data.get("language") else language
        elif event == "ivr.enter" and data.get("node"):
            path.append(str(data["node"]))
        elif event == "ivr.leave" and data.get("node"):
            node = str(data["node"])
            answer = data.get("digits") or data.get("result")
            if answer is not None:
                answers[node] = str(answer)
            if data.get("kind") == "language" and data.get("result"):
                language = str(data["result"])
    return IvrTrail(flow, language, tuple(path), answers)
