"""The test call as the kernel takes it: the `pbx call test` command."""

from __future__ import annotations

from pbx_stasis.plugin import Plugin
from pbx_stasis.testcall.cli import add_call_commands

PLUGIN = Plugin("testcall", commands=add_call_commands)
