"""Recording as the kernel takes it: recordings and voicemail (routes; live control through the
app key RECORDER, see http.py), `pbx recordings`, and the retention sweep (a watcher)."""

from __future__ import annotations

from pbx_stasis.config import Settings
from pbx_stasis.plugin import Plugin
from pbx_stasis.recording import http
from pbx_stasis.recording.cli import add_recording_commands
from pbx_stasis.recording.retention import sweep_forever
from pbx_stasis.store.db import Database


async def _retention(db: Database, settings: Settings) -> None:
    await sweep_forever(db, settings.recordings.dir)


PLUGIN = Plugin(
    "recording", routes=http.ROUTES, commands=add_recording_commands, watchers=(_retention,)
)
