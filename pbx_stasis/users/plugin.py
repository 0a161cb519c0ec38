"""Users as the kernel takes them: the admin's API for accounts, roles and agents' profiles."""

from __future__ import annotations

from pbx_stasis.plugin import Plugin
from pbx_stasis.users import http

PLUGIN = Plugin("users", routes=http.ROUTES)
