"""Agent legs: ringing the chosen agent (originate), following the leg to its answer or
hangup, seating a caller who heard ringing, music and announcements, and bridging caller and
agent once the core connects them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.actions import (
    Announce,
    Connect,
    Offer,
)
from pbx_stasis.acd.directory import AgentRecord, queue_key
from pbx_stasis.acd.publisher import AcdPublisher
from pbx_stasis.acd.shared import Calls, Hangups, MaskedCallerId, not_masked
from pbx_stasis.acd.stay import (
    ANNOUNCEMENT,
    Leg,
    Talk,
    TalkWatcher,
    Waiting,
    tell_watchers,
)
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.store import utc_now

log = logging.getLogger(__name__)

# SIP-ish hangup causes of an unanswered agent leg -> what the core is told
_BUSY = {17: "busy", 21: "declined"}
_NO_ANSWER = {18, 19}


class Legs:
    """Carries out Offer, CancelOffer, Connect, ReleaseAgentLeg, StartMoh and Announce over
    ARI; what the legs do (answered, rejected, hung up) goes back to the owner by `post`."""

    def __init__(
        self,
        *,
        ari: AriClient,
        router: CallRouter,
        app: str,
        post: Callable[[ev.AcdInput], None],
        calls: Calls,
        agents: dict[str, AgentRecord],
        publisher: AcdPublisher,
        talk_watchers: list[TalkWatcher],
        hangups: Hangups,
    ) -> None:
        self.ari = ari
        self.router = router
        self.app = app
        self.post = post
        self.calls = calls
        self.agents = agents
        self.publisher = publisher
        self.talk_watchers = talk_watchers
        self.hangups = hangups
        self.legs: dict[int, Leg] = {}  # offer id -> its leg, until the leg is gone
        self.masked_caller_id: MaskedCallerId = not_masked
        self.to_dial: deque[Leg] = deque()  # offers of the event the owner is applying

    def seat(self, waiting: Waiting) -> None:
        """A caller who heard ringing now waits for real: answered, in the bridge, music."""
        if not waiting.ringback or waiting.connected or waiting.outcome.done():
            return
        waiting.ringback = False
        call = waiting.call

        async def seat() -> None:
            await call.answer()
            await self.ari.bridges.add_channel(waiting.bridge_id, call.channel_id)
            await self.ari.channels.start_moh(call.channel_id, waiting.moh_class)

        waiting.lane.submit(seat)

    def seat_unrung(self, call_id: str) -> None:
        """The core asked for music: a caller left ringing with no agent to ring is seated."""
        waiting = self.calls.get(call_id)
        if waiting is not None and waiting.ringback and not waiting.ringing:
            self.seat(waiting)

    def start_moh(self, call_id: str, moh_class: str) -> None:
        waiting = self.calls.get(call_id)
        if waiting is not None:
            waiting.moh_class = moh_class
            if not waiting.ringback:  # else the music starts once the caller is seated
                channel = waiting.call.channel_id
                waiting.lane.submit(lambda: self.ari.channels.start_moh(channel, moh_class))

    def announce(self, action: Announce) -> None:
        waiting = self.calls.get(action.call_id)
        if waiting is None:
            return
        self.seat(waiting)  # announcements are for answered callers
        media = (
            ["sound:queue-youarenext"]
            if action.position == 1
            else [
                "sound:queue-thereare",
                f"number:{action.position - 1}",
                "sound:queue-callswaiting",
            ]
        )
        if action.estimated_wait is not None and action.estimated_wait >= 60:
            media += [
                "sound:queue-holdtime",
                f"number:{round(action.estimated_wait / 60)}",
                "sound:queue-minutes",
            ]
        if action.callback_key is not None:  # "press 1 to call back"
            media += ["sound:vm-press", f"digits:{action.callback_key}", "sound:vm-tocallback"]
        channel = waiting.call.channel_id
        playback_id = f"{ANNOUNCEMENT}{action.call_id}-{time.monotonic_ns()}"
        waiting.lane.submit(lambda: self.ari.channels.play(channel, media, playback_id=playback_id))

    def ring(self, offer: Offer) -> None:
        """Claim the offer's leg; the owner dials it (`dial`) once its actions are carried out."""
        channel_id = f"{offer.call_id}-o{offer.offer_id}"
        leg = Leg(offer, channel_id, self.router.claim(channel_id))
        self.legs[offer.offer_id] = leg
        waiting = self.calls.get(offer.call_id)
        if waiting is not None:
            waiting.ringing += 1
        self.to_dial.append(leg)

    def leg(self, offer_id: int) -> Leg | None:
        return self.legs.get(offer_id)

    def cancel(self, offer_id: int) -> None:
        leg = self.legs.get(offer_id)
        if leg is not None:
            self.hangups.drop(leg)

    def release(self, call_id: str) -> None:
        """The agent is done with this call: their leg goes (it may be gone already)."""
        waiting = self.calls.get(call_id)
        if waiting is not None and waiting.agent_leg is not None:
            self.hangups.drop(waiting.agent_leg)
            waiting.agent_leg, waiting.connected, waiting.muted = None, False, False

    async def dial(self, leg: Leg) -> None:
        """Originate the agent's leg in the owner's own turn (the request is on the socket
        before the owner moves on: no turn of the event loop in between); the leg's task then
        waits for the answer and follows the leg."""
        offer = leg.offer
        waiting = self.calls.get(offer.call_id)
        agent = self.agents.get(offer.agent_id)
        # The agent's phone shows whom: the caller (a callback: whom they are about to call),
        # masked for an agent whose role sees numbers masked.
        caller_id = None if agent is None else self.masked_caller_id(
            agent.user_id, offer.caller,
            waiting.call.record.to_number if waiting is not None else None, offer.callback)
        if caller_id is None:
            caller_id = (f'"{offer.caller}" <{offer.caller}>' if offer.callback is None
                         else f'"Callback to {offer.callback}" <{offer.callback}>')
        originated: Awaitable[object]
        try:
            originated = await self.ari.channels.start_originate(
                offer.endpoint,
                app=self.app,
                app_args=["agent", offer.call_id],
                caller_id=caller_id,
                # The core times the offer out; Asterisk's limit is only a safety net.
                dial_timeout=math.ceil(offer.timeout) + 30,
                channel_id=leg.channel_id,
                # As app_queue does: the leg is requested with the caller's formats (not every
                # audio format Asterisk knows: ~0.15 ms less per originate, measured) and
                # shares the caller's linkedid.
                originator=waiting.call.channel_id if waiting is not None else None,
            )
        except Exception as exc:  # e.g. unreachable: the leg's task reports it to the core
            originated = _raise(exc)
        leg.task = asyncio.create_task(self._follow_leg(leg, originated),
                                       name=f"leg-{leg.channel_id}")
        agent = self.agents.get(offer.agent_id)
        if waiting is not None and agent is not None:
            self.publisher.call_ringing(waiting, agent)
        elif offer.callback is not None and agent is not None:
            self.publisher.callback_ringing(offer, agent)

    async def _follow_leg(self, leg: Leg, originated: Awaitable[object]) -> None:
        offer = leg.offer
        try:
            try:
                await originated
            except AriError as exc:
                if exc.status == 400 and "originator" in exc.message:
                    return  # the caller is gone: its hangup ends the offer, no agent missed it
                self.post(
                    ev.OfferFailed(
                        offer.offer_id,
                        offer.call_id,
                        offer.agent_id,
                        reason=exc.message or str(exc),
                    )
                )
                return
            try:
                await leg.inbox.wait_for({"StasisStart"})
                leg.answered = True
                if leg.dropped:  # answered after the core cancelled it
                    await self.hangups.hangup(leg.channel_id)
                    return
                self.post(ev.OfferAnswered(offer.offer_id, offer.call_id, offer.agent_id))
                await leg.inbox.wait_for(lambda _: False)  # until the leg is gone
            except ChannelGone:
                if leg.dropped:
                    return
                if leg.answered:
                    self.post(ev.AgentHungUp(offer.call_id, offer.agent_id))
                    return
                cause = leg.inbox.hangup.cause
                if cause in _BUSY:
                    self.post(
                        ev.OfferRejected(
                            offer.offer_id, offer.call_id, offer.agent_id, reason=_BUSY[cause]
                        )
                    )
                elif cause in _NO_ANSWER:
                    self.post(
                        ev.OfferRejected(
                            offer.offer_id, offer.call_id, offer.agent_id, reason="no answer"
                        )
                    )
                else:
                    self.post(
                        ev.OfferFailed(
                            offer.offer_id,
                            offer.call_id,
                            offer.agent_id,
                            reason=leg.inbox.hangup.cause_text or str(cause),
                        )
                    )
        finally:
            self.router.release(leg.channel_id)
            self.legs.pop(offer.offer_id, None)
            waiting = self.calls.get(offer.call_id)
            if waiting is not None:
                waiting.ringing -= 1
                if not leg.answered:  # the caller hears ringing no longer: seat them
                    self.seat(waiting)

    async def follow_carried(self, call_id: str, agent_id: str, inbox: EventInbox,
                             within: float = 5.0) -> bool:
        """The agent's leg of a conversation carried over a restart: once the caller's call is
        the ACD's again (`Callers.resume`), it is that call's agent leg (hold, mute, transfer
        and release use it) and its hangup ends the agent's part. False when the call does
        not come back within `within` seconds (its caller is handled outside the ACD)."""
        deadline = asyncio.get_running_loop().time() + within
        while (waiting := self.calls.get(call_id)) is None:
            if asyncio.get_running_loop().time() > deadline or inbox.gone:
                return False
            await asyncio.sleep(0.05)
        agent = self.agents.get(agent_id)
        offer = Offer(0, call_id, agent_id, agent.endpoint if agent is not None else "",
                      waiting.call.record.from_number, queue_key(waiting.tenant_id,
                                                                 waiting.queue), 0.0)
        leg = Leg(offer, inbox.channel_id, inbox, answered=True)
        waiting.agent_leg = leg
        waiting.talk = Talk(
            call_id=call_id, tenant_id=waiting.tenant_id, queue=waiting.queue,
            bridge_id=waiting.bridge_id, caller_channel_id=waiting.call.channel_id,
            agent_channel_id=leg.channel_id,
            agent_user_id=agent.user_id if agent is not None else None,
            from_number=waiting.call.record.from_number, carried=True)
        self.publisher.call_changed(waiting, "talking")
        if waiting.carried:  # the ACD serves it (else `Callers.resume` tells them, once it does)
            tell_watchers(self.talk_watchers, waiting.talk, started=True)
        try:
            await inbox.wait_for(lambda _: False)  # until the leg is gone
        except ChannelGone:
            if not leg.dropped:
                self.post(ev.AgentHungUp(call_id, agent_id))
        return True

    def connect(self, action: Connect) -> None:
        waiting = self.calls.get(action.call_id)
        leg = self.legs.get(action.offer_id)
        if waiting is None or leg is None:
            return
        waiting.agent_leg = leg
        waiting.connected = True
        waiting.connected_at = utc_now()
        agent = self.agents.get(action.agent_id)
        call = waiting.call

        async def bridge() -> None:
            if waiting.ringback:  # answered only now that an agent is on the line
                waiting.ringback = False
                await call.answer()
                await self.ari.bridges.add_channel(waiting.bridge_id,
                                                   [call.channel_id, leg.channel_id])
            else:
                if not leg.in_bridge:
                    await self.ari.bridges.add_channel(waiting.bridge_id, leg.channel_id)
                with contextlib.suppress(AriError):
                    await self.ari.channels.stop_moh(call.channel_id)
            if agent is not None:
                call.log.set_agent(call.record, agent.user_id)
                call.record = replace(call.record, agent_user_id=agent.user_id,
                                      queue=waiting.queue)
            self.publisher.call_changed(waiting, "talking")
            waiting.talk = Talk(
                call_id=call.record.id,
                tenant_id=waiting.tenant_id,
                queue=waiting.queue,
                bridge_id=waiting.bridge_id,
                caller_channel_id=call.channel_id,
                agent_channel_id=leg.channel_id,
                agent_user_id=agent.user_id if agent is not None else None,
                from_number=call.record.from_number,
            )
            tell_watchers(self.talk_watchers, waiting.talk, started=True)

        waiting.lane.submit(bridge)


async def _raise(exc: Exception) -> None:
    raise exc
