"""The features, named once: the composition root (pbx_stasis.plugins) loads each one's plugin.py
from this list, and `pbx` each one's cli.py. It imports nothing, so a `pbx` command that is not
`run` loads only the commands' modules, not every feature's routes, pages and services.

A feature's `pbx` subcommands, by convention: `add_commands(subparsers)` in its cli.py (a
feature without commands has no cli.py); each sets `func(args, settings)`.
"""

from __future__ import annotations

# The features whose routes need no live app (only the contact center's interface)...
WEB_FEATURES: tuple[str, ...] = (
    "acd",
    "reports",
    "crm",
    "ivr",
    "users",
    "dialing",
    "testcall",
    "callbacks",
    "tickets",
    "callscripts",
    "leads",
    "voicemail",  # after leads: it adds its source to My work
    "campaigns",
    "analytics",
    "quality",
    "evaluations",
    "webhooks",
    "crmlink",
    "masking",
    "virtualnumbers",
)
# ... and those that control live calls, through the Stasis side's own services.
LIVE_FEATURES: tuple[str, ...] = ("supervision", "recording")
FEATURES: tuple[str, ...] = (*WEB_FEATURES, *LIVE_FEATURES)
