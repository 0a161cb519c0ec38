"""Following callers' channels beyond their stay in Stasis, a batch of them per request.

A caller who hangs up leaves Stasis (StasisEnd) before the ChannelDestroyed that carries the
hangup cause, which Asterisk sends only to apps still subscribed to the channel (the caller's
ChannelHangupRequest has no cause: measured on Asterisk 22). So the app subscribes to each
caller's channel once the call starts. One subscription per request was one of the eight
ARI requests of a queued call, and its answer lists every channel and device the app follows
(it grows with the calls under way), so the channels asked for within `FOLLOW_WINDOW_S` go in
one request, one per Asterisk node (a node's channels are only its own).

The cause is only needed when the call ends: a caller who hangs up within the window leaves
Stasis before the request, and its ChannelDestroyed still comes if the channel is there when
the request is; if it is gone, the request is refused and the call is closed without waiting
(a refused batch is asked again channel by channel, so one caller gone costs the others
nothing).
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.nodes import CURRENT_NODE

log = logging.getLogger(__name__)

FOLLOW_WINDOW_S = 0.05  # 2-3 callers a request at 50 calls/s, more as the rate grows
MAX_BATCH = 50  # channels a request (its query string stays well under a URL's limits)

_Pending = list[tuple[str, "asyncio.Future[bool]"]]


class Follower:
    """The app's pending subscriptions to channels, sent together after a short wait."""

    def __init__(self, ari: AriClient, app: str, window: float = FOLLOW_WINDOW_S) -> None:
        self.ari = ari
        self.app = app
        self.window = window
        self._pending: dict[str | None, _Pending] = {}
        self._sending: asyncio.Task[None] | None = None
        self.requests = 0  # subscription requests made (tests, benchmarks)

    def follow(self, channel_id: str) -> asyncio.Future[bool]:
        """Subscribe the app to the channel soon: the future says whether Asterisk took it
        (False: the channel was gone, or Asterisk could not be asked)."""
        loop = asyncio.get_running_loop()
        followed: asyncio.Future[bool] = loop.create_future()
        self._pending.setdefault(CURRENT_NODE.get(), []).append((channel_id, followed))
        if self._sending is None or self._sending.done():
            self._sending = loop.create_task(self._send_soon(), name="follow-channels")
        return followed

    async def _send_soon(self) -> None:
        try:
            await asyncio.sleep(self.window)
        except asyncio.CancelledError:  # the app stops: nobody waits on what was not sent
            for batch in self._pending.values():
                _settle(batch, False)
            self._pending = {}
            raise
        # What comes while this batch is asked for waits for a request of its own.
        pending, self._pending, self._sending = self._pending, {}, None
        batches = [(node, batch[start:start + MAX_BATCH]) for node, batch in pending.items()
                   for start in range(0, len(batch), MAX_BATCH)]
        await asyncio.gather(*(self._subscribe(node, batch) for node, batch in batches))

    async def _subscribe(self, node: str | None, batch: _Pending) -> None:
        CURRENT_NODE.set(node)  # this task's own context: the request goes to the channels' node
        try:
            self.requests += 1
            await self.ari.applications.subscribe(
                self.app, [f"channel:{channel_id}" for channel_id, _ in batch])
        except AriError as exc:
            if len(batch) > 1 and exc.status == 422:  # one is gone: ask for each on its own
                await asyncio.gather(*(self._subscribe(node, [one]) for one in batch))
                return
            log.debug("channels %s not followed to their end: %s",
                      [channel_id for channel_id, _ in batch], exc)
            _settle(batch, False)
        except BaseException:
            _settle(batch, False)
            raise
        else:
            _settle(batch, True)


def _settle(batch: _Pending, followed: bool) -> None:
    for _, future in batch:
        if not future.done():
            future.set_result(followed)


_FOLLOWERS: weakref.WeakKeyDictionary[AriClient, dict[str, Follower]] = (
    weakref.WeakKeyDictionary())


def follower(ari: AriClient, app: str) -> Follower:
    """The app's follower on this ARI client (one per client and app, made on first use)."""
    by_app = _FOLLOWERS.setdefault(ari, {})
    found = by_app.get(app)
    if found is None:
        found = by_app[app] = Follower(ari, app)
    return found
