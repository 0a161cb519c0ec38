"""The calls' bus events: one frozen dataclass per topic (`CallUpdated` on call:state,
`CallRinging` on call:incoming, `CallEnded` on call:ended), the LiveCall shape the pages read.
The call log's own changes (`CallStarted`, `CallAnswered`: call:state; `CallEnded`) also make
their journal line: calls/records.py writes that line and publishes the same object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pbx_stasis.bus import JOURNAL_ONLY, EventTopic
from pbx_stasis.store import Direction, NewEvent, Role


@dataclass(frozen=True, kw_only=True)
class CallView:
    """A live call as the pages show it: the fields of every call event (each topic's class
    derives from it, not from another topic's) and of GET /api/calls (acd/service.py LiveCall)."""

    call_id: str
    direction: Direction
    from_number: str
    to_number: str
    state: str  # "ivr" until the ACD takes it, then acd.service.CallState
    started_at: datetime
    answered_at: datetime | None = None  # the call's answer (by the IVR, or with the agent)
    connected_at: datetime | None = None  # the agent came on the line (their call timer)
    queue: str | None = None
    agent_user_id: int | None = None
    held: bool = False
    muted: bool = False
    callback: str | None = None  # a callback: the number the agent is about to call
    # Where the call is at, for the live calls' stage: the IVR node; a waiting call's place
    # (1: next), since when and priority; the agent whose phone rings for it.
    ivr_node: str | None = None
    position: int | None = None
    waiting_since: datetime | None = None
    priority: int | None = None
    ringing_user_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class CallUpdated(CallView):
    """The call's state changed (the ACD: ringing, talking, held, transferred...)."""


@dataclass(frozen=True, kw_only=True)
class CallRinging(CallView):
    """The ACD rings an agent for this call."""


@dataclass(frozen=True, kw_only=True)
class CallStarted(CallUpdated):
    """A new live call (journal: CALLSTART)."""

    channel_id: str = field(metadata=JOURNAL_ONLY)
    data: Mapping[str, Any] = field(default_factory=dict, metadata=JOURNAL_ONLY)

    def line(self, tenant_id: int) -> NewEvent:
        return NewEvent(
            tenant_id=tenant_id, event="CALLSTART", call_id=self.call_id,
            agent_user_id=self.agent_user_id, queue=None, at=self.started_at,
            data={"channel": self.channel_id, "from": self.from_number, "to": self.to_number,
                  "direction": str(self.direction), **self.data},
        )


@dataclass(frozen=True, kw_only=True)
class CallAnswered(CallUpdated):
    """The call was answered (journal: ANSWER, at `answered_at`)."""

    def line(self, tenant_id: int) -> NewEvent:
        return NewEvent(tenant_id=tenant_id, event="ANSWER", call_id=self.call_id,
                        agent_user_id=None, queue=None, at=self.answered_at, data={})


@dataclass(frozen=True, kw_only=True)
class CallEnded(CallView):
    """The call is over (journal: CALLEND): its hangup cause and who hung up."""

    cause: int | None
    by: str
    cause_text: str | None = field(default=None, metadata=JOURNAL_ONLY)
    ended_at: datetime = field(metadata=JOURNAL_ONLY)
    data: Mapping[str, Any] = field(default_factory=dict, metadata=JOURNAL_ONLY)

    def line(self, tenant_id: int) -> NewEvent:
        return NewEvent(
            tenant_id=tenant_id, event="CALLEND", call_id=self.call_id, agent_user_id=None,
            queue=None, at=self.ended_at,
            data={"cause": self.cause, "cause_text": self.cause_text, "by": self.by,
                  **self.data},
        )


# Everyone in the tenant may follow calls; an agent only those they ring, talk on or wrap up.
ANYONE = frozenset(Role)
CALL_STATE = EventTopic("call:state", CallUpdated, readers=ANYONE, own_key="agent_user_id")
CALL_INCOMING = EventTopic("call:incoming", CallRinging, readers=ANYONE,
                           own_key="agent_user_id")
CALL_ENDED = EventTopic("call:ended", CallEnded, readers=ANYONE, own_key="agent_user_id")

__all__ = [
    "CALL_ENDED",
    "CALL_INCOMING",
    "CALL_STATE",
    "CallAnswered",
    "CallEnded",
    "CallRinging",
    "CallStarted",
    "CallUpdated",
    "CallView",
]
