"""Insights scored again when a call's disposition is saved: the lead score counts the call's
outcome, which an agent often gives after the recording was transcribed (or changes later).
Runs in the web process, where dispositions are saved (crm:disposition on its bus), for the web
app's lifetime; each call scored again is published as insights:ready with `rescored`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from pbx_stasis.analytics.events import INSIGHTS_READY, InsightsReady
from pbx_stasis.analytics.store import AnalyticsStore
from pbx_stasis.bus import Bus
from pbx_stasis.crm.events import DISPOSITION_SET, DispositionSet
from pbx_stasis.store import Database

log = logging.getLogger(__name__)


async def rescore_on_dispositions(db: Database, bus: Bus) -> None:
    """Until cancelled: each disposition saved rescores its call's insights."""
    store = AnalyticsStore(db)
    subscription = bus.subscribe((DISPOSITION_SET,))
    try:
        async for event in subscription:
            saved = event.payload
            if not isinstance(saved, DispositionSet):
                continue
            try:
                for row, outcome in await store.rescore(event.tenant_id, saved.call_id,
                                                         saved.disposition):
                    bus.publish(INSIGHTS_READY, event.tenant_id, InsightsReady.of(
                        row.recording_id, row.call_id, row.agent_user_id, row.queue,
                        row.figures, outcome, rescored=True))
            except Exception:
                log.exception("insights of call %s not scored again", saved.call_id)
    finally:
        subscription.close()


def rescoring(db: Database, bus: Bus) -> Callable[[web.Application], AsyncIterator[None]]:
    """The rescoring task for the web app's lifetime (its cleanup context)."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(rescore_on_dispositions(db, bus), name="insights-rescore")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run
