"""Routes ARI events to call actors: new calls get a task, every other event its channel's inbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pbx_stasis.ari.inflight import InFlight
from pbx_stasis.ari.models import AriEvent, event_channel_id
from pbx_stasis.calls.actor import EventInbox

log = logging.getLogger(__name__)

# A call handler runs the whole life of one call whose first channel just entered Stasis.
CallHandler = Callable[[EventInbox, AriEvent], Awaitable[None]]


class CallRouter:
    """Owns the inboxes of channels in the app and the tasks of calls.

    Channels the app creates itself (agent legs, snoops, consultation legs) are `claim`ed
    before they exist, so their StasisStart lands in the claimer's inbox instead of
    starting a new call.
    """

    def __init__(self, on_call: CallHandler, *, in_flight: InFlight | None = None) -> None:
        self._on_call = on_call
        # The client's open playbacks and recordings (ari/inflight.py): their ends are noted
        # here, where every event passes, and one made after a reconnect is filed only once.
        self.in_flight = in_flight if in_flight is not None else InFlight()
        # Handlers of events that concern no channel (e.g. EndpointStateChange), by type.
        self.listeners: dict[str, Callable[[AriEvent], None]] = {}
        self._inboxes: dict[str, EventInbox] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = True

    def claim(self, channel_id: str) -> EventInbox:
        inbox = self._inboxes.get(channel_id)
        if inbox is None:
            inbox = self._inboxes[channel_id] = EventInbox(channel_id)
        return inbox

    def release(self, channel_id: str) -> None:
        self._inboxes.pop(channel_id, None)

    def inbox(self, channel_id: str) -> EventInbox | None:
        return self._inboxes.get(channel_id)

    def channel_ids(self) -> list[str]:
        return list(self._inboxes)

    @property
    def live_calls(self) -> int:
        return len(self._tasks)

    def on_event(self, event: AriEvent) -> None:
        """EventStream handler (inline: called by the reader, in order); files the event."""
        if not self.in_flight.heard(event):
            return  # the end of a playback or recording, made already after a reconnect
        channel_id = event_channel_id(event)
        if channel_id is None:
            listener = self.listeners.get(str(event.get("type")))
            if listener is not None:
                listener(event)
            return
        inbox = self._inboxes.get(channel_id)
        if inbox is not None:
            inbox.put(event)
        elif event.get("type") == "StasisStart":
            self.start_call(event)
        if event.get("type") == "ChannelDestroyed":
            # Nothing more will arrive for this channel; the owner already has the event.
            self._inboxes.pop(channel_id, None)

    def start_call(self, start: AriEvent, handler: CallHandler | None = None) -> None:
        """Run a call's handler in its own task (`handler` overrides, e.g. for adoption).

        Not once the app is stopping: `shutdown` waits for and cancels the tasks it found, and
        a task begun after that (an adoption the stop interrupted) would run on unwatched
        while the app closes under it, and end its caller's call. The channel stays in
        Stasis for the next start to adopt."""
        channel_id = event_channel_id(start)
        assert channel_id is not None
        if not self.accepting:
            log.info("channel %s left for the next start: the app is stopping", channel_id)
            return
        inbox = self.claim(channel_id)
        inbox.entered = True
        task = asyncio.create_task(
            self._run(inbox, start, handler or self._on_call), name=f"call-{channel_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, inbox: EventInbox, start: AriEvent, handler: CallHandler) -> None:
        try:
            await handler(inbox, start)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call on channel %s failed", inbox.channel_id)
        finally:
            self._inboxes.pop(inbox.channel_id, None)

    async def shutdown(self, grace: float) -> None:
        """Stop taking calls; give running calls `grace` seconds, then cancel them.

        Cancelling is safe for the database: every record change is one transaction that
        either commits or rolls back, and resync picks the calls up on the next start.
        """
        self.accepting = False
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
