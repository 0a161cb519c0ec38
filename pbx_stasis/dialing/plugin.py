"""The dialling policy as the kernel takes it: its admin API and `pbx dialing`."""

from __future__ import annotations

from pbx_stasis.dialing import http
from pbx_stasis.plugin import Plugin

PLUGIN = Plugin("dialing", routes=http.ROUTES)
