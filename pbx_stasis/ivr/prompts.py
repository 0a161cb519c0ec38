"""The sound files a FlowSet needs, and their generation from prompt texts with espeak-ng + sox.

Each prompt of a flow has, per language, a sound file name (default `pbx/<prompt>`) below the
Asterisk sounds directory of that language, and usually the text it says. Recorded files are best;
until they exist, `generate` speaks the texts with espeak-ng and converts them with sox to what
Asterisk plays without transcoding effort: `<out>/<lang>/<file>.wav`, 8 kHz, mono, 16-bit.

    pbx ivr prompts examples/ivr/support.yaml --out /var/lib/asterisk/sounds
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pbx_stasis.ivr.model import (
    CollectNode,
    FlowSet,
    MenuNode,
    PlayNode,
    PromptItem,
    Sound,
    VoicemailNode,
)

# espeak-ng voice per language code; other codes are passed to espeak-ng as they are.
VOICES = {"en": "en-us", "ar": "ar"}


class PromptGenerationFailed(Exception):
    """espeak-ng or sox failed (or is missing)."""


@dataclass(frozen=True, order=True)
class PromptFileNeeded:
    language: str
    name: str  # the logical prompt name
    file: str  # below sounds/<language>/, without extension
    text: str | None  # None: must be recorded, cannot be generated

    @property
    def relative_path(self) -> Path:
        return Path(self.language) / f"{self.file}.wav"


def prompt_files(
    flowset: FlowSet, languages: Iterable[str] | None = None
) -> list[PromptFileNeeded]:
    """Every (language, prompt, file, text) the flows define, once per language and file."""
    wanted = None if languages is None else set(languages)
    seen: dict[tuple[str, str], PromptFileNeeded] = {}
    for flow in flowset.flows.values():
        for name, per_language in flow.prompts.items():
            for lang, pf in per_language.items():
                if wanted is not None and lang not in wanted:
                    continue
                seen.setdefault((lang, pf.file), PromptFileNeeded(lang, name, pf.file, pf.text))
    return sorted(seen.values())


def asterisk_sounds(flowset: FlowSet) -> list[str]:
    """Asterisk's own sounds the flows play by name (`{sound: ...}` items without variables)."""
    found: set[str] = set()

    def scan(items: Iterable[PromptItem]) -> None:
        for item in items:
            if isinstance(item, Sound) and item.name.is_literal:
                found.add(str(item.name))

    for flow in flowset.flows.values():
        for node in flow.nodes.values():
            if isinstance(node, PlayNode | VoicemailNode):
                scan(node.prompts)
            elif isinstance(node, MenuNode | CollectNode):
                scan((*node.prompts, *node.invalid_prompts, *node.timeout_prompts))
    return sorted(found)


def generate(
    flowset: FlowSet,
    out_dir: str | Path,
    languages: Iterable[str] | None = None,
    *,
    overwrite: bool = False,
    voices: dict[str, str] | None = None,
) -> list[Path]:
    """Speak every prompt text into `out_dir/<lang>/<file>.wav`; the files written.

    Existing files are kept unless `overwrite` (a recorded prompt must not be replaced by a
    synthetic one). Prompts without text are skipped: `prompt_files` lists them.
    """
    voice_of = {**VOICES, **(voices or {})}
    out = Path(out_dir)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="pbx-prompts-") as tmp:
        raw = Path(tmp) / "raw.wav"
        for need in prompt_files(flowset, languages):
            target = out / need.relative_path
            if need.text is None or (target.exists() and not overwrite):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _run(
                [
                    "espeak-ng",
                    "--stdin",
                    "-v",
                    voice_of.get(need.language, need.language),
                    "-w",
                    str(raw),
                ],
                need.text,
            )
            _run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(target)], None)
            written.append(target)
    return written


def _run(cmd: Sequence[str], stdin: str | None) -> None:
    try:
        result = subprocess.run(
            list(cmd), input=stdin, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PromptGenerationFailed(f"{cmd[0]}: {exc}") from exc
    if result.returncode != 0:
        raise PromptGenerationFailed(f"{' '.join(cmd)}: {result.stderr.strip()}")
