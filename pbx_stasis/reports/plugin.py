"""Reports as the kernel takes them: the period's figures and their CSV files."""

from __future__ import annotations

from pbx_stasis.plugin import Plugin
from pbx_stasis.reports import http

PLUGIN = Plugin("reports", routes=http.ROUTES)
