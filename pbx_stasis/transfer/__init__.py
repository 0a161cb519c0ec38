"""Transfers out of a call script: outside numbers through the trunk (`TrunkLine`)."""

from __future__ import annotations

from pbx_stasis.transfer.outside import TrunkLine

__all__ = ["TrunkLine"]
