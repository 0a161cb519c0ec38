"""Supervision of live calls: listen, whisper and barge through ARI snoop channels, audited."""

from __future__ import annotations

from pbx_stasis.supervision.audit import SegmentRecord, Supervised, SupervisionAudit
from pbx_stasis.supervision.core import Mode, SnoopSpec, parse_mode, plan
from pbx_stasis.supervision.service import (
    SessionView,
    SupervisedCall,
    Supervision,
    SupervisionControl,
    SupervisionError,
    Switched,
)

__all__ = [
    "Mode",
    "SegmentRecord",
    "SessionView",
    "SnoopSpec",
    "Supervised",
    "SupervisedCall",
    "Supervision",
    "SupervisionAudit",
    "SupervisionControl",
    "SupervisionError",
    "Switched",
    "parse_mode",
    "plan",
]
