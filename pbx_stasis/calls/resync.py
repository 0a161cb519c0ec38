"""Resync after a (re)connect: Asterisk keeps no event backlog, so compare what it has with
what we believe and settle the difference."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import astuple, dataclass

from pbx_stasis.ari import AriClient, AriError, Channel
from pbx_stasis.ari.models import AriEvent, stasis_entry
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.records import CallLog
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.store import CallRecord

log = logging.getLogger(__name__)
# Open playbacks and recordings asked about at once after a reconnect (one request each).
_CHECKS_AT_ONCE = 50


@dataclass(frozen=True)
class ResyncReport:
    closed: int  # records of calls that ended while we were away
    adopted: int  # channels in Stasis that no task was handling (app restarted)
    vanished: int  # channels a running task waited on that no longer exist
    ends_missed: int = 0  # playbacks and recordings that ended while we were away
    starts_missed: int = 0  # channels the app made that entered Stasis while we were away
    stasis_ends_missed: int = 0  # channels that left Stasis while we were away, still up


async def resync(
    ari: AriClient,
    app: str,
    router: CallRouter,
    calls: CallLog,
    adopt: Callable[[Channel, CallRecord | None], None],
) -> ResyncReport:
    application = await ari.applications.get(app)
    in_app = set(application.get("channel_ids", []))
    existing = {channel["id"]: channel for channel in await ari.channels.list()}

    # Tasks still running (socket reconnect, app alive) may wait on channels that hung up
    # during the gap: hand them the ChannelDestroyed they missed.
    vanished = 0
    for channel_id in router.channel_ids():
        if channel_id not in existing:
            inbox = router.inbox(channel_id)
            if inbox is not None:
                inbox.put(_destroyed(channel_id))
                vanished += 1
    starts_missed = missed_starts(app, router, existing)
    stasis_ends = missed_stasis_ends(app, router, in_app, existing)
    ends_missed = await _missed_ends(ari, router)

    closed = 0
    # From memory after the first connect: a reconnect never waits on the database.
    records = {r.channel_id: r for r in await calls.live_records()}
    for channel_id, record in records.items():
        if channel_id not in existing and router.inbox(channel_id) is None:
            if await calls.close(
                record,
                cause=None,
                cause_text="ended while the app was away",
                hung_up_by="unknown",
                data={"resync": True},
            ):
                closed += 1

    adopted = 0
    for channel_id in sorted(in_app):
        channel = existing.get(channel_id)
        if channel is None or router.inbox(channel_id) is not None:
            continue
        adopt(channel, records.get(channel_id))
        adopted += 1

    report = ResyncReport(closed=closed, adopted=adopted, vanished=vanished,
                          ends_missed=ends_missed, starts_missed=starts_missed,
                          stasis_ends_missed=stasis_ends)
    if any(astuple(report)):
        log.info("resync: %s", report)
    return report


def missed_starts(app: str, router: CallRouter, existing: dict[str, Channel]) -> int:
    """The channels the app made and waits on (an agent's leg answering, a campaign's customer,
    a snoop) that entered Stasis while we were away: each gets the StasisStart it missed, with
    its arguments from the dialplan application it runs. One still ringing is not in Stasis
    yet (its StasisStart comes when it answers)."""
    made = 0
    for inbox, channel in _claimed(router, existing):
        args = stasis_entry(channel, app)
        if not inbox.entered and args is not None:
            inbox.put({"type": "StasisStart", "channel": dict(channel), "args": args,
                       "missed": True})  # not Asterisk's: made from the channel's snapshot
            made += 1
    return made


def missed_stasis_ends(app: str, router: CallRouter, in_app: set[str],
                       existing: dict[str, Channel]) -> int:
    """The channels in Stasis for us that left it while we were away and that Asterisk still
    has: the StasisEnd that ends their call's script was lost. A caller who hangs up leaves
    Stasis before the channel goes (Asterisk under load may be slow to finish), and the
    ChannelDestroyed after it comes only to an app still following the channel, a
    subscription that may have failed in the same gap: without this, that caller waits in a
    queue as a ghost until a later reconnect finds the channel gone, or for good. Left: no
    longer among the app's `channel_ids` (its subscriptions: every channel in its Stasis, and
    those it follows), or running another dialplan application."""
    made = 0
    for inbox, channel in _claimed(router, existing):
        if inbox.entered and not inbox.left and (
                channel["id"] not in in_app or stasis_entry(channel, app) is None):
            inbox.put({"type": "StasisEnd", "channel": dict(channel), "missed": True})
            made += 1
    return made


def _claimed(router: CallRouter, existing: dict[str, Channel]
             ) -> list[tuple[EventInbox, Channel]]:
    """The inboxes the router holds of channels Asterisk still has, with their snapshots."""
    found = []
    for channel_id in router.channel_ids():
        inbox, channel = router.inbox(channel_id), existing.get(channel_id)
        if inbox is not None and channel is not None:
            found.append((inbox, channel))
    return found


async def _missed_ends(ari: AriClient, router: CallRouter) -> int:
    """The playbacks and recordings the app started and never heard end (ari/inflight.py):
    each that Asterisk no longer has ended while we were away, and the task waiting on it (a
    prompt, a voicemail) gets the end event it missed. Asked in batches: one request each."""
    in_flight = router.in_flight
    open_ones = [(kind, key) for kind in ("playback", "recording")
                 for key, _ in in_flight.open(kind)]
    made = 0
    for start in range(0, len(open_ones), _CHECKS_AT_ONCE):
        batch = open_ones[start:start + _CHECKS_AT_ONCE]
        for (kind, key), how in zip(batch, await asyncio.gather(
                *(_how_it_ended(ari, kind, key) for kind, key in batch)), strict=True):
            event = None if how is None else in_flight.missed(kind, key, failed=how == "failed")
            if event is not None:
                router.on_event(event)
                made += 1
    return made


async def _how_it_ended(ari: AriClient, kind: str, key: str) -> str | None:
    """None while Asterisk still has it (or cannot say); `done`, or `failed` for a recording
    that left no file."""
    try:
        if kind == "playback":
            await ari.playbacks.get(key)
        else:
            await ari.recordings.get_live(key)
        return None
    except AriError as exc:
        if not exc.not_found:
            return None  # unknown: the next reconnect asks again
    if kind == "recording":
        try:
            await ari.recordings.get_stored(key)
        except AriError as exc:
            return "failed" if exc.not_found else None
    return "done"


def _destroyed(channel_id: str) -> AriEvent:
    return {
        "type": "ChannelDestroyed",
        "cause": 0,
        "cause_txt": "channel vanished while the ARI socket was down",
        "channel": {"id": channel_id},
        "vanished": True,  # not Asterisk's: who ended it is unknown
    }
