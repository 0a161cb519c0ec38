"""An agent's own outside call as a call of the ACD, from the far end's answer to its end: the
far party is the call's "caller" (held on music, sent the keypad's tones, transferred), the
agent's phone its agent leg, so call control, the live calls, supervision, recording, wrap-up
and the figures treat it as they treat a queue call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.actions import Offer
from pbx_stasis.acd.callers import HandOver
from pbx_stasis.acd.directory import AgentRecord, split_queue_key
from pbx_stasis.acd.publisher import AcdPublisher
from pbx_stasis.acd.shared import Calls
from pbx_stasis.acd.stay import Lane, Leg, Talk, TalkWatcher, Waiting, tell_watchers
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.events import CALL_STATE, CallUpdated
from pbx_stasis.calls.inbound import Call
from pbx_stasis.store import utc_now

# The agent leg of an outbound call answers no offer of the core: its offer id is this.
NO_OFFER = 0


class OutboundTalks:
    """Agents' outside calls while they talk (`AcdService.outbound_talk`)."""

    def __init__(
        self,
        *,
        post: Callable[[ev.AcdInput], None],
        calls: Calls,
        publisher: AcdPublisher,
        handover: HandOver,
        talk_watchers: list[TalkWatcher],
    ) -> None:
        self.post = post
        self.calls = calls
        self.publisher = publisher
        self.handover = handover
        self.talk_watchers = talk_watchers

    def dialled(self, call: Call, agent: AgentRecord, number: str) -> None:
        """The agent's call rings `number`: journal OUTDIAL; their page shows "Calling…"."""
        self.post(ev.OutboundDialled(call.record.id, agent.agent_id, number))
        record = call.record
        self.publisher.bus.publish(CALL_STATE, record.tenant_id, CallUpdated(
            call_id=record.id, direction=record.direction, from_number=record.from_number,
            to_number=record.to_number, state="ringing", started_at=record.started_at,
            answered_at=record.answered_at, agent_user_id=agent.user_id))

    async def talk(self, call: Call, far: EventInbox, bridge_id: str,
                   agent_gone: asyncio.Task[None], agent: AgentRecord, number: str,
                   queue: str | None, *, connected: Callable[[], None]) -> str:
        """The number answered: the agent (`call`, their phone's channel) and the far end (`far`)
        talk in `bridge_id` until the ACD lets the call go; a transferred far end is handed
        over and followed to its end. `agent_gone` ends when the agent's channel does; `queue`:
        the queue key the call is done for (its wrap-up time, recording policy), or None.
        `connected` runs right after the ACD is told (the agent's pause while dialling ends
        there). Returns who ended it: "far end", "agent" or "transferred"."""
        call_id = call.record.id
        queue_name = split_queue_key(queue)[1] if queue else ""
        far_call = Call(call.ari, call.log, far, call.record, call.start)
        waiting = Waiting(
            call=far_call, tenant_id=agent.tenant_id, queue=queue_name, bridge_id=bridge_id,
            lane=Lane(f"call-{call_id}"), outcome=asyncio.get_running_loop().create_future(),
            connected=True, connected_at=utc_now(),
        )
        offer = Offer(NO_OFFER, call_id, agent.agent_id, f"PJSIP/{agent.endpoint}", number,
                      queue or "", 0.0)
        leg = Leg(offer, call.channel_id, call.inbox, answered=True)
        waiting.agent_leg = leg
        self.calls.by_id[call_id] = waiting
        self.post(ev.OutboundConnected(call_id, agent.agent_id, number, queue))
        connected()
        call.log.set_agent(call.record, agent.user_id)
        call.record = far_call.record = replace(call.record, agent_user_id=agent.user_id)
        waiting.talk = Talk(
            call_id=call_id, tenant_id=agent.tenant_id, queue=queue_name, bridge_id=bridge_id,
            caller_channel_id=far.channel_id, agent_channel_id=call.channel_id,
            agent_user_id=agent.user_id, from_number=number,
        )
        tell_watchers(self.talk_watchers, waiting.talk, started=True)
        self.publisher.call_changed(waiting, "talking")

        async def far_end() -> None:
            with contextlib.suppress(ChannelGone):
                await far.wait_for(lambda _: False)
            self.post(ev.CallerHungUp(call_id))

        async def agent_side() -> None:
            await agent_gone
            if waiting.agent_leg is leg and not leg.dropped:  # not released by the ACD
                self.post(ev.AgentHungUp(call_id, agent.agent_id))

        watch_far = asyncio.create_task(far_end(), name=f"far-{call_id}")
        watch_agent = asyncio.create_task(agent_side(), name=f"agent-{call_id}")
        by = "far end"
        try:
            outcome = await asyncio.shield(waiting.outcome)
            if outcome.reason == "transferred":
                by = "transferred"
                watch_far.cancel()  # the hand-over follows the far end from here
                with contextlib.suppress(asyncio.CancelledError):
                    await watch_far
                if not far.gone:
                    await self.handover.hand_over(waiting, outcome)
            elif watch_agent.done() and not watch_far.done():
                by = "agent"
            return by
        finally:
            for task in (watch_far, watch_agent):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            del self.calls.by_id[call_id]
            await waiting.lane.close()
            tell_watchers(self.talk_watchers, waiting.talk, started=False)
            if not waiting.outcome.done():
                waiting.outcome.cancel()
