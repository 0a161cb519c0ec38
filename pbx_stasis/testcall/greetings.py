"""How test customers answer a campaign's call: a person says a short "hello" and waits, an
answering machine plays a long greeting. Spoken by espeak-ng (voices, speeds), mixed with noise
by sox, as 8 kHz PCMU; and as a pcap of RTP packets that sipp plays (`play_pcap_audio`) from a
UAS on the trunk. Used by the campaigns' live test and `scripts/bench-amd`."""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
FRAME = 160  # 20 ms of PCMU

PERSON_LINES = ("Hello?", "Hello.", "Yes, hello?", "Hi.", "Hello, this is Sam.", "Yeah?",
                "Good morning.", "Hello, who is this?")
MACHINE_LINES = (
    "Hi, you have reached the Smith family. We can't come to the phone right now. Please "
    "leave a message after the tone.",
    "Hello, this is Alex. I am not available at the moment, leave your name and number and I "
    "will call you back.",
    "The person you are calling is not available. Please record your message after the beep. "
    "When you are done, hang up.",
    "Thank you for calling Acme Plumbing. Our office is closed. Our hours are nine to five, "
    "Monday to Friday.",
    "Hey, it's Jordan, sorry I missed you! Leave a message and I'll get back to you soon.",
    "You have reached five five five, zero one two three. Please leave a message.",
)
VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb+m3")


@dataclass(frozen=True)
class Greeting:
    kind: str  # "person" or "machine"
    text: str
    voice: str
    speed: int  # words per minute
    noise: float  # white noise amplitude (0: none)
    pcmu: bytes

    @property
    def seconds(self) -> float:
        return len(self.pcmu) / RATE


def tools() -> tuple[str, str]:
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        raise RuntimeError("espeak-ng and sox are needed: apt-get install espeak-ng sox")
    return espeak, sox


def spoken(text: str, *, voice: str = "en-us", speed: int = 160, noise: float = 0.0,
           lead_in: float = 0.3, tail: float = 4.0) -> bytes:
    """`text` as PCMU: `lead_in` s of (noise-only) line before the answer's first word, and
    `tail` s after it (a person waits for an answer; a machine would beep and record)."""
    espeak, sox = tools()
    speech = subprocess.run([espeak, "-v", voice, "-s", str(speed), "--stdout", text],
                            capture_output=True, check=True, timeout=30).stdout
    pcm = ["-t", "raw", "-r", str(RATE), "-c", "1", "-e", "signed", "-b", "16"]
    clean = subprocess.run([sox, "-t", "wav", "-", *pcm, "-", "rate", str(RATE),
                            "pad", str(lead_in), str(tail)],
                           input=speech, capture_output=True, check=True, timeout=30).stdout
    if noise > 0:
        seconds = len(clean) / 2 / RATE
        hiss = subprocess.run([sox, "-n", *pcm, "-", "synth", f"{seconds:.3f}", "whitenoise",
                               "vol", str(noise)], capture_output=True, check=True,
                              timeout=30).stdout
        clean = _mixed(clean, hiss)
    return subprocess.run([sox, *pcm, "-", "-t", "raw", "-r", str(RATE), "-c", "1", "-e",
                           "mu-law", "-"], input=clean, capture_output=True, check=True,
                          timeout=30).stdout


def _mixed(a: bytes, b: bytes) -> bytes:
    n = min(len(a), len(b)) // 2
    left = struct.unpack(f"<{n}h", a[: 2 * n])
    right = struct.unpack(f"<{n}h", b[: 2 * n])
    return struct.pack(f"<{n}h", *(max(-32768, min(32767, x + y))
                                    for x, y in zip(left, right, strict=True)))


def greetings(*, noises: tuple[float, ...] = (0.0, 0.02, 0.06)) -> list[Greeting]:
    """The benchmark's set: every person line and machine line, each in a voice and speed of
    its own, at each noise level."""
    found: list[Greeting] = []
    for index, (kind, text) in enumerate([*(("person", t) for t in PERSON_LINES),
                                          *(("machine", t) for t in MACHINE_LINES)]):
        voice = VOICES[index % len(VOICES)]
        speed = 140 + 20 * (index % 3)
        for noise in noises:
            found.append(Greeting(kind, text, voice, speed, noise,
                                  spoken(text, voice=voice, speed=speed, noise=noise)))
    return found


def write_rtp_pcap(path: Path, pcmu: bytes, *, src_port: int = 6000, dst_port: int = 6002,
                   payload_type: int = 0) -> Path:
    """A pcap (Ethernet/IPv4/UDP) of `pcmu` as RTP, one packet per 20 ms: what sipp's
    play_pcap_audio sends to the far end's media address (ports and addresses are its own)."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    pcmu = pcmu + bytes([0xFF]) * (-len(pcmu) % FRAME)
    for seq, start in enumerate(range(0, len(pcmu), FRAME)):
        rtp = struct.pack("!BBHII", 0x80, payload_type, seq & 0xFFFF, start, 0x5EED) + \
            pcmu[start:start + FRAME]
        udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
        micros = seq * 20_000
        out += struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame),
                           len(frame)) + frame
    path.write_bytes(bytes(out))
    return path


def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
