"""Prompt files a FlowSet needs, and their generation with espeak-ng + sox."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

from ivr_testing import EXAMPLE, flows

from pbx_stasis.ivr.loader import load_flowset_files
from pbx_stasis.ivr.prompts import PromptFileNeeded, asterisk_sounds, generate, prompt_files


def test_example_needs_english_and_arabic_prompts() -> None:
    needs = prompt_files(load_flowset_files([EXAMPLE]))
    by_lang = {lang: [n for n in needs if n.language == lang] for lang in ("en", "ar")}
    assert len(by_lang["en"]) == 17  # 16 support prompts + sales_welcome
    assert len(by_lang["ar"]) == 16  # sales_welcome falls back to English
    welcome = next(n for n in by_lang["ar"] if n.name == "welcome")
    assert welcome == PromptFileNeeded(
        "ar", "welcome", "pbx/welcome", "أهلاً بكم في إكزامبل تيليكوم."
    )
    assert welcome.relative_path == Path("ar/pbx/welcome.wav")
    assert all(n.text for n in needs)
    assert [n.language for n in prompt_files(load_flowset_files([EXAMPLE]), ["ar"])] == ["ar"] * 16


SMALL = """
flows:
  f:
    entry: a
    languages: [en, ar]
    prompts:
      hi: {en: Hello., ar: مرحبا.}
      rec: {en: {file: custom/recorded}, ar: {file: custom/recorded}}
    nodes:
      a: {kind: play, prompts: [hi, rec, {sound: beep}, {sound: "x${v}"}], next: b}
      b: {kind: hangup}
    variables: {v: ""}
"""


def test_asterisk_sounds() -> None:
    assert asterisk_sounds(flows(SMALL)) == ["beep"]


def test_generate_8khz_mono_wav_and_keep_recorded_files(tmp_path: Path) -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if not shutil.which(tool)]
    assert not missing, f"{' and '.join(missing)} not found: apt-get install espeak-ng sox"
    flowset = flows(SMALL)
    kept = tmp_path / "en" / "pbx" / "hi.wav"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"recorded")
    written = generate(flowset, tmp_path)
    assert written == [tmp_path / "ar" / "pbx" / "hi.wav"]  # no text for custom/recorded
    assert kept.read_bytes() == b"recorded"
    with wave.open(str(written[0])) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() > 8000 * 0.3  # some speech
    assert generate(flowset, tmp_path, ["en"], overwrite=True) == [kept]
    assert kept.read_bytes()[:4] == b"RIFF"
