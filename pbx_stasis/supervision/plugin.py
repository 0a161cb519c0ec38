"""Supervision as the kernel takes it: listen, whisper and barge (routes; the live control comes
through the app key SUPERVISION, see http.py)."""

from __future__ import annotations

from pbx_stasis.plugin import Plugin
from pbx_stasis.supervision import http

PLUGIN = Plugin("supervision", routes=http.ROUTES)
