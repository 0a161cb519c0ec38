"""Recording as the kernel takes it: recordings and voicemail (routes; live control through the
app key RECORDER, see http.py; its page), `pbx recordings`, and the retention sweep (a watcher)."""

from __future__ import annotations

from pbx_stasis.bus import Bus
from pbx_stasis.config import Settings
from pbx_stasis.plugin import LiveService, Plugin
from pbx_stasis.recording import http
from pbx_stasis.recording.events import RECORDING_READY
from pbx_stasis.recording.retention import sweep_forever
from pbx_stasis.recording.service import RECORDING_SERVICE
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Role
from pbx_stasis.web.pages import template_page
from pbx_stasis.web.routing import ANYONE, Kind, Route, at_least


async def _retention(db: Database, settings: Settings, bus: Bus) -> None:
    await sweep_forever(db, settings.recordings.dir)


# Agents may open it: the recordings API answers them by the tenant's rules (own calls only, or
# 403), and the page says so.
PAGE = Route(
    "GET",
    "/recordings",
    template_page("recordings_page", "recordings.html", "Recordings"),
    ANYONE,
    "Recordings: filter, play, download (agents: by the tenant's rules)",
    kind=Kind.PAGE,
    tag="pages",
)
# Which calls each queue records (managers and admins); retention and agents' access (admins).
SETTINGS_PAGE = Route(
    "GET",
    "/admin/recording",
    template_page("recording_settings_page", "admin_recording.html", "Recording settings"),
    at_least(Role.MANAGER),
    "Recording settings: each queue's policy, retention and agents' access",
    kind=Kind.PAGE,
    tag="pages",
)
PLUGIN = Plugin(
    "recording", routes=(PAGE, SETTINGS_PAGE, *http.ROUTES),
    services=(LiveService(RECORDING_SERVICE, http.RECORDER),), topics=(RECORDING_READY,),
    watchers=(_retention,),
)
