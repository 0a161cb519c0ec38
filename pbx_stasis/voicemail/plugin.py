"""The voicemail inbox as the kernel takes it: its routes and page, voicemail:changed, its store
in the web app (app key VOICEMAILS) with the relay of new messages and its My work source, and
the retention sweep (a watcher)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from pbx_stasis.bus import Bus
from pbx_stasis.config import Settings
from pbx_stasis.leads.service import LEADS
from pbx_stasis.plugin import Plugin
from pbx_stasis.store.db import Database
from pbx_stasis.voicemail import http
from pbx_stasis.voicemail.events import VOICEMAIL_CHANGED
from pbx_stasis.voicemail.service import VOICEMAILS, Voicemails, sweep_forever
from pbx_stasis.web.app import WebContext
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import ANYONE, Kind, Route


def _setup(app: web.Application, ctx: WebContext) -> None:
    voicemails = Voicemails(ctx.db, ctx.settings.recordings.dir, ctx.bus)
    app[VOICEMAILS] = voicemails
    if LEADS in app:  # the leads plugin's setup runs first (plugins.py's order)
        app[LEADS].work_sources.append(voicemails.work)

    async def relaying(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(voicemails.relay(ctx.bus), name="voicemail-relay")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(relaying)


async def _retention(db: Database, settings: Settings, bus: Bus) -> None:
    await sweep_forever(Voicemails(db, settings.recordings.dir, bus))


PAGE = Route("GET", "/voicemail", template_page("voicemail_page", "voicemail.html", "Voicemail"),
             ANYONE, "Voicemail inbox: per queue and agent, play, mark heard, assign, delete",
             kind=Kind.PAGE, tag="pages")
PLUGIN = Plugin("voicemail", routes=(*http.ROUTES, PAGE), topics=(VOICEMAIL_CHANGED,),
                setup=_setup, watchers=(_retention,))
