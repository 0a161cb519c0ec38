"""A recording to a transcript, per speaker (what the worker process runs; `pbx transcribe`).

A stereo file is a per-speaker recording (recording/tracks.py: agent left, customer right);
a mono one (a voicemail, any WAV given to `pbx transcribe`) is one speaker. Each channel's
speech is found (speech.py), each utterance decoded by the language's engine (engines.py).
"""

from __future__ import annotations

import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbx_stasis.analytics.engines import (
    Engine,
    EngineChoice,
    choice_for,
    make_engine,
    transcribe_track,
)
from pbx_stasis.analytics.insights import Line
from pbx_stasis.analytics.speech import Interval, Samples, speech_intervals
from pbx_stasis.recording.tracks import SPEAKERS

CALLER = "customer"  # the one speaker of a mono file (a voicemail's caller)


@dataclass(frozen=True, slots=True)
class Transcription:
    """What a recording said: its lines in time order, each party's speech, how long it took."""

    engine: str
    language: str
    duration: float
    lines: list[Line]
    speech: dict[str, list[Interval]]
    took: float  # seconds of CPU time spent (the real-time factor is took / duration)


def read_channels(path: Path) -> tuple[dict[str, Samples], int]:
    """A 16-bit WAV file's channels by speaker (stereo: agent, customer; mono: the caller)."""
    try:
        with wave.open(str(path)) as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a WAV file ({exc})") from None
    if width != 2 or channels not in (1, 2):
        raise ValueError(f"{path}: a mono or stereo 16-bit WAV file is needed")
    samples = np.frombuffer(frames, dtype=np.int16)
    if channels == 1:
        return {CALLER: samples}, rate
    return {speaker: samples[n::2].copy() for n, speaker in enumerate(SPEAKERS)}, rate


_engines: dict[EngineChoice, Engine] = {}  # loaded once per process: models take seconds


def transcribe_file(path: str, language: str, engines: dict[str, EngineChoice]
                    ) -> Transcription:
    """Transcribe a recording (raises NoEngine for a language nobody configured)."""
    started = time.process_time()
    choice = choice_for(language, engines)
    engine = _engines.get(choice)
    if engine is None:
        engine = _engines[choice] = make_engine(choice, language)
    channels, rate = read_channels(Path(path))
    lines: list[Line] = []
    speech: dict[str, list[Interval]] = {}
    duration = 0.0
    for speaker, samples in channels.items():
        duration = max(duration, len(samples) / rate)
        speech[speaker] = speech_intervals(samples, rate)
        lines += [Line(speaker, p.start, p.end, p.text)
                  for p in transcribe_track(engine, samples, rate, speech[speaker])]
    lines.sort(key=lambda line: (line.start, line.speaker))
    return Transcription(engine.name, language, duration, lines, speech,
                         time.process_time() - started)
