"""Call quality as the kernel takes it: the call's quality route. The watcher itself is a talk
watcher the Stasis app builds (app.py)."""

from __future__ import annotations

from pbx_stasis.plugin import Plugin
from pbx_stasis.quality import http

PLUGIN = Plugin("quality", routes=http.ROUTES)
