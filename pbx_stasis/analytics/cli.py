"""`pbx transcribe FILE`: a WAV file's transcript, printed (stereo: agent left, customer right).

    pbx transcribe call.wav [--language en]

Each line is `[start-end] speaker: text`. The engine is the one `analytics.engines`
(PBX_ASR_ENGINES) gives the language, pocketsphinx for English by default. Exit 2 with one line
when the file cannot be read or no engine serves the language.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pbx_stasis.config import Settings


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:04.1f}"


def cmd_transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from pbx_stasis.analytics.engines import NoEngine, parse_engines
    from pbx_stasis.analytics.transcriber import transcribe_file

    try:
        engines = parse_engines(settings.analytics.engines)
        result = transcribe_file(args.file, args.language, engines)
    except FileNotFoundError:
        print(f"pbx transcribe: {args.file}: no such file", file=sys.stderr)
        return 2
    except (ValueError, NoEngine) as exc:
        print(f"pbx transcribe: {exc}", file=sys.stderr)
        return 2
    for line in result.lines:
        print(f"[{_clock(line.start)}-{_clock(line.end)}] {line.speaker}: {line.text}")
    print(f"({result.engine}, {result.duration:.1f} s of audio in {result.took:.1f} s of CPU)",
          file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    transcribe = sub.add_parser("transcribe", help="print the transcript of a WAV file")
    transcribe.add_argument("file", help="a mono or stereo (agent, customer) 16-bit WAV file")
    transcribe.add_argument("--language", default="en", help="the speech's language (en)")
    transcribe.set_defaults(func=cmd_transcribe)
