"""Call quality as the kernel takes it: the call's quality route and the quality:poor topic. The
watcher itself is a talk watcher the Stasis app builds (app.py)."""

from __future__ import annotations

from pbx_stasis.plugin import Plugin
from pbx_stasis.quality import http
from pbx_stasis.quality.events import QUALITY_POOR

PLUGIN = Plugin("quality", routes=http.ROUTES, topics=(QUALITY_POOR,))
