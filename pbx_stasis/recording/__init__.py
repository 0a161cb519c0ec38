"""Recordings: voicemails (and, later, recorded conversations) as files plus one row each."""

from __future__ import annotations

from pbx_stasis.recording.store import (
    RecordingKind,
    RecordingRecord,
    RecordingStore,
    new_recording_id,
    wav_duration,
)

__all__ = [
    "RecordingKind",
    "RecordingRecord",
    "RecordingStore",
    "new_recording_id",
    "wav_duration",
]
