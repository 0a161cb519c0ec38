"""A caller's stay in a queue, from `enqueue` to their exit: their bridge, ringing or music,
the arrival posted to the owner, the channel watched until the core's verdict, the hand-over
after a transfer, and what is cleaned up after."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.callback_desk import CallbackDesk
from pbx_stasis.acd.control import QueueLookup
from pbx_stasis.acd.directory import queue_key
from pbx_stasis.acd.shared import Calls
from pbx_stasis.acd.stay import (
    ANNOUNCEMENT,
    Lane,
    TalkWatcher,
    Waiting,
    queue_bridge_prefix,
    tell_watchers,
)
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.ari.nodes import CURRENT_NODE
from pbx_stasis.calls.actor import ChannelGone
from pbx_stasis.calls.handoff import Outcome, QueueRequest
from pbx_stasis.calls.inbound import Call

log = logging.getLogger(__name__)


class HandOver(Protocol):
    """Connecting a transferred caller to the transfer's target (`control.CallControl`)."""

    async def hand_over(self, waiting: Waiting, outcome: Outcome) -> Outcome: ...


class Callers:
    """Callers' stays: what `AcdService.enqueue` does (handoff's `QueueDesk`)."""

    def __init__(
        self,
        *,
        ari: AriClient,
        post: Callable[[ev.AcdInput], None],
        barrier: Callable[[], Awaitable[None]],
        calls: Calls,
        queues: QueueLookup,
        handover: HandOver,
        talk_watchers: list[TalkWatcher],
        clock: Callable[[], float],
    ) -> None:
        self.ari = ari
        self.post = post
        self.barrier = barrier  # the owner has taken in what was posted before
        self.calls = calls
        self.queues = queues  # the core: the queue's settings
        self.handover = handover
        self.talk_watchers = talk_watchers
        self.clock = clock
        self.callbacks: CallbackDesk | None = None  # the callbacks feature, when the app has it
        self._asking: dict[str, asyncio.Task[None]] = {}  # callers whose request is judged

    async def enqueue(self, call: Call, request: QueueRequest) -> Outcome:
        """The caller waits in `request.queue` until the core lets them go; after a transfer
        they are handed over to its target; after asking for a callback they are thanked."""
        outcome = await self._stay(call, request)
        if outcome.reason == "callback" and not call.inbox.gone:
            await self._thank(call)
        return outcome

    async def _thank(self, call: Call) -> None:
        """A callback took the caller's place: they hear a thank-you before the flow goes on
        (and, with nothing after the queue, hangs up)."""
        playback_id = f"callback-{call.record.id}"
        with contextlib.suppress(AriError, ChannelGone, TimeoutError):
            await self.ari.channels.play(call.channel_id, ["sound:auth-thankyou"],
                                         playback_id=playback_id)
            async with asyncio.timeout(10):
                await call.inbox.wait_for(
                    lambda e: e.get("type") == "PlaybackFinished"
                    and (e.get("playback") or {}).get("id") == playback_id)

    async def _stay(self, call: Call, request: QueueRequest) -> Outcome:
        tenant_id = call.record.tenant_id
        key = queue_key(tenant_id, request.queue)
        config = self.queues.queue(key)
        if config is None:
            await call.note("QUEUE_UNKNOWN", queue=request.queue)
            return Outcome(False, "unknown_queue")
        call_id = call.record.id
        bridge_id = request.bridge_id or (  # one per stay
            f"{queue_bridge_prefix(call_id)}{time.monotonic_ns() % 1_000_000}")
        entered = request.entered_at or self.clock()
        waiting = Waiting(
            call=call,
            tenant_id=tenant_id,
            queue=request.queue,
            bridge_id=bridge_id,
            lane=Lane(f"call-{call_id}"),
            outcome=asyncio.get_running_loop().create_future(),
            moh_class=config.moh_class,
            ringback=call.record.answered_at is None,
        )
        self.calls.by_id[call_id] = waiting
        stay = replace(request, entered_at=entered)

        async def settle_in() -> None:
            # First in the call's lane: music, offers' bridging and announcements queue
            # behind it. It starts once the owner has taken the arrival in, so the first
            # agent's originate reaches Asterisk before this call's other requests.
            await self.barrier()
            try:
                if request.bridge_id is None:  # else the caller waits in it already
                    # Its name keeps the stay, so a restarted app puts the caller back.
                    await self.ari.bridges.create("mixing", bridge_id=bridge_id,
                                                  name=stay.bridge_name())
                    if waiting.ringback:
                        await self.ari.channels.ring(call.channel_id)
                    else:
                        await self.ari.bridges.add_channel(bridge_id, call.channel_id)
                call.log.set_queue(call.record, request.queue)
            except AriError as exc:
                log.warning("call %s cannot wait in %s: %s", call_id, request.queue, exc)
                self.post(ev.CallerHungUp(call_id))  # the core lets it go (journal: ABANDON)

        try:
            waiting.lane.submit(settle_in)
            self.post(
                ev.CallArrived(
                    call_id,
                    key,
                    caller=call.record.from_number,
                    priority=request.priority,
                    skills=dict(request.skills),
                    max_wait=request.max_wait,
                    entered_at=entered,
                    adopted=call.adopted,  # put back after a restart: the same stay goes on
                    campaign=request.campaign,
                    node=CURRENT_NODE.get(),  # the caller's (a cluster's): whom it may ring
                )
            )
            outcome = await self._serve(waiting)
            if waiting.voicemail is not None and not call.inbox.gone:
                # Sent to voicemail: the flow records the message (ivr/runner.py), once the
                # music stopped below, after what the lane still held (a move's or an
                # announcement's music started after the stop would play under the message).
                return Outcome(False, "overflow", overflow_kind="voicemail",
                               overflow_target=waiting.voicemail)
            if outcome.reason == "transferred" and not call.inbox.gone:
                outcome = await self.handover.hand_over(waiting, outcome)
            return outcome
        except asyncio.CancelledError:
            # The app is stopping: leave the caller (and a conversation) as they are in
            # Asterisk; the next start adopts them.
            waiting.abandoned_by_app = True
            raise
        finally:
            del self.calls.by_id[call_id]
            await waiting.lane.close()
            if not waiting.abandoned_by_app:
                if waiting.talk is not None:  # before the bridge goes: recordings stop cleanly
                    tell_watchers(self.talk_watchers, waiting.talk, started=False)
                talked = waiting.outcome.done() and waiting.outcome.result().talked
                # A caller going on in the flow (a mailbox, the next node) leaves the bridge
                # first: Asterisk refuses to record a channel until the bridge has let it go,
                # which a remove waits for and a bridge's destruction does not.
                goes_on = not call.inbox.gone and (not talked or waiting.voicemail is not None)
                if goes_on:
                    with contextlib.suppress(AriError):
                        await self.ari.bridges.remove_channel(bridge_id, call.channel_id)
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge_id)
                if goes_on and not waiting.ringback:
                    with contextlib.suppress(AriError):
                        await self.ari.channels.stop_moh(call.channel_id)

    def _key_pressed(self, waiting: Waiting, digit: str) -> None:
        """The queue's callback key: the callbacks feature judges the caller's number; the
        core then puts a callback in their place (one request at a time per caller)."""
        desk, call_id = self.callbacks, waiting.call.record.id
        config = self.queues.queue(queue_key(waiting.tenant_id, waiting.queue))
        if (desk is None or config is None or config.callback_key != digit
                or waiting.connected or call_id in self._asking):
            return

        async def ask() -> None:
            asked = await desk.request(waiting)
            if asked is not None:
                self.post(ev.CallbackRequested(call_id, asked[0], asked[1]))

        task = asyncio.create_task(ask(), name=f"callback-{call_id}")
        self._asking[call_id] = task
        task.add_done_callback(lambda _: self._asking.pop(call_id, None))
    async def resume(self, call: Call, bridge_id: str, queue: str, connected_at: float,
                     in_core: Callable[[str], bool]) -> Outcome | None:
        """A conversation carried over a restart (the core holds it: TalkAdopted, posted
        before) is the ACD's call again, in the bridge it talks in: held, transferred and ended
        like any other (`in_core`: whether the core still holds a call). Its agent's leg joins
        it through `Legs.follow_carried`. None when the core does not hold it (its queue or
        agent is gone): the conversation is not the ACD's."""
        call_id = call.record.id
        config = self.queues.queue(queue_key(call.record.tenant_id, queue))
        waiting = Waiting(
            call=call, tenant_id=call.record.tenant_id, queue=queue, bridge_id=bridge_id,
            lane=Lane(f"call-{call_id}"),
            outcome=asyncio.get_running_loop().create_future(),
            moh_class=config.moh_class if config is not None else "default",
            connected=True, connected_at=datetime.fromtimestamp(connected_at, UTC),
        )
        self.calls.by_id[call_id] = waiting
        try:
            await self.barrier()  # the core has taken the carried-over talk in
            if not in_core(call_id):  # the core refused it: its queue or agent is gone
                waiting.abandoned_by_app = True  # its bridge stays: they talk on in it
                return None
            # A full call again, for the talk watchers too (recording, supervision, quality):
            # told now, or by `Legs.follow_carried` once the agent's leg is followed.
            waiting.carried = True
            if waiting.talk is not None:
                tell_watchers(self.talk_watchers, waiting.talk, started=True)
            outcome = await self._serve(waiting)
            if outcome.reason == "transferred" and not call.inbox.gone:
                outcome = await self.handover.hand_over(waiting, outcome)
            return outcome
        except asyncio.CancelledError:
            waiting.abandoned_by_app = True  # a stop: the conversation goes on in Asterisk
            raise
        finally:
            del self.calls.by_id[call_id]
            await waiting.lane.close()
            if not waiting.abandoned_by_app:
                if waiting.carried and waiting.talk is not None:  # before the bridge goes
                    tell_watchers(self.talk_watchers, waiting.talk, started=False)
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge_id)

    async def _serve(self, waiting: Waiting) -> Outcome:
        """Wait for the core's verdict while watching the caller's channel."""
        call = waiting.call

        def relevant(event: AriEvent) -> bool:
            if event.get("type") == "ChannelDtmfReceived":
                return True
            playback = event.get("playback") or {}
            return event.get("type") == "PlaybackFinished" and str(
                playback.get("id", "")
            ).startswith(ANNOUNCEMENT)

        async def watch() -> None:
            try:
                while True:
                    event = await call.inbox.wait_for(relevant)
                    if event.get("type") == "ChannelDtmfReceived":
                        self._key_pressed(waiting, str(event.get("digit", "")))
                        continue
                    if not waiting.connected:  # playing stopped the music: start it again
                        waiting.lane.submit(
                            lambda: self.ari.channels.start_moh(call.channel_id, waiting.moh_class)
                        )
            except ChannelGone:
                self.post(ev.CallerHungUp(call.record.id))

        watcher = asyncio.create_task(watch(), name=f"watch-{call.record.id}")
        try:
            return await asyncio.shield(waiting.outcome)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

