"""The transcription queue for /metrics (the Stasis process's, where the worker runs): recordings
queued for the decoder, transcriptions by outcome, and each one's time from its start to its
transcript stored; counted once per recording, never per call event."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

QUEUE_DEPTH = Gauge("pbx_transcription_queue_depth",
                    "Recordings queued for the transcription process (the rest wait in the "
                    "database for a later scan)")
TRANSCRIPTIONS = Counter("pbx_transcriptions", "Recordings transcribed, by outcome: done, failed, "
                         "no_engine, or crashed (the decoder process died; tried again later)",
                         ["outcome"])
SECONDS = Histogram("pbx_transcription_seconds",
                    "From a transcription's start to its transcript stored (one recording)",
                    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0))
