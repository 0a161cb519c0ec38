"""Analytics as the kernel takes it: the transcript, insights, search, hot-leads and rules
routes, the transcript:ready and insights:ready topics, `pbx transcribe`, and the transcription
worker (a watcher of the Stasis process)."""

from __future__ import annotations

import logging

from aiohttp import web

from pbx_stasis.analytics import http
from pbx_stasis.analytics.events import INSIGHTS_READY, TRANSCRIPT_READY
from pbx_stasis.analytics.rescoring import rescoring
from pbx_stasis.bus import Bus
from pbx_stasis.config import Settings
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.db import Database
from pbx_stasis.web.app import WebContext

log = logging.getLogger(__name__)


async def _transcribe(db: Database, settings: Settings, bus: Bus) -> None:
    if not settings.analytics.transcribe:
        return
    from pbx_stasis.analytics.engines import parse_engines
    from pbx_stasis.analytics.worker import TranscriptionWorker

    try:
        engines = parse_engines(settings.analytics.engines)
    except ValueError as exc:
        log.error("recordings are not transcribed: %s", exc)
        return
    await TranscriptionWorker(db, settings.recordings.dir, engines, bus=bus).run()


def _setup(app: web.Application, ctx: WebContext) -> None:
    # Dispositions are saved in the web process: a call's lead score follows its outcome.
    app.cleanup_ctx.append(rescoring(ctx.db, ctx.bus))


PLUGIN = Plugin("analytics", routes=http.ROUTES,
                topics=(TRANSCRIPT_READY, INSIGHTS_READY), setup=_setup,
                watchers=(_transcribe,))
