"""Dialling a callback's customer: the agent reserved for it answered (DialCallback), the
number goes through the tenant's dialling policy again (TrunkLine.permit), the trunk rings it
presenting the tenant's caller ID, and once it answers the customer and the agent are bridged
until either hangs up. What happens goes back to the ACD as its events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.actions import DialCallback
from pbx_stasis.acd.directory import split_queue_key
from pbx_stasis.acd.stay import Leg, Talk, TalkWatcher, tell_watchers
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.dialing.caller_ids import caller_id_header
from pbx_stasis.transfer.outside import STASIS_ARG, TrunkLine

log = logging.getLogger(__name__)

RING_SECONDS = 30  # how long the customer's phone rings before it counts as no answer
# Hangup causes (Q.850) of a customer leg that never answered -> CallbackFailed.reason
_UNANSWERED = {17: "busy", 18: "no_answer", 19: "no_answer", 21: "refused"}


class CallbackDialer:
    """Carries out DialCallback; one task per callback being dialled or talking."""

    def __init__(self, ari: AriClient, line: TrunkLine, app: str,
                 post: Callable[[ev.AcdInput], None],
                 queue_caller_id: Callable[[str], str | None],
                 talk_watchers: list[TalkWatcher],
                 agent_user_id: Callable[[str], int | None]) -> None:
        self.ari = ari
        self.talk_watchers = talk_watchers  # the ACD's: recording and supervision
        self.agent_user_id = agent_user_id  # an ACD agent id -> their user id
        self.line = line
        self.app = app
        self.post = post
        self.queue_caller_id = queue_caller_id  # the queue's caller ID setting, by queue key
        self._tasks: set[asyncio.Task[None]] = set()

    def dial(self, action: DialCallback, agent_leg: Leg | None) -> None:
        task = asyncio.create_task(self._call(action, agent_leg), name=f"dial-{action.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _call(self, action: DialCallback, agent_leg: Leg | None) -> None:
        callback_id = action.call_id
        if agent_leg is None or agent_leg.task is None or agent_leg.task.done():
            self.post(ev.CallbackFailed(callback_id, "agent gone"))
            return
        tenant_id, queue = split_queue_key(action.queue)
        verdict = await self.line.permit(tenant_id, action.number, None, call_id=callback_id)
        if not verdict.allowed or verdict.number is None:
            # Judged at the request too; a policy tightened since wins (journaled by permit).
            await self._drop_agent(agent_leg)
            self.post(ev.CallbackFailed(callback_id, "not_allowed", final=True))
            return
        presented = await self.line.presented_for_agent(
            tenant_id, queue_caller_ids=[self.queue_caller_id(action.queue)])
        leg_id = uuid.uuid4().hex
        customer = self.line.router.claim(leg_id)
        bridge_id: str | None = None
        talk: Talk | None = None
        agent_gone = asyncio.ensure_future(asyncio.shield(agent_leg.task))
        try:
            ringback = f"{agent_leg.channel_id}-ringback"
            with contextlib.suppress(AriError):  # the agent hears ringing meanwhile
                await self.ari.channels.play(agent_leg.channel_id, "tone:ring",
                                             playback_id=ringback)
            try:
                await self.ari.channels.originate(
                    self.line.dial_string(verdict.number), app=self.app, app_args=STASIS_ARG,
                    channel_id=leg_id, dial_timeout=RING_SECONDS,
                    caller_id=caller_id_header(presented.number),
                    originator=agent_leg.channel_id)
            except AriError as exc:
                log.warning("callback %s: the trunk did not take the call: %s", callback_id, exc)
                await self._drop_agent(agent_leg)
                self.post(ev.CallbackFailed(callback_id, "failed"))
                return
            answer = asyncio.ensure_future(customer.wait_for({"StasisStart", "ChannelDestroyed"}))
            ringing: set[asyncio.Future[Any]] = {answer, agent_gone}
            await asyncio.wait(ringing, return_when=asyncio.FIRST_COMPLETED)
            if not answer.done():  # the agent left first (legs told the ACD: AgentHungUp)
                answer.cancel()
                return
            event = answer.result()
            if event.get("type") == "ChannelDestroyed":
                cause = event.get("cause")
                reason = _UNANSWERED.get(cause, "failed") if isinstance(cause, int) else "failed"
                await self._drop_agent(agent_leg)
                self.post(ev.CallbackFailed(callback_id, reason))
                return
            self.post(ev.CallbackAnswered(callback_id))
            with contextlib.suppress(AriError):
                await self.ari.playbacks.stop(ringback)
            bridge = await self.ari.bridges.create("mixing", name=f"callback-{callback_id}")
            bridge_id = bridge["id"]
            await self.ari.bridges.add_channel(bridge_id, [agent_leg.channel_id, leg_id])
            # Recorded and supervised like any talk of the queue (its recording policy).
            talk = Talk(call_id=callback_id, tenant_id=tenant_id, queue=queue,
                        bridge_id=bridge_id, caller_channel_id=leg_id,
                        agent_channel_id=agent_leg.channel_id,
                        agent_user_id=self.agent_user_id(action.agent_id),
                        from_number=action.number)
            tell_watchers(self.talk_watchers, talk, started=True)
            customer_gone = asyncio.ensure_future(_until_gone(customer))
            talking: set[asyncio.Future[Any]] = {customer_gone, agent_gone}
            await asyncio.wait(talking, return_when=asyncio.FIRST_COMPLETED)
            if customer_gone.done():
                self.post(ev.CallerHungUp(callback_id))  # COMPLETECALLER, then wrap-up
                await self._drop_agent(agent_leg)
            else:
                customer_gone.cancel()
        except ChannelGone:
            await self._drop_agent(agent_leg)
            self.post(ev.CallbackFailed(callback_id, "failed"))
        finally:
            agent_gone.cancel()
            if talk is not None:  # before the bridge goes: a recording stops cleanly
                tell_watchers(self.talk_watchers, talk, started=False)
            await self._clean_up(customer, bridge_id)

    async def _drop_agent(self, leg: Leg) -> None:
        """Hang up the agent's leg without it counting as the agent's hangup."""
        if not leg.dropped:
            leg.dropped = True
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(leg.channel_id)

    async def _clean_up(self, customer: EventInbox, bridge_id: str | None) -> None:
        if not customer.gone:
            customer.hangup.by_us = True
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(customer.channel_id)
            await customer.drain_until_gone(within=5.0)
        self.line.router.release(customer.channel_id)
        if bridge_id is not None:
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)


async def _until_gone(inbox: EventInbox) -> None:
    with contextlib.suppress(ChannelGone):
        await inbox.wait_for(lambda _: False)
