"""The test call as the kernel takes it: nothing for the web side; its `pbx call test` command
is in its cli.py (pbx_stasis.features: how `pbx` finds a feature's commands)."""

from __future__ import annotations

from pbx_stasis.plugin import Plugin

PLUGIN = Plugin("testcall")
