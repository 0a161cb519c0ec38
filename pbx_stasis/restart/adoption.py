"""Calls the app finds in Asterisk at every (re)connect, that no task of this process handles:
the app restarted (or its ARI socket dropped) under them.

- Supervision legs from before are hung up first (they would look like conversations).
- A caller talking with an agent is left to finish: the agent is kept out of the queues
  meanwhile, and the call is closed for both sides when either hangs up.
- A caller waiting in a queue goes back to their place: the queue and the entry time are in
  the name of their queue bridge.
- A call that entered Stasis while the app was away (its StasisStart went to a dead or silent
  socket: it has no record, and the dialplan's arguments say it came in or went out) is a new
  call: it runs its number's script as if the StasisStart had just arrived.
- Anything else (an agent or consultation leg left ringing) is hung up; queue bridges nobody
  waits in are destroyed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from pbx_stasis.acd.directory import AgentRecord
from pbx_stasis.acd.runner import QUEUE_BRIDGE, AcdService, queue_bridge_prefix
from pbx_stasis.ari import AriClient, AriError, Bridge, Channel
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.handoff import QueueRequest
from pbx_stasis.calls.inbound import Call, CallScript, run_call
from pbx_stasis.calls.records import CallLog
from pbx_stasis.calls.resync import resync
from pbx_stasis.calls.router import CallHandler, CallRouter
from pbx_stasis.recording.recorder import CallRecorder
from pbx_stasis.store import CallRecord
from pbx_stasis.supervision import Supervision

log = logging.getLogger(__name__)

ADOPTED_PAUSE = "call in progress"


class Adoption:
    """Takes over, at each (re)connect, the calls the app left in Asterisk."""

    def __init__(
        self,
        ari: AriClient,
        app: str,
        router: CallRouter,
        calls: CallLog,
        acd: AcdService,
        supervision: Supervision,
        recorder: CallRecorder,
        *,
        agent_of: Callable[[AriEvent], AgentRecord | None],
        default: Callable[[], tuple[int, CallScript]],
        new_call: CallHandler,
    ) -> None:
        self.ari = ari
        self.app = app
        self.router = router
        self.calls = calls
        self.acd = acd
        self.supervision = supervision
        self.recorder = recorder
        self._agent_of = agent_of
        self._default = default  # the default tenant and its script, once the app started
        self._new_call = new_call  # what a StasisStart starts: the app's normal call
        self._bridges: list[Bridge] = []  # as they were at the last (re)connect

    async def on_connect(self) -> None:
        # Supervision legs from before a restart would otherwise be adopted as conversations.
        await self.supervision.clear_leftovers()
        self._bridges = await self.ari.bridges.list()  # once for every channel adopted below
        await resync(self.ari, self.app, self.router, self.calls, self._adopt)
        # Queue bridges nobody waits in: callers who heard ringing (adopted above from the
        # list), or calls that ended while the app was away.
        for bridge in self._bridges:
            if (bridge["id"].startswith(QUEUE_BRIDGE) and not bridge["channels"]
                    and not self.acd.owns_bridge(bridge["id"])):
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge["id"])
        await self.acd.on_connect()

    def _adopt(self, channel: Channel, record: CallRecord | None) -> None:
        """A channel in Stasis that no task handles: the app restarted under it."""
        args = stasis_args_of(channel, self.app)
        start: AriEvent = {"type": "StasisStart", "channel": dict(channel), "args": args}

        async def handle(inbox: EventInbox, start: AriEvent) -> None:
            partners = await self._partners(channel["id"])
            if partners:
                await self._let_conversation_finish(inbox, start, record, partners)
                return
            if record is None and args[:1] in (["inbound"], ["outbound"]):
                # Entered Stasis from the dialplan while the app was away: nothing was done
                # with it yet, so it starts now, as its lost StasisStart would have started it.
                log.info("channel %s entered Stasis while the app was away: starting its call",
                         channel["id"])
                await self._new_call(inbox, start)
                return
            if record is None:  # an agent or consultation leg left ringing: nothing to resume
                with contextlib.suppress(AriError):
                    await self.ari.channels.hangup(channel["id"])
                return
            tenant_id, script = self._default()
            waiting = self._queue_stay(record.id)
            if waiting is not None:
                script = self._back_in_queue(waiting)
            await run_call(self.ari, self.calls, inbox, start, tenant_id=tenant_id,
                           script=script, record=record, adopted=True)

        self.router.start_call(start, handle)

    async def _partners(self, channel_id: str) -> list[str]:
        """The other channels bridged with this one; queue bridges where it waits alone are
        destroyed (a new stay gets a new bridge)."""
        partners: list[str] = []
        for bridge in self._bridges:
            if channel_id not in bridge["channels"]:
                continue
            others = [c for c in bridge["channels"] if c != channel_id]
            if others:
                partners += others
            else:
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge["id"])
        return partners

    async def _let_conversation_finish(self, inbox: EventInbox, start: AriEvent,
                                       record: CallRecord | None, partners: list[str]) -> None:
        """A caller and an agent were talking when the app stopped: let them, then end the
        call for both sides. The agent is kept out of the queues meanwhile."""
        agent = self._agent_of(start)
        if agent is not None:
            self.acd.pause(agent.agent_id, ADOPTED_PAUSE)
        try:
            with contextlib.suppress(ChannelGone):
                await inbox.wait_for(lambda _: False)
        finally:
            for partner in partners:
                with contextlib.suppress(AriError):
                    await self.ari.channels.hangup(partner)
            if agent is not None:
                self.acd.unpause(agent.agent_id)
            if record is not None:
                await self.calls.close(record, cause=inbox.hangup.cause,
                                       cause_text=inbox.hangup.cause_text,
                                       hung_up_by="unknown", data={"adopted": True})
                stay = [b["id"] for b in self._bridges
                        if b["id"].startswith(queue_bridge_prefix(record.id))]
                await self.recorder.file_adopted(record.tenant_id, record.id, stay)

    def _queue_stay(self, call_id: str) -> QueueRequest | None:
        """The queue a call waited in when the app stopped, from its queue bridge's name."""
        for bridge in self._bridges:
            if bridge["id"].startswith(queue_bridge_prefix(call_id)):
                return QueueRequest.from_bridge_name(str(bridge.get("name", "")))
        return None

    def _back_in_queue(self, request: QueueRequest) -> CallScript:
        async def wait_again(call: Call) -> None:
            await call.note("ADOPTED", action="queue", queue=request.queue)
            await self.acd.enqueue(call, request)

        return wait_again


def stasis_args_of(channel: Channel, app: str) -> list[str]:
    """The arguments a channel entered Stasis with, from the dialplan application it runs
    (`Stasis(pbx,inbound)`: app_data "pbx,inbound"); [] when it runs something else."""
    dialplan = channel.get("dialplan")
    if not isinstance(dialplan, dict) or str(dialplan.get("app_name", "")).lower() != "stasis":
        return []
    name, *args = str(dialplan.get("app_data", "")).split(",")
    return [arg.strip() for arg in args] if name.strip() == app else []
