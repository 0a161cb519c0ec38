"""A call actor: one asyncio task per call, reading its own ordered ARI events.

Straight-line async code (`await actor.wait_for(...)`) instead of callbacks: each call's
story reads top to bottom, and a slow call never stalls another because each has its task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pbx_stasis.ari.models import AriEvent
from pbx_stasis.ari.nodes import NODE_LOST_CAUSE
from pbx_stasis.calls.mailbox import Mailbox

# Events after which the channel can no longer be used by this call.
GONE_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed"})
# A soft hangup request's `cause` is Asterisk's reason flag (channel.h AST_SOFTHANGUP_*), not a
# Q.850 cause: our own DELETE's echo is EXPLICIT (32); SHUTDOWN is the node stopping (`core
# stop`, a restart), which hangs every channel up itself before it exits.
SOFTHANGUP_SHUTDOWN = 1 << 2
# How a call its node's stop ended is recorded: Q.850 38 like a node lost (ari/nodes.py), the
# text telling the two apart.
NODE_STOPPED = (NODE_LOST_CAUSE, "node-stopped")
# What Asterisk records for the app's own DELETE /channels (reason `normal`).
NORMAL_CLEARING = (16, "Normal Clearing")


class ChannelGone(Exception):
    """The channel hung up or left Stasis; raised from waits so call code unwinds."""

    def __init__(self, channel_id: str, cause: int | None, cause_text: str | None) -> None:
        super().__init__(f"channel {channel_id} is gone ({cause_text or cause})")
        self.channel_id = channel_id
        self.cause = cause
        self.cause_text = cause_text


@dataclass
class Hangup:
    """What we know of how a channel ended (first hangup request wins)."""

    cause: int | None = None
    cause_text: str | None = None
    by_us: bool = False
    # Whose hangup the app carried out when it ended the channel from outside the call's
    # script (the ACD releasing a caller: `app`; the party a caller was handed to leaving).
    for_side: str = "app"
    # The far end asked to hang up (a hangup request that is not the echo of ours): it may
    # arrive after the script already ended for that very reason (a playback cut short).
    remote: bool = False
    # Asterisk ended the channel itself (a soft hangup we did not ask for: shutdown, RTP or
    # session timer), or it vanished while the ARI link was down (who ended it is unknown).
    system: bool = False
    system_cause: int | None = None  # the cause Asterisk's own hangup request gave
    vanished: bool = False
    # Its Asterisk node stopped (a shutdown's hangup request came before any of the caller's
    # own): why it ended, whatever the app did next (its agent's leg, hung up by the same stop,
    # may have made the app release the caller first).
    node_stopped: bool = False

    def recorded(self, side: str) -> tuple[str, int | None, str | None]:
        """Who ended the call and its cause as the call's record keeps them, for a call the app
        took to have ended by `side`: a node's stop is the system's, whatever came after it."""
        if self.node_stopped:
            return ("system", *NODE_STOPPED)
        cause = self.cause
        if cause is None and side == "system":
            # No ChannelDestroyed (Asterisk shutting down closes the link): its own request's.
            cause = self.system_cause
        elif cause is None and self.by_us and not self.remote:
            # Our own hangup, its ChannelDestroyed not seen: the channel was gone before the
            # app could follow it (a caller the ACD released at once, calls/follow.py).
            return (side, *NORMAL_CLEARING)
        return side, cause, self.cause_text

    def ours(self, side: str = "app") -> None:
        """The app is about to hang the channel up, for `side`: its end is no system's."""
        self.by_us, self.for_side = True, side

    def side(self) -> str:
        """Who ended a channel we did not hang up: `caller`, `system` or `unknown`."""
        if self.node_stopped:
            return "system"
        if self.remote:
            return "caller"
        if self.system:
            return "system"
        return "unknown" if self.vanished else "caller"


class EventInbox:
    """The ordered events of one channel, with waits that raise when the channel is gone."""

    def __init__(self, channel_id: str) -> None:
        self.channel_id = channel_id
        self._queue: Mailbox[AriEvent] = Mailbox()
        self.hangup = Hangup()
        self.gone = False
        self.destroyed = False  # ChannelDestroyed seen: it carries the cause
        # Its StasisStart (or StasisEnd) was filed, or its StasisStart started the call: a
        # resync makes the one a silent socket lost (calls/resync.py), and Asterisk's own
        # arriving after that is a repeat.
        self.entered = False
        self.left = False

    def put(self, event: AriEvent) -> None:
        kind = event.get("type")
        if kind == "StasisStart":
            if self.entered:
                return
            self.entered = True
        elif kind == "StasisEnd":
            if self.left:
                return
            self.left = True
        self._queue.put_nowait(event)

    def _note(self, event: AriEvent) -> None:
        kind = event.get("type")
        if (kind == "ChannelHangupRequest" and event.get("soft")
                and event.get("cause") == SOFTHANGUP_SHUTDOWN and not self.hangup.remote):
            self.hangup.node_stopped = True
        # A soft hangup request is the echo of our own DELETE /channels (cause 32), not the
        # reason the call ended.
        if kind == "ChannelHangupRequest" and not event.get("soft"):
            self.hangup.remote = True
        elif kind == "ChannelHangupRequest" and not self.hangup.by_us:
            self.hangup.system = True
            cause = event.get("cause")
            if self.hangup.system_cause is None and isinstance(cause, int):
                self.hangup.system_cause = cause
        if kind == "ChannelDestroyed":
            self.destroyed = True
            self.hangup.vanished = bool(event.get("vanished"))
            if event.get("node_lost"):  # its Asterisk node died (ari/nodes.py)
                self.hangup.system = True
        if kind == "ChannelDestroyed" or (kind == "ChannelHangupRequest" and not event.get("soft")):
            # The first cause wins; only ChannelDestroyed carries the cause's text.
            cause = event.get("cause")
            if self.hangup.cause is None and isinstance(cause, int):
                self.hangup.cause = cause
            text = event.get("cause_txt")
            if (
                self.hangup.cause_text is None
                and isinstance(text, str)
                and (cause == self.hangup.cause)
            ):
                self.hangup.cause_text = text
        if kind in GONE_EVENTS:
            self.gone = True

    def _raise_gone(self) -> None:
        raise ChannelGone(self.channel_id, self.hangup.cause, self.hangup.cause_text)

    async def wait_for(
        self, match: Callable[[AriEvent], bool] | Iterable[str], within: float | None = None
    ) -> AriEvent:
        """The next event that matches (a predicate or a set of event types).

        Events that don't match are dropped. Raises ChannelGone when the channel leaves,
        TimeoutError after `within` seconds.
        """
        if not callable(match):
            types = frozenset(match)

            def match_type(event: AriEvent) -> bool:
                return event.get("type") in types

            predicate: Callable[[AriEvent], bool] = match_type
        else:
            predicate = match
        if self.gone:
            self._raise_gone()
        if within is None:  # most waits: no timer to set up and cancel
            return await self._next(predicate)
        async with asyncio.timeout(within):
            return await self._next(predicate)

    async def _next(self, predicate: Callable[[AriEvent], bool]) -> AriEvent:
        while True:
            event = await self._queue.get()
            self._note(event)
            if predicate(event):
                return event
            if self.gone:
                self._raise_gone()

    def settle(self) -> None:
        """Take note of the events already queued (e.g. a hangup racing the script's end)."""
        while not self._queue.empty():
            self._note(self._queue.get_nowait())

    @property
    def hung_up_remotely(self) -> bool:
        """Whether the other side (or Asterisk) ended the channel before we asked to."""
        return not self.hangup.by_us and (self.gone or self.hangup.cause is not None)

    async def drain_until_gone(self, within: float) -> None:
        """Consume events until the channel is gone (after we asked it to hang up)."""
        try:
            async with asyncio.timeout(within):
                while not self.gone:
                    self._note(await self._queue.get())
        except TimeoutError:
            pass

    async def drain_until_destroyed(self, within: float) -> None:
        """Consume events until ChannelDestroyed, which carries the hangup cause (StasisEnd,
        which ends a call's script, comes before it)."""
        try:
            async with asyncio.timeout(within):
                while not self.destroyed:
                    self._note(await self._queue.get())
        except TimeoutError:
            pass


def channel_field(event: AriEvent, *keys: str) -> Any:
    """A nested field of the event's channel, e.g. channel_field(ev, "caller", "number")."""
    value: Any = event.get("channel")
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
