"""sipp -trace_msg logs -> per-leg SIP timestamps, and caller legs paired with agent legs."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# sipp starts every traced message with this line followed by the local wall-clock time
_SEPARATOR = "----------------------------------------------- "
_DISPLAY = re.compile(r'^\s*"([^"]*)"')


@dataclass(frozen=True)
class Message:
    """One SIP message as sipp sent or received it (retransmissions appear again)."""

    at: float  # epoch seconds (sipp's gettimeofday, the same clock as time.time())
    sent: bool
    first_line: str
    call_id: str
    display: str  # the From display name
    cseq_method: str

    @property
    def request(self) -> str | None:
        """The method of a request, None for a response."""
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        if not self.first_line.startswith("SIP/2.0 "):
            return None
        return int(self.first_line.split(" ", 2)[1])


def read_messages(path: Path) -> Iterator[Message]:
    """The messages of one -message_file, in file order."""
    at = 0.0
    sent = False
    state = "none"  # none -> banner -> gap -> head -> body
    head: list[str] = []
    with path.open(errors="replace") as lines:
        for raw in lines:
            line = raw.rstrip("\r\n")
            if line.startswith(_SEPARATOR):
                if state == "head" and head:
                    yield _message(at, sent, head)
                at, sent, head, state = _stamp(line[len(_SEPARATOR) :]), False, [], "banner"
            elif state == "banner":
                sent = " sent " in line
                state = "gap"
            elif state == "gap":
                if line:
                    head, state = [line], "head"
            elif state == "head":
                if line:
                    head.append(line)
                else:  # end of the headers: the body does not interest us
                    yield _message(at, sent, head)
                    state = "body"
    if state == "head" and head:
        yield _message(at, sent, head)


def _stamp(text: str) -> float:
    # "2026-11-22 20:11:04.649893" in local time, like time.time() once converted
    return datetime.strptime(text.strip()[:26], "%Y-%m-%d %H:%M:%S.%f").timestamp()


def _message(at: float, sent: bool, head: Sequence[str]) -> Message:
    call_id = display = method = ""
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name in ("call-id", "i"):
            call_id = value.strip()
        elif name in ("from", "f"):
            match = _DISPLAY.match(value)
            display = match.group(1) if match else ""
        elif name == "cseq":
            method = value.split()[-1] if value.split() else ""
    return Message(at, sent, head[0], call_id, display, method)


@dataclass
class CallerLeg:
    """A sipp caller's call: its token (From display name) and when each step happened."""

    call_id: str
    token: str = ""
    invite: float | None = None
    answered: float | None = None  # Asterisk's 200 OK to the INVITE
    bye: float | None = None
    bye_ok: float | None = None
    remote_bye: bool = False  # Asterisk hung up first: the caller scenario counts it as failed


@dataclass
class AgentLeg:
    """An INVITE that reached the desk phones' sipp, and what became of it."""

    call_id: str
    token: str = ""
    invite: float | None = None
    answered: float | None = None  # the desk phone's 200 OK to the INVITE
    acked: bool = False
    cancelled: bool = False
    bye: float | None = None


def caller_legs(messages: Iterable[Message]) -> dict[str, CallerLeg]:
    legs: dict[str, CallerLeg] = {}
    for m in messages:
        leg = legs.setdefault(m.call_id, CallerLeg(m.call_id))
        request, status = m.request, m.status
        if m.sent and request == "INVITE" and leg.invite is None:
            leg.invite, leg.token = m.at, m.display
        elif not m.sent and status == 200 and m.cseq_method == "INVITE" and leg.answered is None:
            leg.answered = m.at
        elif m.sent and request == "BYE" and leg.bye is None:
            leg.bye = m.at
        elif not m.sent and status == 200 and m.cseq_method == "BYE" and leg.bye_ok is None:
            leg.bye_ok = m.at
        elif not m.sent and request == "BYE":
            leg.remote_bye = True
    return legs


def agent_legs(messages: Iterable[Message]) -> dict[str, AgentLeg]:
    legs: dict[str, AgentLeg] = {}
    for m in messages:
        leg = legs.setdefault(m.call_id, AgentLeg(m.call_id))
        request, status = m.request, m.status
        if not m.sent and request == "INVITE" and leg.invite is None:
            leg.invite, leg.token = m.at, m.display
        elif m.sent and status == 200 and m.cseq_method == "INVITE" and leg.answered is None:
            leg.answered = m.at
        elif not m.sent and request == "ACK" and leg.answered is not None:
            leg.acked = True
        elif not m.sent and request == "CANCEL":
            leg.cancelled = True
        elif not m.sent and request == "BYE" and leg.bye is None:
            leg.bye = m.at
    return legs


@dataclass
class PairedCall:
    """One offered call: the caller's leg and every agent leg that carried its token."""

    caller: CallerLeg
    agents: list[AgentLeg] = field(default_factory=list)
    bridged: float | None = None  # when the agent joined the caller (see PhaseResult)
    steps: dict[str, float | None] = field(default_factory=dict)  # ours: ARI event times

    @property
    def first_offer(self) -> float | None:
        invites = [a.invite for a in self.agents if a.invite is not None]
        return min(invites) if invites else None

    @property
    def connected(self) -> AgentLeg | None:
        """The agent leg that was answered and acknowledged (not cancelled)."""
        for leg in sorted(self.agents, key=lambda a: a.invite or math.inf):
            if leg.answered is not None and leg.acked and not leg.cancelled:
                return leg
        return None

    @property
    def completed(self) -> bool:
        """The caller talked to an agent and hung up normally (sipp's success, plus an agent)."""
        leg = self.caller
        return (
            leg.invite is not None
            and leg.answered is not None
            and leg.bye_ok is not None
            and not leg.remote_bye
            and self.connected is not None
        )

    def failure(self) -> str | None:
        """Why the call failed, or None."""
        leg = self.caller
        if leg.answered is None:
            return "Asterisk never answered the caller"
        if leg.remote_bye:
            return "hung up by Asterisk"
        if not self.agents:
            return "no agent was offered the call"
        if self.connected is None:
            return "no agent answered"
        if leg.bye_ok is None:
            return "the caller's BYE was not answered"
        return None


def pair(
    callers: Mapping[str, CallerLeg],
    agents: Mapping[str, AgentLeg],
    tokens: set[str],
) -> list[PairedCall]:
    """The calls whose token is in `tokens` (the measured ones, not the warm-up)."""
    by_token: dict[str, PairedCall] = {}
    for leg in callers.values():
        if leg.token in tokens and leg.invite is not None:
            by_token[leg.token] = PairedCall(leg)
    for agent in agents.values():
        call = by_token.get(agent.token)
        if call is not None:
            call.agents.append(agent)
    return sorted(by_token.values(), key=lambda c: c.caller.invite or 0.0)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
