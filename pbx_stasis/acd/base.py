"""The state every part of the ACD service shares (the core, the calls it owns, their legs)
and the small helpers they all use: posting to the owner, settling a call, hanging up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.core import Acd
from pbx_stasis.acd.directory import AcdDirectory, AgentRecord
from pbx_stasis.acd.publisher import AcdPublisher
from pbx_stasis.acd.stats import Stats
from pbx_stasis.acd.stay import (
    CallControlError,
    Leg,
    Talk,
    TalkWatcher,
    Waiting,
    live_call,
)
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.bus import Bus
from pbx_stasis.calls.events import CALL_STATE, CallUpdated
from pbx_stasis.calls.handoff import Outcome, OutsideLine
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.store import Database

log = logging.getLogger(__name__)


class AcdBase:
    """The ACD service's state; each concern (owner, legs, call control, restore) adds to it."""

    def __init__(
        self,
        ari: AriClient,
        router: CallRouter,
        db: Database,
        bus: Bus,
        app: str,
        *,
        line: OutsideLine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ari = ari
        self.router = router
        self.line = line
        self.db = db
        self.bus = bus
        self.app = app
        self.clock = clock
        self.directory = AcdDirectory(db)
        self.core = Acd(start=clock())
        self.stats = Stats()
        self.agents: dict[str, AgentRecord] = {}
        self._by_endpoint: dict[str, str] = {}
        self._inbox: asyncio.Queue[ev.AcdInput] = asyncio.Queue()
        self._waiting: dict[str, Waiting] = {}
        self._legs: dict[int, Leg] = {}
        self._to_dial: deque[Leg] = deque()  # offers of the event being applied
        self._tasks: list[asyncio.Task[None]] = []
        self._hangups: set[asyncio.Task[None]] = set()
        self.decisions = 0
        self.talk_watchers: list[TalkWatcher] = []  # supervision, recording
        self.publisher = AcdPublisher(self)  # agent:state and queue:stats
        self.wrapup_ends: dict[str, float] = {}  # agent id -> when their wrap-up time is over
        self.agent_calls: dict[str, str] = {}  # agent id -> call ringing, talking or in wrap-up
        self._dispositioned: set[str] = set()  # calls whose agent saved the disposition

    def post(self, event: ev.AcdInput) -> None:
        """Hand an event to the owner task (never blocks, callable from any task)."""
        self._inbox.put_nowait(event)

    async def barrier(self) -> None:
        """Return once the owner has applied everything posted before this call (at once if
        the owner is not running)."""
        if not self._tasks:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(done)  # type: ignore[arg-type]
        await done

    def _settle(self, call_id: str | None, outcome: Outcome) -> None:
        waiting = self._waiting.get(call_id or "")
        if waiting is not None and not waiting.outcome.done():
            waiting.outcome.set_result(outcome)

    def _drop(self, leg: Leg) -> None:
        if not leg.dropped:
            leg.dropped = True
            task = asyncio.create_task(self._hangup(leg.channel_id))
            self._hangups.add(task)
            task.add_done_callback(self._hangups.discard)

    async def _hangup(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(channel_id)

    def _tell_watchers(self, talk: Talk, *, started: bool) -> None:
        for watcher in self.talk_watchers:
            try:
                if started:
                    watcher.talk_started(talk)
                else:
                    watcher.talk_ended(talk)
            except Exception:
                log.exception("talk watcher %r failed", watcher)

    def live(self, call_id: str) -> Waiting:
        waiting = self._waiting.get(call_id)
        if waiting is None:
            raise CallControlError("not-found", "no such call in a queue or with an agent")
        return waiting

    def _talking(self, call_id: str) -> Waiting:
        waiting = self.live(call_id)
        if not waiting.connected or waiting.agent_leg is None:
            raise CallControlError("conflict", "the call is not connected to an agent")
        return waiting

    def _publish_call(self, waiting: Waiting, state: str) -> None:
        leg = waiting.agent_leg
        agent = self.agents.get(leg.offer.agent_id) if leg is not None else None
        self.bus.publish(CALL_STATE, waiting.tenant_id,
                         live_call(waiting, state, agent, CallUpdated))
