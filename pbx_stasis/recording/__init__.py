"""Recordings: voicemails and recorded calls as files plus one row each, policies, retention.

The live side (service.py: the RecordingControl interface; recorder.CallRecorder, a talk
watcher of the ACD, implements it) and the HTTP routes (http.py) are imported from their
modules; this package root stays free of the ACD and the web layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbx_stasis.lazy import exports

if TYPE_CHECKING:
    from pbx_stasis.recording.kinds import PolicyMode
    from pbx_stasis.recording.policy import RecordingPolicy, RecordingRules
    from pbx_stasis.recording.store import (
        RecordingRecord,
        RecordingStore,
        new_recording_id,
        record_of,
        wav_duration,
    )
    from pbx_stasis.recording.tables import RecordingKind

_HOMES = {  # each module and the names it exports
    "kinds": ("PolicyMode",),
    "policy": ("RecordingPolicy", "RecordingRules"),
    "store": (
        "RecordingRecord", "RecordingStore", "new_recording_id", "record_of", "wav_duration",
    ),
    "tables": ("RecordingKind",),
}
if not TYPE_CHECKING:  # loaded on first use (pbx_stasis.lazy)
    __getattr__ = exports(__name__, _HOMES)

__all__ = [
    "PolicyMode",
    "RecordingKind",
    "RecordingPolicy",
    "RecordingRecord",
    "RecordingRules",
    "RecordingStore",
    "new_recording_id",
    "record_of",
    "wav_duration",
]
