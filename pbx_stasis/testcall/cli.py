"""`pbx call test`: a call from the "phone network" into the contact center, with a voice.

    pbx call test [NUMBER] [--from +97145550123] [--seconds 60] [--to 127.0.0.1:5060]
                  [--record var/test-call-heard.wav] [--say "text"]

sipp plays the caller's SIP side (scripts/sipp/caller-tone.xml) and offers an RTP socket of this
process, which speaks a prompt in a loop (espeak-ng through sox; a 440 Hz beep without them) and
records what it hears to a WAV file. The call lasts `--seconds` unless the contact center or the
agent hangs up first (that counts as a success). Prints what was heard.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from pbx_stasis.testcall.rtp import RATE, RtpPhone, ulaw_decode

if TYPE_CHECKING:
    from pbx_stasis.config import Settings

SALES_LINE = "+97145550200"  # the demo's sales line (pbx_stasis.demo)
PROMPT = "Hello, this is a test call from the phone network. Can you hear me?"
BEEP_HZ = 440.0
SCENARIO = Path(__file__).resolve().parents[2] / "scripts" / "sipp" / "caller-tone.xml"


class TestCallError(Exception):
    """Why the test call could not be placed (shown as one line)."""


def spoken(text: str) -> bytes | None:
    """`text` as 8 kHz PCMU (espeak-ng, then sox), None when either tool is missing."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        return None
    speech = subprocess.run([espeak, "-v", "en-us", "-s", "150", "--stdout", text],
                            capture_output=True, check=True, timeout=30).stdout
    # Half a second of silence after each sentence, so a person hears it as a prompt; -R: the
    # same samples every time (sox's dither repeatable), so what a recognizer hears is too.
    return subprocess.run(
        [sox, "-R", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-c", "1", "-e", "mu-law", "-",
         "pad", "0", "0.5"], input=speech, capture_output=True, check=True, timeout=30).stdout


def save_wav(path: Path, samples: list[int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))


def peak_dbfs(samples: list[int]) -> float:
    peak = max((abs(s) for s in samples), default=0)
    if peak == 0:
        return float("-inf")
    return 20 * math.log10(peak / 32768)


def place(number: str, caller: str, seconds: float, target: str, record: Path,
          say: str) -> int:
    """Place the call; 0 when it was answered and audio came back."""
    sipp = shutil.which("sipp")
    if sipp is None:
        raise TestCallError("sipp is not installed (Debian package sip-tester)")
    if not SCENARIO.is_file():
        raise TestCallError(f"no sipp scenario at {SCENARIO}: run from a source checkout")
    voice = spoken(say)
    phone = RtpPhone("caller", None if voice else BEEP_HZ, voice=voice)
    workdir = Path(tempfile.mkdtemp(prefix="pbx-call-"))
    command = [sipp, "-key", "caller", caller, "-key", "talk_ms", str(int(seconds * 1000)),
               "-key", "rtp_port", str(phone.port), "-sf", str(SCENARIO), "-s", number,
               "-i", "127.0.0.1", "-m", "1", "-timeout", f"{int(seconds) + 30}s",
               "-timeout_error", "-trace_err", "-error_file", str(workdir / "errors.log"),
               target]
    voiced = "a spoken prompt" if voice else f"a {BEEP_HZ:.0f} Hz tone (no espeak-ng/sox)"
    print(f"calling {number} from {caller} at {target}: the caller sends {voiced} and "
          f"records what it hears; up to {seconds:.0f} s (hang up from the softphone any time)")
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                              timeout=seconds + 40)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        phone.close()
    samples = ulaw_decode(b"".join(p.payload for p in phone.packets))
    heard = len(samples) / RATE
    save_wav(record, samples)
    lasted = time.monotonic() - started
    if done.returncode != 0:
        errors = workdir / "errors.log"
        detail = (errors.read_text(errors="replace").strip().splitlines()[-3:]
                  if errors.exists() else [])
        print(f"the call failed after {lasted:.1f} s (sipp exit {done.returncode})"
              + (": " + " | ".join(detail) if detail else ""), file=sys.stderr)
        return 1
    print(f"call ended after {lasted:.1f} s; heard {heard:.1f} s of audio "
          f"(peak {peak_dbfs(samples):.0f} dBFS), saved to {record}")
    if heard == 0:
        print("nothing came back: was the call answered?", file=sys.stderr)
        return 1
    return 0


def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return place(args.number, getattr(args, "from"), args.seconds, args.to,
                     Path(args.record), args.say)
    except (TestCallError, subprocess.SubprocessError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    call = sub.add_parser("call", help="place a test call from the phone network")
    calls = call.add_subparsers(dest="call_command", required=True)
    test = calls.add_parser(
        "test", help="a sipp caller that speaks and records what it hears",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    test.add_argument("number", nargs="?", default=SALES_LINE,
                      help=f"the number dialled (default: the demo's sales line {SALES_LINE})")
    test.add_argument("--from", default="+97145550123", help="the caller's number")
    test.add_argument("--seconds", type=float, default=60.0,
                      help="how long the caller stays on the line (default 60)")
    sip_port = os.environ.get("PBX_SANDBOX_SIP_PORT", "5060")
    test.add_argument("--to", default=f"127.0.0.1:{sip_port}",
                      help="Asterisk's SIP address (default: the sandbox's)")
    test.add_argument("--record", default="var/test-call-heard.wav",
                      help="where to save what the caller heard (WAV)")
    test.add_argument("--say", default=PROMPT, help="what the caller says, in a loop")
    test.set_defaults(func=cmd_test)
