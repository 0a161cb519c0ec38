"""Callbacks as the kernel takes them: their API and `pbx callbacks` (the live part is wired
by app.py, beside the ACD it serves)."""

from __future__ import annotations

from pbx_stasis.callbacks import http
from pbx_stasis.callbacks.events import CALLBACK_REQUESTED
from pbx_stasis.plugin import Plugin

PLUGIN = Plugin("callbacks", routes=http.ROUTES, topics=(CALLBACK_REQUESTED,))
