"""Speech found in a track, the engines' choice per language, and pocketsphinx transcribing
telephone-quality speech per speaker (espeak-ng through a mu-law line: speech_clips.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from speech_clips import RATE, silence, telephone_speech, wav_bytes

from pbx_stasis.analytics.engines import (
    FASTER_WHISPER,
    POCKETSPHINX,
    VOSK,
    EngineChoice,
    NoEngine,
    choice_for,
    make_engine,
    parse_engines,
)
from pbx_stasis.analytics.speech import speech_intervals
from pbx_stasis.analytics.transcriber import transcribe_file


def test_speech_is_found_where_it_was_said() -> None:
    words = telephone_speech("good morning")
    track = np.array(silence(1.0) + words + silence(2.0) + words, dtype=np.int16)
    spoken = len(words) / RATE
    found = speech_intervals(track, RATE)
    assert len(found) == 2, found
    first, second = found
    # espeak-ng's own lead-in silence is part of the clip: the speech starts a little later
    assert 1.0 <= first.start < 1.2 and second.start - first.start == pytest.approx(
        spoken + 2.0, abs=0.1)
    # ... and it ends before the clip's trailing silence
    assert spoken - 0.5 < first.seconds <= spoken
    assert speech_intervals(np.zeros(RATE, dtype=np.int16), RATE) == []


def test_engines_are_chosen_per_language_and_a_missing_one_is_said_plainly(
        tmp_path: Path) -> None:
    engines = parse_engines(f"fr=vosk:{tmp_path}, ar = faster-whisper:/nowhere ,en=pocketsphinx")
    assert engines == {"fr": EngineChoice(VOSK, str(tmp_path)),
                       "ar": EngineChoice(FASTER_WHISPER, "/nowhere"),
                       "en": EngineChoice(POCKETSPHINX)}
    assert choice_for("fr-CA", engines) == EngineChoice(VOSK, str(tmp_path))
    assert choice_for("en_GB", {}) == EngineChoice(POCKETSPHINX)
    with pytest.raises(NoEngine, match="no speech engine is configured for language 'ar'"):
        choice_for("ar", {})
    with pytest.raises(NoEngine, match="/nowhere does not exist"):
        make_engine(engines["ar"], "ar")
    for bad, why in (("fr=vosk", "needs a model directory"), ("xx", "language=engine"),
                     ("de=kaldi:/m", "engine one of")):
        with pytest.raises(ValueError, match=why):
            parse_engines(bad)


def test_pocketsphinx_transcribes_each_side_of_a_stereo_call(tmp_path: Path) -> None:
    agent = silence(0.5) + telephone_speech("good morning how can I help you")
    customer = silence(len(agent) / RATE + 0.5) + telephone_speech("can you call me tomorrow")
    path = tmp_path / "call.wav"
    path.write_bytes(wav_bytes(agent, customer))
    result = transcribe_file(str(path), "en-US", {})
    assert result.engine == POCKETSPHINX
    said = {side: " ".join(line.text for line in result.lines if line.speaker == side)
            for side in ("agent", "customer")}
    assert "morning" in said["agent"] and "tomorrow" not in said["agent"], said
    assert "tomorrow" in said["customer"] and "morning" not in said["customer"], said
    [agent_line] = [line for line in result.lines if line.speaker == "agent"]
    assert agent_line.start == pytest.approx(0.5, abs=0.2)
    assert [line.speaker for line in result.lines] == ["agent", "customer"]  # in time order


def test_a_file_that_is_not_wav_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"not audio")
    with pytest.raises(ValueError, match="not a WAV file"):
        transcribe_file(str(path), "en", {})
