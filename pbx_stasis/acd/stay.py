"""A call's stay in the ACD: its lane of ARI requests, its agent legs, the talk watchers
are told about, and the errors of call control."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from pbx_stasis.acd.actions import (
    Offer,
)
from pbx_stasis.acd.directory import AgentRecord
from pbx_stasis.ari import AriError
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.events import CallView
from pbx_stasis.calls.handoff import Outcome
from pbx_stasis.calls.inbound import Call
from pbx_stasis.calls.mailbox import Mailbox

log = logging.getLogger(__name__)
C = TypeVar("C", bound=CallView)

ANNOUNCEMENT = "ann-"  # playback id prefix of position announcements
# Softphone agents must save a disposition before the next call: they are paused with this
# reason from wrap-up start until they do (wrap-up time still runs, and shows, meanwhile).
DISPOSITION_PENDING = "disposition"

QUEUE_BRIDGE = "q-"  # ids of the bridges callers wait and talk in


def queue_bridge_prefix(call_id: str) -> str:
    return f"{QUEUE_BRIDGE}{call_id}-"


class Lane:
    """Runs submitted coroutines one after another (one per call: ARI requests stay ordered)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: Mailbox[Callable[[], Awaitable[object]] | None] = Mailbox()
        self._task = asyncio.create_task(self._work(), name=f"lane-{name}")

    def submit(self, job: Callable[[], Awaitable[object]]) -> None:
        self._jobs.put_nowait(job)

    async def close(self) -> None:
        self._jobs.put_nowait(None)
        await self._task

    async def _work(self) -> None:
        while (job := await self._jobs.get()) is not None:
            try:
                await job()
            except AriError as exc:
                # The channel or bridge is gone: the hangup events tell the core. Not a warning
                # (under overload thousands of callers hang up before they are bridged).
                if exc.channel_gone:
                    log.debug("%s: %s", self.name, exc)
                else:
                    log.warning("%s: %s", self.name, exc)
            except Exception:
                log.exception("%s: job failed", self.name)


# --- talk watchers (supervision, recording) --------------------------------------------------


@dataclass(frozen=True)
class Talk:
    """A caller and an agent connected in the call's bridge: what supervision and recording
    need to know about a call, given to the talk watchers."""

    call_id: str
    tenant_id: int
    queue: str
    bridge_id: str
    caller_channel_id: str
    agent_channel_id: str
    agent_user_id: int | None
    from_number: str
    carried: bool = False  # carried over an app restart: it was under way before this start


class TalkWatcher(Protocol):
    """Told when a talk starts (the agent is in the bridge) and ends (the call leaves the ACD).

    Called from the ACD's tasks: must return at once (start a task for any IO)."""

    def talk_started(self, talk: Talk) -> None: ...

    def talk_ended(self, talk: Talk) -> None: ...


def tell_watchers(watchers: list[TalkWatcher], talk: Talk, *, started: bool) -> None:
    """Tell every watcher a talk started or ended; one that fails does not stop the others."""
    for watcher in watchers:
        try:
            if started:
                watcher.talk_started(talk)
            else:
                watcher.talk_ended(talk)
        except Exception:
            log.exception("talk watcher %r failed", watcher)


@dataclass
class Waiting:
    """A call the ACD owns, from enqueue to its exit from the queue."""

    call: Call
    tenant_id: int
    queue: str
    bridge_id: str
    lane: Lane
    outcome: asyncio.Future[Outcome]
    moh_class: str = "default"
    # Arrived unanswered: hears ringing (SIP 180) while the first agents ring, and is answered
    # only once an agent answers, or when an offer ends unanswered (then: music, announcements).
    ringback: bool = False
    ringing: int = 0  # agent legs ringing for this call
    agent_leg: Leg | None = None
    connected: bool = False
    connected_at: datetime | None = None  # the agent came on the line: their call timer's start
    held: bool = False
    muted: bool = False
    transfer_to: str | None = None  # blind transfer to this outside number, once out of the ACD
    consult: Consult | None = None  # attended transfer in progress
    handover: Consult | None = None  # attended transfer completed: the caller goes to this leg
    abandoned_by_app: bool = False  # the app stopped while the call was here
    voicemail: str | None = None  # a supervisor sent the waiting caller to this queue's mailbox
    talk: Talk | None = None  # set once caller and agent are bridged (for talk watchers)
    carried: bool = False  # a talk carried over a restart that the ACD serves again


@dataclass
class Leg:
    """The agent's channel for one offer."""

    offer: Offer
    channel_id: str
    inbox: EventInbox
    answered: bool = False
    dropped: bool = False  # we hung it up (cancelled, or the caller left)
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    in_bridge: bool = False  # talks in the call's bridge already (a consulted agent's leg)


@dataclass
class Consult:
    """The leg an agent consults before an attended transfer."""

    channel_id: str
    target: str
    inbox: EventInbox
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    leg: Leg | None = None  # a consulted agent who took the call over: their leg of it


class CallControlError(Exception):
    """A call control request that does not fit the call's state (code: not-found/conflict),
    or that the tenant's dialling policy refuses (forbidden)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def live_call(waiting: Waiting, state: str, agent: AgentRecord | None, kind: type[C]) -> C:
    """The web's LiveCall shape (acd/service.py) of a call in the ACD, as bus event `kind`."""
    record = waiting.call.record
    return kind(
        call_id=record.id, direction=record.direction, from_number=record.from_number,
        to_number=record.to_number, state=state, started_at=record.started_at,
        answered_at=record.answered_at, connected_at=waiting.connected_at, queue=waiting.queue,
        agent_user_id=agent.user_id if agent else None, held=waiting.held, muted=waiting.muted,
    )
