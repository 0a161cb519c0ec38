"""Recordings: voicemails (and, later, recorded conversations) as files plus one row each."""

from __future__ import annotations

from pbx_stasis.recording.store import (
    RecordingRecord,
    RecordingStore,
    new_recording_id,
    wav_duration,
)
from pbx_stasis.recording.tables import RecordingKind

__all__ = [
    "RecordingKind",
    "RecordingRecord",
    "RecordingStore",
    "new_recording_id",
    "wav_duration",
]
