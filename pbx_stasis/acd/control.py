"""Call control of a connected call (agent page, API): hold, mute, hangup, DTMF, blind and
attended transfers, and handing the caller over once the core let the call go."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from typing import Protocol

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.actions import Offer
from pbx_stasis.acd.directory import AgentRecord, queue_key
from pbx_stasis.acd.model import QueueConfig, personal_queue
from pbx_stasis.acd.publisher import AcdPublisher
from pbx_stasis.acd.shared import Calls, Hangups, MaskedCallerId, not_masked
from pbx_stasis.acd.stay import (
    CallControlError,
    Consult,
    Leg,
    Waiting,
)
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.calls.actor import ChannelGone
from pbx_stasis.calls.handoff import Outcome, OutsideLine
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.dialing.caller_ids import Presented, caller_id_header

# The legs of consulted agents who took a call over answer no offer of the core: they get
# negative ids, apart from the core's offers.
_CONSULT_LEG_IDS = itertools.count(1)


class QueueLookup(Protocol):
    """Which queues exist (the core's `queue`)."""

    def queue(self, name: str) -> QueueConfig | None: ...


class CallControl:
    """Requests on a call an agent talks on; the core is told what changed (held, transferred)."""

    def __init__(
        self,
        *,
        ari: AriClient,
        router: CallRouter,
        app: str,
        line: OutsideLine | None,
        post: Callable[[ev.AcdInput], None],
        calls: Calls,
        agents: dict[str, AgentRecord],
        queues: QueueLookup,
        publisher: AcdPublisher,
        hangups: Hangups,
        legs: dict[int, Leg] | None = None,
    ) -> None:
        self.ari = ari
        self.legs = legs if legs is not None else {}  # the agent legs by offer id (legs.py)
        self.router = router
        self.app = app
        self.line = line
        self.post = post
        self.calls = calls
        self.agents = agents
        self.queues = queues  # the core, to know which queues exist
        self.publisher = publisher
        self.hangups = hangups
        self.masked_caller_id: MaskedCallerId = not_masked  # set by AcdService.mask_callers

    async def hold(self, call_id: str) -> None:
        """The caller hears music on hold, alone; the agent stays on the line (silence)."""
        waiting = self.calls.talking(call_id)
        if waiting.held:
            return
        waiting.held = True
        await self.ari.bridges.remove_channel(waiting.bridge_id, waiting.call.channel_id)
        await self.ari.channels.start_moh(waiting.call.channel_id, waiting.moh_class)
        self.post(ev.CallHeld(call_id))
        self.publisher.call_changed(waiting, "held")

    async def unhold(self, call_id: str) -> None:
        waiting = self.calls.talking(call_id)
        if not waiting.held:
            return
        await self._back_to_bridge(waiting)
        self.post(ev.CallResumed(call_id))
        self.publisher.call_changed(waiting, "talking")

    async def _back_to_bridge(self, waiting: Waiting) -> None:
        waiting.held = False
        with contextlib.suppress(AriError):
            await self.ari.channels.stop_moh(waiting.call.channel_id)
        await self.ari.bridges.add_channel(waiting.bridge_id, waiting.call.channel_id)

    async def mute(self, call_id: str, muted: bool) -> None:
        """Mute the agent towards the caller (the agent still hears the caller)."""
        waiting = self.calls.talking(call_id)
        assert waiting.agent_leg is not None
        channel = waiting.agent_leg.channel_id
        if muted:
            await self.ari.channels.mute(channel, "in")
        else:
            await self.ari.channels.unmute(channel, "in")
        waiting.muted = muted
        await waiting.call.note("MUTE" if muted else "UNMUTE")
        self.publisher.call_changed(waiting, "held" if waiting.held else "talking")

    async def hangup(self, call_id: str) -> None:
        """The agent's hangup button: their leg leaves (COMPLETEAGENT), or the caller is
        released when no agent has the call yet."""
        waiting = self.calls.live(call_id)
        if waiting.agent_leg is not None:
            await self.hangups.hangup(waiting.agent_leg.channel_id)
            return
        waiting.call.inbox.hangup.ours("app")
        await self.hangups.hangup(waiting.call.channel_id)

    async def send_dtmf(self, call_id: str, digits: str) -> None:
        waiting = self.calls.talking(call_id)
        await self.ari.channels.send_dtmf(waiting.call.channel_id, digits)

    async def transfer(self, call_id: str, kind: str, target: str, *, attended: bool) -> None:
        """Blind: the agent leaves at once. Attended: the caller holds while the agent
        consults the target; complete_transfer / cancel_transfer end the consultation."""
        waiting = self.calls.talking(call_id)
        if kind == "number":
            target = await self._outside_number(waiting, target)
        if attended:
            await self._consult(waiting, kind, target)
            return
        if kind == "number":
            waiting.transfer_to = target
            self.post(ev.CallTransferred(call_id, f"number:{target}"))
        else:
            key = await self._transfer_queue(waiting, kind, target)
            if waiting.held:
                await self._back_to_bridge(waiting)
            self.post(ev.TransferToQueue(call_id, key))

    async def _outside_number(self, waiting: Waiting, number: str) -> str:
        """What to dial for a transfer to `number`, if the tenant's dialling policy allows it
        (checked again when the caller is handed over: the trunk checks every number)."""
        if self.line is None:
            raise CallControlError("conflict", "no trunk to dial out")
        verdict = await self.line.permit(waiting.tenant_id, number, None,
                                         call_id=waiting.call.record.id)
        if not verdict.allowed or verdict.number is None:
            raise CallControlError("forbidden", verdict.message)
        return verdict.number

    async def _transfer_queue(self, waiting: Waiting, kind: str, target: str) -> str:
        if kind == "queue":
            key = queue_key(waiting.tenant_id, target)
            if self.queues.queue(key) is None:
                raise CallControlError("not-found", f"no queue {target!r}")
            return key
        agent = self.agents.get(target)
        if agent is None or agent.tenant_id != waiting.tenant_id:
            raise CallControlError("not-found", f"no agent {target!r}")
        return await self.personal_queue(agent)

    async def personal_queue(self, agent: AgentRecord) -> str:
        """A queue of one agent: offers to a named agent stay inside the core (journaled,
        race-free, and the caller waits with music when that agent is busy)."""
        key = queue_key(agent.tenant_id, personal_queue(agent.username))
        if self.queues.queue(key) is None:
            self.post(ev.QueueConfigChanged(QueueConfig(name=key, max_wait=60.0,
                                                        autopause_after=None)))
            self.post(ev.AgentLogin(agent.agent_id, [key]))
            await asyncio.sleep(0)
        return key

    async def _consult(self, waiting: Waiting, kind: str, target: str) -> None:
        if waiting.consult is not None:
            raise CallControlError("conflict", "a consultation is already in progress")
        if kind == "number" and self.line is not None:  # `target`: as the policy allowed it
            endpoint = self.line.dial_string(target)
        elif kind == "agent" and target in self.agents:
            endpoint = f"PJSIP/{self.agents[target].endpoint}"
        else:
            raise CallControlError("conflict", "attended transfers go to an agent or a number")
        record = waiting.call.record
        caller_id = caller_id_header(record.from_number)
        if kind == "number" and self.line is not None:
            caller_id = caller_id_header((await self._presented(waiting)).number
                                         or record.from_number)
        elif kind == "agent":
            caller_id = self.masked_caller_id(self.agents[target].user_id, record.from_number,
                                              record.to_number, None) or caller_id
        await self.hold(waiting.call.record.id)
        channel_id = f"{waiting.call.record.id}-c{time.monotonic_ns()}"
        consult = Consult(channel_id, f"{kind}:{target}", self.router.claim(channel_id))
        waiting.consult = consult
        try:
            await self.ari.channels.originate(
                endpoint, app=self.app, app_args=["consult", waiting.call.record.id],
                channel_id=channel_id, dial_timeout=30, caller_id=caller_id,
            )
        except AriError as exc:
            waiting.consult = None
            self.router.release(channel_id)
            await self.unhold(waiting.call.record.id)
            raise CallControlError("conflict", f"cannot dial {target}: {exc.message}") from exc
        await waiting.call.note("CONSULT", target=consult.target)
        self.publisher.call_changed(waiting, "consulting")
        self.hangups.spawn(self._follow_consult(waiting, consult))

    async def _follow_consult(self, waiting: Waiting, consult: Consult) -> None:
        try:
            await consult.inbox.wait_for({"StasisStart"})
            consult.answered.set()
            await self.ari.bridges.add_channel(waiting.bridge_id, consult.channel_id)
            await consult.inbox.wait_for(lambda _: False)
        except (ChannelGone, AriError):
            pass
        finally:
            self.router.release(consult.channel_id)
            if waiting.consult is consult:  # the target left before the transfer completed
                waiting.consult = None
                self.publisher.call_changed(waiting, "held")
            elif waiting.handover is consult:  # the call was theirs: it ends with them
                waiting.call.inbox.hangup.ours("agent" if consult.target.startswith("agent:")
                                               else "app")
                await self.hangups.hangup(waiting.call.channel_id)
            elif consult.leg is not None:  # an agent who took the call over hung up
                self.legs.pop(consult.leg.offer.offer_id, None)
                if not consult.leg.dropped:
                    self.post(ev.AgentHungUp(waiting.call.record.id, consult.leg.offer.agent_id))

    async def complete_transfer(self, call_id: str) -> None:
        waiting = self.calls.talking(call_id)
        consult = waiting.consult
        if consult is None or not consult.answered.is_set():
            raise CallControlError("conflict", "no answered consultation to hand the call to")
        kind, _, target = consult.target.partition(":")
        agent = self.agents.get(target) if kind == "agent" else None
        if agent is not None:
            await self._taken_over(waiting, consult, agent)
            return
        waiting.consult, waiting.handover = None, consult
        self.post(ev.CallTransferred(call_id, consult.target, attended=True))

    async def _taken_over(self, waiting: Waiting, consult: Consult, agent: AgentRecord) -> None:
        """The consulted agent takes the call over: the caller is back in the bridge with them,
        their leg is the call's agent leg from now on, and the core makes it their part (its
        own CONNECT, its end, their wrap-up), the first agent's part ending (TRANSFER)."""
        key = await self.personal_queue(agent)
        leg_id = -next(_CONSULT_LEG_IDS)
        offer = Offer(leg_id, waiting.call.record.id, agent.agent_id, f"PJSIP/{agent.endpoint}",
                      waiting.call.record.from_number, key, 0.0)
        consult.leg = Leg(offer, consult.channel_id, consult.inbox, answered=True,
                          in_bridge=True)
        self.legs[leg_id] = consult.leg
        waiting.consult = None
        await self._back_to_bridge(waiting)
        await waiting.call.note("TRANSFERRED", target=consult.target, attended=True)
        self.post(ev.ConsultTaken(waiting.call.record.id, agent.agent_id, key, leg_id))

    async def cancel_transfer(self, call_id: str) -> None:
        waiting = self.calls.talking(call_id)
        consult = waiting.consult
        if consult is None:
            raise CallControlError("conflict", "no consultation in progress")
        waiting.consult = None
        await self.hangups.hangup(consult.channel_id)
        await self.unhold(call_id)

    async def hand_over(self, waiting: Waiting, outcome: Outcome) -> Outcome:
        """The core let the call go by a transfer: connect the caller to its target."""
        call = waiting.call
        if waiting.handover is not None:  # attended: the target already talks in our bridge
            await self._back_to_bridge(waiting)
            await call.note("TRANSFERRED", target=waiting.handover.target, attended=True)
            try:
                with contextlib.suppress(ChannelGone):
                    await call.inbox.wait_for(lambda _: False)
            finally:  # the caller left: so does the party they were handed to
                await self.hangups.hangup(waiting.handover.channel_id)
            return outcome
        if waiting.transfer_to is not None and self.line is not None:
            with contextlib.suppress(AriError):
                await self.ari.bridges.remove_channel(waiting.bridge_id, call.channel_id)
            with contextlib.suppress(AriError):
                await self.ari.channels.stop_moh(call.channel_id)
            await call.note("TRANSFERRED", target=f"number:{waiting.transfer_to}")
            return await self.line.connect_number(call, waiting.transfer_to,
                                                  caller_id=await self._presented(waiting))
        return outcome

    async def _presented(self, waiting: Waiting) -> Presented:
        """The caller ID a caller handed to an outside number presents: their queue's caller ID
        (dialing/caller_ids.py), else their own number."""
        assert self.line is not None
        queue = self.queues.queue(queue_key(waiting.tenant_id, waiting.queue))
        return await self.line.presented_for_transfer(
            waiting.tenant_id, queue_caller_id=queue.caller_id if queue is not None else None,
            caller=waiting.call.record.from_number)
