"""Helpers of the IVR unit tests: flows from inline YAML, and a call driven event by event."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from pbx_stasis.ivr.core import (
    Action,
    CallContext,
    DtmfReceived,
    FlowJournalRow,
    Interpreter,
    IvrInput,
    Play,
    PlaybackFinished,
    StartTimer,
    TimerExpired,
)
from pbx_stasis.ivr.loader import load_flowset
from pbx_stasis.ivr.model import FlowSet

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "ivr" / "support.yaml"
DUBAI = ZoneInfo("Asia/Dubai")
FRIDAY_10AM = datetime(2026, 11, 20, 10, 0, tzinfo=DUBAI)

A = TypeVar("A")


def flows(text: str, name: str = "test.yaml") -> FlowSet:
    return load_flowset([(name, textwrap.dedent(text))])


def one_flow(nodes: str | list[str], head: str = "", prompts: str = "") -> FlowSet:
    """A flow `f` answering DID 100; `nodes` is the YAML of its nodes (first one is the entry)."""
    parts = [nodes] if isinstance(nodes, str) else nodes
    body = "".join(textwrap.dedent(part).strip("\n") + "\n" for part in parts)
    entry = body.splitlines()[0].split(":")[0].strip()
    default_prompts = """
        hello: {en: Hello.}
        menu: {en: Press 1 or 2.}
        again: {en: Sorry.}
        bye: {en: Bye.}
        account: {en: Your account number please.}
    """
    text = (
        "flows:\n  f:\n    dids: ['100']\n"
        f"    entry: {entry}\n"
        + textwrap.indent(textwrap.dedent(head), "    ")
        + "    prompts:\n"
        + textwrap.indent(textwrap.dedent(prompts or default_prompts), "      ")
        + "    nodes:\n"
        + textwrap.indent(body, "      ")
    )
    return load_flowset([("test.yaml", text)])


class Call:
    """An Interpreter with every action it returned, and shortcuts to answer it."""

    def __init__(
        self,
        flowset: FlowSet,
        did: str = "100",
        caller: str = "+15550001",
        at: datetime = FRIDAY_10AM,
    ) -> None:
        self.interp = Interpreter(flowset, CallContext(caller=caller, did=did, start=at))
        self.now = at
        self.actions: list[Action] = []

    def start(self) -> list[Action]:
        out = self.interp.start(self.now)
        self.actions.extend(out)
        return out

    def feed(self, event: IvrInput) -> list[Action]:
        out = self.interp.feed(event, self.now)
        self.actions.extend(out)
        return out

    def last(self, kind: type[A]) -> A:
        for action in reversed(self.actions):
            if isinstance(action, kind):
                return action
        raise AssertionError(f"no {kind.__name__} among {self.actions}")

    def played(self) -> list[Play]:
        return [a for a in self.actions if isinstance(a, Play)]

    def finish_play(self) -> list[Action]:
        return self.feed(PlaybackFinished(self.last(Play).playback_id))

    def press(self, keys: str) -> list[Action]:
        out: list[Action] = []
        for key in keys:
            out.extend(self.feed(DtmfReceived(key)))
        return out

    def timeout(self) -> list[Action]:
        return self.feed(TimerExpired(self.last(StartTimer).timer_id))

    def journal(self, event: str) -> list[Mapping[str, object]]:
        return [a.data for a in self.actions if isinstance(a, FlowJournalRow) and a.event == event]

    def path(self) -> list[tuple[object, object]]:
        """(node, result) of every node left, in order."""
        return [(d["node"], d["result"]) for d in self.journal("ivr.leave")]
