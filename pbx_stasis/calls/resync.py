"""Resync after a (re)connect: Asterisk keeps no event backlog, so compare what it has with
what we believe and settle the difference."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pbx_stasis.ari import AriClient, Channel
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.records import CallLog
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.store import CallRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResyncReport:
    closed: int  # records of calls that ended while we were away
    adopted: int  # channels in Stasis that no task was handling (app restarted)
    vanished: int  # channels a running task waited on that no longer exist


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

    report = ResyncReport(closed=closed, adopted=adopted, vanished=vanished)
    if closed or adopted or vanished:
        log.info("resync: %s", report)
    return report


def _destroyed(channel_id: str) -> AriEvent:
    return {
        "type": "ChannelDestroyed",
        "cause": 0,
        "cause_txt": "channel vanished while the ARI socket was down",
        "channel": {"id": channel_id},
        "vanished": True,  # not Asterisk's: who ended it is unknown
    }
