"""A test floor: drives the ACD core as the runner would, and keeps what it said."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any, TypeVar

from pbx_stasis.acd import (
    Acd,
    AcdInput,
    Action,
    AgentConfig,
    AgentLogin,
    AgentRegistered,
    AgentStateChanged,
    CallArrived,
    CancelOffer,
    Connect,
    DialCallback,
    JournalRow,
    Offer,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    QueueConfig,
    Tick,
)

START = 1_000_000.0  # an epoch far from midnight UTC (day 11)

A = TypeVar("A")


class Floor:
    def __init__(
        self,
        queues: Iterable[QueueConfig],
        agents: Iterable[AgentConfig | str] = (),
        *,
        seed: int = 0,
        start: float = START,
    ) -> None:
        configs = [
            a if isinstance(a, AgentConfig) else AgentConfig(a, f"PJSIP/{a}") for a in agents
        ]
        self.acd = Acd(queues, configs, rng=random.Random(seed), start=start)
        self.now = start
        self.log: list[Action] = []
        self.pending: dict[
            int, Offer
        ] = {}  # offers rung and not yet ended, as the runner sees them

    def feed(self, event: AcdInput, at: float | None = None) -> list[Action]:
        if at is not None:
            self.now = max(self.now, at)
        actions = self.acd.feed(event, self.now)
        for action in actions:
            if isinstance(action, Offer):
                self.pending[action.offer_id] = action
            elif isinstance(action, CancelOffer | Connect | DialCallback):
                self.pending.pop(action.offer_id, None)
        if isinstance(event, OfferRejected | OfferFailed):
            self.pending.pop(event.offer_id, None)
        self.log.extend(actions)
        return actions

    def advance(self, seconds: float) -> list[Action]:
        return self.feed(Tick(), self.now + seconds)

    def run_until_quiet(self, limit: float = 10_000.0) -> list[Action]:
        """Tick at every deadline until nothing is scheduled (or `limit` seconds passed)."""
        out: list[Action] = []
        end = self.now + limit
        while (deadline := self.acd.next_deadline()) is not None and deadline <= end:
            out += self.feed(Tick(), deadline)
        return out

    def ready(self, agent_id: str, *queues: str) -> list[Action]:
        return self.feed(AgentLogin(agent_id, queues)) + self.feed(AgentRegistered(agent_id))

    def arrive(self, call_id: str, queue: str, **kwargs: Any) -> list[Action]:
        return self.feed(CallArrived(call_id, queue, **kwargs))

    def offer(self, call_id: str, agent_id: str) -> Offer:
        found = [
            o for o in self.pending.values() if o.call_id == call_id and o.agent_id == agent_id
        ]
        assert found, f"no offer of {call_id} to {agent_id}; pending: {self.pending}"
        return found[-1]

    def offered_to(self, call_id: str) -> list[str]:
        return sorted(o.agent_id for o in self.pending.values() if o.call_id == call_id)

    def offered_call(self, agent_id: str) -> str | None:
        calls = [o.call_id for o in self.pending.values() if o.agent_id == agent_id]
        assert len(calls) <= 1
        return calls[0] if calls else None

    def answer(self, call_id: str, agent_id: str) -> list[Action]:
        o = self.offer(call_id, agent_id)
        return self.feed(OfferAnswered(o.offer_id, call_id, agent_id))

    def reject(self, call_id: str, agent_id: str) -> list[Action]:
        o = self.offer(call_id, agent_id)
        return self.feed(OfferRejected(o.offer_id, call_id, agent_id))

    def fail(self, call_id: str, agent_id: str) -> list[Action]:
        o = self.offer(call_id, agent_id)
        return self.feed(OfferFailed(o.offer_id, call_id, agent_id))

    def journal(self, *events: str, call_id: str | None = None) -> list[JournalRow]:
        return [
            row
            for row in self.log
            if isinstance(row, JournalRow)
            and (not events or row.event in events)
            and (call_id is None or row.call_id == call_id)
        ]

    def state(self, agent_id: str) -> str:
        view = self.acd.agent(agent_id)
        assert view is not None
        return view.state.value

    def audit(self) -> None:
        assert self.acd.audit() == []


def only(actions: Iterable[Action], kind: type[A]) -> list[A]:
    return [a for a in actions if isinstance(a, kind)]


def states(actions: Iterable[Action]) -> list[tuple[str, str]]:
    return [(a.agent_id, a.state.value) for a in only(actions, AgentStateChanged)]


def offered(actions: Iterable[Action]) -> list[tuple[str, str]]:
    """(call, agent) of each Offer, in order."""
    return [(o.call_id, o.agent_id) for o in only(actions, Offer)]
