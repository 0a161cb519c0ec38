"""Speech engines behind one interface: a track's samples in, timed phrases out.

Built in and offline: pocketsphinx, whose wheel ships a US English model (16 kHz only: telephone
audio at 8 kHz is resampled with soxr first). Better engines when the admin has a model on disk:
Vosk and faster-whisper, each given a local model directory in `analytics.engines`
(PBX_ASR_ENGINES), e.g. `fr=vosk:/models/vosk-fr,ar=faster-whisper:/models/whisper-small`;
nothing is downloaded at run time, and neither package is a dependency (installed by the admin
with their model). A language with no engine configured is said so plainly (`NoEngine`):
pocketsphinx is English only, so Arabic, French... need a model the admin provides.

Engines decode one utterance at a time (the stretches `speech.speech_intervals` finds), so each
phrase has its time in the call and a long call never sits in memory as one decoder state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pbx_stasis.analytics.speech import Interval, Samples, speech_intervals

ENGINE_RATE = 16_000  # what pocketsphinx's, Vosk's and Whisper's models take
POCKETSPHINX, VOSK, FASTER_WHISPER = "pocketsphinx", "vosk", "faster-whisper"
KINDS = (POCKETSPHINX, VOSK, FASTER_WHISPER)
PAD_S = 0.15  # decoded around each utterance, so its first and last sounds are whole


class NoEngine(Exception):
    """No engine can transcribe this language here (said to the admin as is)."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """What one party said in one utterance, with its time in the recording (seconds)."""

    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """An engine for a language: its kind and, for Vosk and faster-whisper, the model on disk."""

    kind: str
    model_dir: str | None = None


def parse_engines(spec: str) -> dict[str, EngineChoice]:
    """`en=pocketsphinx,fr=vosk:/models/vosk-fr` as {language: choice}; ValueError names the
    faulty entry."""
    chosen: dict[str, EngineChoice] = {}
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        language, _, engine = entry.partition("=")
        kind, _, model_dir = engine.strip().partition(":")
        language, kind = language.strip().lower(), kind.strip().lower()
        if not language or kind not in KINDS:
            raise ValueError(f"analytics.engines: {entry!r} is not language=engine[:model "
                             f"dir] with engine one of {', '.join(KINDS)}")
        if kind != POCKETSPHINX and not model_dir.strip():
            raise ValueError(f"analytics.engines: {entry!r}: {kind} needs a model directory")
        chosen[language] = EngineChoice(kind, model_dir.strip() or None)
    return chosen


def choice_for(language: str, engines: Mapping[str, EngineChoice]) -> EngineChoice:
    """The engine for a call's language ("en-US" matches "en-us", then "en"); English falls back
    to the built-in pocketsphinx; NoEngine otherwise."""
    language = (language or "en").lower().replace("_", "-")
    for key in (language, language.split("-")[0]):
        if key in engines:
            return engines[key]
    if language.split("-")[0] == "en":
        return EngineChoice(POCKETSPHINX)
    raise NoEngine(f"no speech engine is configured for language {language!r}: pocketsphinx "
                   f"is English only; give a Vosk or faster-whisper model directory in "
                   f"analytics.engines (PBX_ASR_ENGINES), e.g. {language}=vosk:/models/"
                   f"vosk-{language}")


class Engine(Protocol):
    """Transcribes one utterance (16 kHz mono samples) to text."""

    name: str

    def utterance(self, samples: Samples) -> str: ...


def resample(samples: Samples, rate: int) -> Samples:
    """Telephone audio (8 kHz) to the engines' 16 kHz (soxr, high quality)."""
    if rate == ENGINE_RATE:
        return samples
    import soxr

    resampled: Samples = soxr.resample(samples, rate, ENGINE_RATE).astype(np.int16)
    return resampled


class PocketSphinx:
    name = POCKETSPHINX

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(loglevel="FATAL")

    def utterance(self, samples: Samples) -> str:
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(samples.tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


class Vosk:
    name = VOSK

    def __init__(self, model_dir: str) -> None:
        _model_there(model_dir)
        from vosk import KaldiRecognizer, Model, SetLogLevel

        SetLogLevel(-1)
        self._model = Model(model_dir)
        self._recognizer = KaldiRecognizer

    def utterance(self, samples: Samples) -> str:
        import json

        recognizer = self._recognizer(self._model, ENGINE_RATE)
        recognizer.AcceptWaveform(samples.tobytes())
        return str(json.loads(recognizer.FinalResult()).get("text", ""))


class FasterWhisper:
    name = FASTER_WHISPER

    def __init__(self, model_dir: str, language: str) -> None:
        _model_there(model_dir)
        from faster_whisper import WhisperModel

        # int8 on the CPU: the machine this runs on has no accelerator to count on.
        self._model: Any = WhisperModel(model_dir, device="cpu", compute_type="int8",
                                        local_files_only=True)
        self._language = language.split("-")[0]

    def utterance(self, samples: Samples) -> str:
        audio = samples.astype(np.float32) / 32768.0
        segments, _ = self._model.transcribe(audio, language=self._language, beam_size=1,
                                             vad_filter=False)
        return " ".join(segment.text.strip() for segment in segments).strip()


def _model_there(model_dir: str) -> None:
    if not Path(model_dir).is_dir():
        raise NoEngine(f"the speech model directory {model_dir} does not exist")


def make_engine(choice: EngineChoice, language: str) -> Engine:
    """The engine a choice names (ImportError becomes NoEngine: its package is not installed)."""
    try:
        if choice.kind == POCKETSPHINX:
            return PocketSphinx()
        assert choice.model_dir is not None
        if choice.kind == VOSK:
            return Vosk(choice.model_dir)
        return FasterWhisper(choice.model_dir, language)
    except ImportError as exc:
        raise NoEngine(f"{choice.kind} is configured but not installed ({exc.name})") from None


def transcribe_track(engine: Engine, samples: Samples, rate: int,
                     speech: list[Interval] | None = None) -> list[Phrase]:
    """Each utterance of a mono track as a phrase, in order (empty ones left out)."""
    if speech is None:
        speech = speech_intervals(samples, rate)
    audio = resample(samples, rate)
    phrases: list[Phrase] = []
    for interval in speech:
        first = max(0, round((interval.start - PAD_S) * ENGINE_RATE))
        last = round((interval.end + PAD_S) * ENGINE_RATE)
        text = engine.utterance(audio[first:last]).strip()
        if text:
            phrases.append(Phrase(interval.start, interval.end, text))
    return phrases
