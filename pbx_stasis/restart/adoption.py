"""Calls the app finds in Asterisk at every (re)connect, that no task of this process handles:
the app restarted (or its ARI socket dropped) under them.

- Supervision legs from before are hung up first (they would look like conversations).
- A caller talking with an agent is left to finish: the talk the journal shows open (CONNECT)
  is the agent's call in the ACD again (an agent's own outside call, OUTCONNECT, too: in its
  `outside-<call id>` bridge, the far end's leg taking the caller's part; the agent is on a
  call, not paused), and when either side hangs up it completes like any other
  (COMPLETECALLER/COMPLETEAGENT, talk counted from the first CONNECT, wrap-up) and the call
  is closed for both sides. A talk the journal leaves open whose conversation is gone (it
  ended while the app was away) is completed at once. An agent's own call still dialling
  when the app stopped is ended (the agent's phone and the ringing leg hung up).
- A stop of the app (SIGTERM, an upgrade) leaves a carried-over conversation as a crash does,
  to the next start.
- A caller whose conversation ended while the app was away (the journal's talk is open, the
  agent's leg gone) is released, as when an agent hangs up.
- A caller waiting in a queue goes back to their place: the queue and the entry time are in
  the name of their queue bridge, which they wait on in (a stop or crash during the adoption
  leaves it as it was, for the next start).
- A call that entered Stasis while the app was away (its StasisStart went to a dead or silent
  socket: it has no record, and the dialplan's arguments say it came in or went out) is a new
  call: it runs its number's script as if the StasisStart had just arrived.
- A per-speaker recording's snoop is left recording: the call's recording is filed with its
  tracks when the call ends.
- Anything else (an agent or consultation leg left ringing) is hung up; queue bridges nobody
  waits in are destroyed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.directory import AgentRecord, queue_key
from pbx_stasis.acd.restore import OpenTalk
from pbx_stasis.acd.runner import QUEUE_BRIDGE, AcdService, queue_bridge_prefix
from pbx_stasis.ari import AriClient, AriError, Bridge, Channel
from pbx_stasis.ari.models import AriEvent, stasis_args_of
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.handoff import QueueRequest
from pbx_stasis.calls.inbound import Call, CallScript, run_call
from pbx_stasis.calls.records import CallLog
from pbx_stasis.calls.resync import resync
from pbx_stasis.calls.router import CallHandler, CallRouter
from pbx_stasis.recording.recorder import CallRecorder, is_track
from pbx_stasis.store import CallRecord, StoreUnavailable
from pbx_stasis.supervision import Supervision
from pbx_stasis.transfer.outside import OUTSIDE_BRIDGE

log = logging.getLogger(__name__)
JOURNAL_READ_S = 2.0  # how long a (re)connect waits for the journal's open talks


@dataclass(eq=False)  # one per conversation: told apart by identity
class _CarriedTalk:
    """A conversation carried over a restart; both its channels share it."""

    talk: OpenTalk
    over: bool = False  # its end was told to the ACD


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
        self._talks: dict[str, _CarriedTalk] = {}  # channel id -> its carried-over talk
        # Queue bridges that callers put back wait in again (their tasks may not have told
        # the ACD yet): not destroyed as empty at the end of the (re)connect.
        self._kept: set[str] = set()
        # Calls whose talk the journal left open and whose conversation ended while the app
        # was away (their agent's leg gone): a caller still there is not put back in a queue.
        self._over: set[str] = set()
        # Told when a carried-over conversation outside the ACD ended and its record was
        # closed (e.g. a masked call through a virtual number journals its end: app.py).
        self.conversation_ended: list[Callable[[CallRecord], Awaitable[None]]] = []

    async def on_connect(self) -> None:
        # Supervision legs from before a restart would otherwise be adopted as conversations.
        await self.supervision.clear_leftovers()
        self._bridges = await self.ari.bridges.list()  # once for every channel adopted below
        self._kept.clear()
        self._over.clear()
        await self._carry_over_talks()
        # Agents' endpoints and registrations before any caller is put back: a caller who
        # heard ringing is offered to a registered agent at once, not answered onto music
        # because no agent seemed reachable yet.
        await self.acd.on_connect()
        await resync(self.ari, self.app, self.router, self.calls, self._adopt)
        if not self.router.accepting:
            # The app began to stop during the resync: what it found after that has no task
            # (left for the next start), so no talk is taken for ended for want of one, and
            # no bridge is removed.
            return
        self._end_talks_gone_meanwhile()
        # Queue bridges nobody waits in or goes back to: calls that ended while the app was
        # away, or a stay's bridge its caller, answered meanwhile, was never put in.
        for bridge in self._bridges:
            if (bridge["id"].startswith(QUEUE_BRIDGE) and not bridge["channels"]
                    and bridge["id"] not in self._kept and not self.acd.owns_bridge(bridge["id"])):
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge["id"])

    async def _carry_over_talks(self) -> None:
        """Agents' state from what Asterisk and the journal say now: a talk the journal leaves
        open is the agent's call again if its conversation is still up (both legs in the
        call's queue bridge), else it ended while the app was away and is completed. Posted
        before any adopted caller waits again, so no agent on a call is offered one."""
        try:  # the call path never waits on the database (a reconnect during an outage)
            async with asyncio.timeout(JOURNAL_READ_S):
                talks = await self.acd.open_talks()
            read = True
        except (StoreUnavailable, TimeoutError) as exc:
            log.warning("open talks not read from the journal (%s): carried over from "
                        "Asterisk's bridges alone", exc or "no answer")
            talks, read = {}, False
        unjournaled: list[Bridge] = []
        for bridge in self._bridges:
            channels = list(bridge["channels"])
            outside = outside_call_of(bridge)
            if ((not bridge["id"].startswith(QUEUE_BRIDGE) and outside is None)
                    or len(channels) < 2):
                continue
            if any(self.router.inbox(channel_id) is not None for channel_id in channels):
                continue  # a task of this process has it (a reconnect, not a restart)
            if outside is not None:  # an agent's own outside call, or an IVR's transfer out
                open_talk = talks.get(outside)
                outbound = None if open_talk is None else far_end_talk(open_talk, channels)
                if outbound is not None:
                    del talks[outside]
                    self._carry(outbound, channels)
                elif open_talk is None:
                    unjournaled.append(bridge)  # an agent's call if an agent's phone is in it
                continue
            talk = talks.pop(_call_of(bridge), None)
            if talk is None:
                unjournaled.append(bridge)
            else:
                self._carry(talk, channels)
        for talk in talks.values():  # the core ignores a call it holds (a reconnect)
            self.acd.carry_over(talk, ended=True)
            self._over.add(talk.call_id)
        if unjournaled:
            await self._carry_unjournaled(unjournaled, connect_lost=read)

    def _end_talks_gone_meanwhile(self) -> None:
        """A carried-over conversation that hung up between the bridges' listing and resync
        has no task to tell the ACD its end: told here, so its agent is not left on it."""
        over = ended_meanwhile(self._talks.values(),
                               lambda channel_id: self.router.inbox(channel_id) is not None)
        for channel_id, carried in list(self._talks.items()):
            if carried in over:
                del self._talks[channel_id]
        for carried in over:
            if not carried.over:
                carried.over = True
                self.acd.post(ev.CallerHungUp(carried.talk.call_id))

    def _carry(self, talk: OpenTalk, channels: list[str]) -> None:
        carried = _CarriedTalk(talk)
        for channel_id in channels:
            self._talks[channel_id] = carried
        self.acd.carry_over(talk)

    async def _carry_unjournaled(self, bridges: list[Bridge], *, connect_lost: bool) -> None:
        """Conversations whose CONNECT the journal lost (the last burst before a crash) or
        could not give (not read in time, the database away): the talk is carried over from
        what Asterisk says (the bridge's name: queue and entry; the agent's leg, whose creation
        is when their phone began to ring: `talk_began`), so the agent is on a call meanwhile
        and the talk counts from about when it began, not from now. An agent's own outside
        call likewise, from its `outside-<call id>` bridge: the agent's phone and the far leg.
        `connect_lost`: the journal was read and has no CONNECT for them (the ACD writes it);
        not read, it may have one: none is written (a gap rather than a duplicate)."""
        channels = {channel["id"]: channel for channel in await self.ari.channels.list()}
        for bridge in bridges:
            legs = [(channel_id, self._agent_of({"channel": dict(channels[channel_id])}))
                    for channel_id in bridge["channels"] if channel_id in channels]
            agents = [(channel_id, agent) for channel_id, agent in legs if agent is not None]
            callers = [channel_id for channel_id, agent in legs if agent is None]
            if len(agents) != 1 or not callers:
                continue  # not a caller with an agent: left to finish outside the ACD
            agent_leg, agent = agents[0]
            now = time.time()
            outside = outside_call_of(bridge)
            if outside is not None:  # the agent's own call: talking since about the far
                # leg's creation (its ringing), done for no queue that Asterisk can tell
                began = talk_began(str(channels[callers[0]].get("creationtime", "")), 0.0, now)
                self._carry(OpenTalk(
                    call_id=outside, channel_id=callers[0], queue="", agent_id=agent.agent_id,
                    connected_at=began, entered_at=began, caller="", orig_position=0,
                    outbound=True), list(bridge["channels"]))
                continue
            request = QueueRequest.from_bridge_name(str(bridge.get("name", "")))
            if request is None:
                continue
            entered = request.entered_at or now
            began = talk_began(str(channels[agent_leg].get("creationtime", "")), entered, now)
            self._carry(OpenTalk(
                call_id=_call_of(bridge), channel_id=callers[0],
                queue=queue_key(agent.tenant_id, request.queue), agent_id=agent.agent_id,
                connected_at=began, entered_at=entered, caller="",
                orig_position=0, journaled=not connect_lost), list(bridge["channels"]))

    def _adopt(self, channel: Channel, record: CallRecord | None) -> None:
        """A channel in Stasis that no task handles: the app restarted under it."""
        args = stasis_args_of(channel, self.app)
        start: AriEvent = {"type": "StasisStart", "channel": dict(channel), "args": args}
        over = record is not None and record.id in self._over
        stay = (self._queue_stay(record, channel["id"])
                if record is not None and not over else None)
        if stay is not None and stay.bridge_id is not None:
            # Now, not in the task: kept from the clean-up that ends the (re)connect.
            self._kept.add(stay.bridge_id)

        async def handle(inbox: EventInbox, start: AriEvent) -> None:
            # this call's new objects (a waiting caller's queue bridge, an agent's leg) on its
            # own node, not on the node whose reconnect runs the resync
            self.ari.enter_node_of(channel["id"])
            if is_track(channel["id"]):
                # A per-speaker track's snoop: it records on until its leg goes or its call's
                # recording is filed (CallRecorder.file_adopted stops it and keeps the track).
                with contextlib.suppress(ChannelGone):
                    await inbox.wait_for(lambda _: False)
                return
            if await self._resume(inbox, start, record):
                return
            partners = await self._partners(channel["id"],
                                            keep=stay.bridge_id if stay is not None else None)
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
            if args[:1] == ["outbound"]:
                await self._end_dial(channel, record)
                return
            tenant_id, script = self._default()
            if over:
                script = _conversation_over
            elif stay is not None:
                script = self._back_in_queue(stay)
            await run_call(self.ari, self.calls, inbox, start, tenant_id=tenant_id,
                           script=script, record=record, adopted=True)

        self.router.start_call(start, handle)

    async def _end_dial(self, channel: Channel, record: CallRecord) -> None:
        """An agent's own call with no conversation to carry over: still dialling when the app
        stopped (the dial was the stopped process's), or its far end gone meanwhile. The
        agent's phone is hung up, not handed a caller's script, with the number's leg still
        ringing (the same linkedid, outside Stasis), and the call's record closed."""
        log.info("agent's outside call %s ended by the restart", record.id)
        linked = channel.get("linkedid")
        with contextlib.suppress(AriError):
            for other in await self.ari.channels.list():
                if (other["id"] != channel["id"] and linked and other.get("linkedid") == linked
                        and not stasis_args_of(other, self.app)):
                    with contextlib.suppress(AriError):
                        await self.ari.channels.hangup(other["id"])
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(channel["id"])
        await self.calls.close(record, cause=None, cause_text="dial ended by a restart",
                               hung_up_by="system", data={"adopted": True})

    async def _resume(self, inbox: EventInbox, start: AriEvent, record: CallRecord | None
                      ) -> bool:
        """A channel of a carried-over talk: the caller's call is the ACD's again (held,
        transferred, ended like any other call, its record closed with its side and cause),
        and the agent's leg is that call's agent leg. False: not one (or its caller is not
        served by the ACD: the conversation is then left to finish)."""
        channel_id = inbox.channel_id
        carried = self._talks.get(channel_id)
        if carried is None:
            return False
        talk = carried.talk
        if channel_id != talk.channel_id:  # the agent's leg (its caller's task may be first)
            if not await self.acd.follow_carried_leg(talk.call_id, talk.agent_id, inbox):
                return False
            self._talks.pop(channel_id, None)
            return True
        bridge = next((b for b in self._bridges if channel_id in b["channels"] and (
            b["id"].startswith(QUEUE_BRIDGE) or outside_call_of(b) == talk.call_id)), None)
        if talk.outbound and record is None:  # the far end's leg: the call's record is its own
            record = next((r for r in self.calls.live_now() if r.id == talk.call_id), None)
        if record is None or bridge is None or carried.over:
            return False
        self._talks.pop(channel_id, None)
        carried.over = True  # the ACD follows its end now

        async def talk_on(call: Call) -> None:
            if await self.acd.resume_talk(call, bridge["id"], talk) is None:
                # Not the ACD's (its queue or agent is gone): left to finish as it is.
                await call.inbox.wait_for(lambda _: False)

        await run_call(self.ari, self.calls, inbox, start, tenant_id=record.tenant_id,
                       script=talk_on, record=record, adopted=True)
        stay = [b["id"] for b in self._bridges if b["id"].startswith(queue_bridge_prefix(
            record.id))]
        await self.recorder.file_adopted(record.tenant_id, record.id, stay)
        return True

    async def _partners(self, channel_id: str, *, keep: str | None) -> list[str]:
        """The other channels bridged with this one; a bridge where it is alone is destroyed,
        but for `keep` (the queue bridge of the stay it goes back to)."""
        partners: list[str] = []
        for bridge in self._bridges:
            if channel_id not in bridge["channels"]:
                continue
            others = [c for c in bridge["channels"] if c != channel_id]
            if others:
                partners += others
            elif bridge["id"] != keep:
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge["id"])
        return partners

    async def _let_conversation_finish(self, inbox: EventInbox, start: AriEvent,
                                       record: CallRecord | None, partners: list[str]) -> None:
        """A caller and an agent were talking when the app stopped: let them, then end the
        call for both sides (the ACD completes the talk it carried over).

        A stop of the app cancels this wait (CancelledError goes through): the conversation
        is left as it is in Asterisk, for the next start, as a crash leaves it."""
        carried = self._talks.pop(inbox.channel_id, None)
        with contextlib.suppress(ChannelGone):
            await inbox.wait_for(lambda _: False)
        ended_here = carried is not None and not carried.over
        if carried is not None:
            carried.over = True  # the other side's hangup, which follows, is not the end
        # Who ended it: this side (its own hangup's side), else the agent, whose leg left first
        # (the caller's record is closed here); a conversation outside the ACD: not known.
        by = "unknown" if carried is None else inbox.hangup.side() if ended_here else "agent"
        for partner in partners:  # before the agent can be offered another call
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(partner)
        if ended_here and carried is not None:
            talk = carried.talk
            self.acd.post(ev.CallerHungUp(talk.call_id) if inbox.channel_id == talk.channel_id
                          else ev.AgentHungUp(talk.call_id, talk.agent_id))
        if record is not None:
            await self.calls.close(record, cause=inbox.hangup.cause,
                                   cause_text=inbox.hangup.cause_text,
                                   hung_up_by=by, data={"adopted": True})
            if carried is None:
                for told in self.conversation_ended:
                    try:
                        await told(record)
                    except Exception:  # one listener's failure is not the call's
                        log.exception("after the carried-over call %s ended", record.id)
            stay = [b["id"] for b in self._bridges
                    if b["id"].startswith(queue_bridge_prefix(record.id))]
            await self.recorder.file_adopted(record.tenant_id, record.id, stay)

    def _queue_stay(self, record: CallRecord, channel_id: str) -> QueueRequest | None:
        """The queue a call waited in when the app stopped, from its queue bridge's name, with
        that bridge to wait on in when the caller is where the ACD will look for them: in it
        if answered, outside it hearing ringing if not (the record says which). Otherwise (a
        stop between the answer and the move into it, or a crash that lost the answer's
        write) the stay gets a new bridge, as any new stay does, and this one goes."""
        for bridge in self._bridges:
            if bridge["id"].startswith(queue_bridge_prefix(record.id)):
                request = QueueRequest.from_bridge_name(str(bridge.get("name", "")))
                seated = (channel_id in bridge["channels"]) == (record.answered_at is not None)
                if request is not None and seated:
                    return replace(request, bridge_id=bridge["id"])
                return request
        return None

    def _back_in_queue(self, request: QueueRequest) -> CallScript:
        async def wait_again(call: Call) -> None:
            # The ACD journals it (ADOPTED, action queue): the same stay, no second entry.
            await self.acd.enqueue(call, request)

        return wait_again


async def _conversation_over(call: Call) -> None:
    """A caller whose agent hung up while the app was away, left alone in their queue bridge:
    the call ends as when an agent hangs up (`run_call` releases the caller), not with the
    caller back in the queue to wait for another agent after their conversation."""
    await call.note("ADOPTED", action="hangup")


def ended_meanwhile(talks: Iterable[_CarriedTalk], followed: Callable[[str], bool]
                    ) -> list[_CarriedTalk]:
    """The carried-over talks whose caller's channel (the far leg of an agent's own call) no
    task follows after the resync: it hung up meanwhile (the resync closed its record). The
    agent's leg, still in Stasis until someone hangs it up, is followed, but does not keep the
    talk on: the agent would stay on a call nobody ends (a caller who hung up as the standby
    took over left their agent on-call)."""
    over: list[_CarriedTalk] = []
    for carried in talks:
        if not followed(carried.talk.channel_id) and carried not in over:
            over.append(carried)
    return over


def talk_began(agent_leg_created: str, entered_at: float, now: float) -> float:
    """When a carried-over talk began, from its agent leg's creation (ARI `creationtime`): an
    upper bound of the talk by the agent's ringing, where `now` would lose the talk so far;
    between the caller's entry and now, and now when Asterisk's time cannot be read."""
    try:
        created = datetime.strptime(agent_leg_created, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        return now
    return min(max(created, entered_at), now)


def outside_call_of(bridge: Bridge) -> str | None:
    """The call whose bridge with a far end this is (named outside-<call id>), else None."""
    name = str(bridge.get("name", ""))
    return (name.removeprefix(OUTSIDE_BRIDGE) or None) if name.startswith(OUTSIDE_BRIDGE) else None


def far_end_talk(talk: OpenTalk, channels: Sequence[str]) -> OpenTalk | None:
    """An agent's own outside call the journal leaves open (OUTCONNECT), found in its bridge
    after a restart: carried over with the far end's leg as its caller (the call's record is
    the agent's phone, which becomes its agent leg). None when it is not one, or its
    conversation is not whole (the agent's phone and one far leg): then it ended while the app
    was away, or is not the ACD's (an IVR's transfer out has no OUTCONNECT)."""
    if not talk.outbound or len(channels) != 2 or talk.channel_id not in channels:
        return None
    [far] = [channel_id for channel_id in channels if channel_id != talk.channel_id]
    return replace(talk, channel_id=far)


def _call_of(bridge: Bridge) -> str:
    """The call a queue bridge is for (its id: q-<call id>-<stay>)."""
    return bridge["id"].removeprefix(QUEUE_BRIDGE).rsplit("-", 1)[0]
