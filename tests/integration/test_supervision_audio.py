"""The ears and mouths of the audio tests: RTP phones that send a tone and record what they hear.

A sipp scenario (desk-phone-tone.xml, caller-tone.xml) does the SIP side of a phone and offers
the media address of an `RtpPhone`: a UDP socket served by a thread of its own (so asyncio work
in the test never delays a packet) that sends 20 ms of PCMU every 20 ms (a sine tone, or silence
as a real phone sends) and keeps every packet it receives with its arrival time. `tone_db` then
tells how loud a frequency is in what a phone heard (Goertzel, per 100 ms block).

The tests at the end check the instrument itself, without Asterisk: a tone sent from one phone
to another is measured at its level, and a frequency nobody sends is not.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from polling import wait_until

RATE = 8000
FRAME = 160  # samples in 20 ms
BLOCK = 800  # samples per Goertzel block: 100 ms, 10 Hz bins
SILENT_DB = -120.0


def _ulaw_decode_byte(byte: int) -> int:
    byte = ~byte & 0xFF
    sign = byte & 0x80
    exponent = (byte >> 4) & 0x07
    mantissa = byte & 0x0F
    magnitude = ((mantissa << 3) + 0x84) << exponent
    magnitude -= 0x84
    return -magnitude if sign else magnitude


ULAW_TO_LINEAR = [_ulaw_decode_byte(b) for b in range(256)]


def ulaw_encode(sample: int) -> int:
    """G.711 mu-law of a 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ulaw_decode(payload: bytes) -> list[int]:
    return [ULAW_TO_LINEAR[b] for b in payload]


def tone_frame(freq: float, start: int, amplitude: float) -> bytes:
    """20 ms of a sine at `freq` (samples start.. of the tone), PCMU."""
    return bytes(
        ulaw_encode(round(amplitude * 32767 * math.sin(2 * math.pi * freq * (start + n) / RATE)))
        for n in range(FRAME)
    )


SILENCE = bytes([0xFF]) * FRAME


def goertzel_db(samples: Sequence[int], freq: float) -> float:
    """Level of `freq` in dBFS (a full-scale sine reads 0 dB), Hann-windowed."""
    n = len(samples)
    if n == 0:
        return SILENT_DB
    coeff = 2 * math.cos(2 * math.pi * freq / RATE)
    s1 = s2 = 0.0
    window_sum = 0.0
    for index, sample in enumerate(samples):
        w = 0.5 - 0.5 * math.cos(2 * math.pi * index / (n - 1)) if n > 1 else 1.0
        window_sum += w
        s0 = sample / 32768 * w + coeff * s1 - s2
        s2, s1 = s1, s0
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    amplitude = 2 * math.sqrt(max(power, 0.0)) / window_sum
    return 20 * math.log10(amplitude) if amplitude > 1e-6 else SILENT_DB


def tone_db(samples: Sequence[int], freq: float) -> float:
    """The median level of `freq` over 100 ms blocks (robust to a block cut by a switch)."""
    levels = sorted(
        goertzel_db(samples[i : i + BLOCK], freq)
        for i in range(0, len(samples) - BLOCK + 1, BLOCK)
    )
    return levels[len(levels) // 2] if levels else SILENT_DB


def block_levels(samples: Sequence[int], freq: float, block: int = FRAME) -> list[float]:
    """Level of `freq` in each `block` of samples, in order (default: per 20 ms)."""
    return [
        goertzel_db(samples[i : i + block], freq) for i in range(0, len(samples) - block + 1, block)
    ]


@dataclass(frozen=True)
class Packet:
    at: float  # time.monotonic() of arrival
    seq: int
    payload: bytes


class RtpPhone:
    """The media end of a test phone: sends PCMU every 20 ms, records every packet received.

    The peer is learnt from the first packet received (Asterisk's RTP port, which the SDP of the
    sipp scenario does not tell us); until then nothing is sent, as Asterisk's symmetric RTP
    would answer to wherever we send from anyway.
    """

    def __init__(self, name: str, tone_hz: float | None = None, amplitude: float = 0.25) -> None:
        self.name = name
        self.tone_hz = tone_hz
        self.amplitude = amplitude
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self.peer: tuple[str, int] | None = None
        self.packets: list[Packet] = []
        self.sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rtp-{name}", daemon=True)
        self._thread.start()

    def say(self, tone_hz: float | None) -> None:
        """Send this tone from now on (None: silence)."""
        self.tone_hz = tone_hz

    def _run(self) -> None:
        seq, timestamp, ssrc = 1, 0, hash(self.name) & 0xFFFFFFFF
        next_send = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_send:
                if self.peer is not None:
                    tone = self.tone_hz
                    payload = (
                        SILENCE
                        if tone is None
                        else tone_frame(tone, timestamp, self.amplitude)
                    )
                    header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, timestamp, ssrc)
                    try:
                        self._sock.sendto(header + payload, self.peer)
                        self.sent += 1
                    except OSError:
                        pass
                    seq += 1
                timestamp += FRAME
                next_send += FRAME / RATE
                if next_send < now - 0.2:  # the thread was starved: do not burst to catch up
                    next_send = now
            ready, _, _ = select.select([self._sock], [], [], max(0.0, next_send - now))
            if ready:
                self._receive()

    def _receive(self) -> None:
        while True:
            try:
                data, address = self._sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            if len(data) < 12 or data[1] & 0x7F != 0:  # PCMU only (not telephone-event)
                continue
            if self.peer is None:
                self.peer = address
            cc = data[0] & 0x0F
            (seq,) = struct.unpack("!H", data[2:4])
            with self._lock:
                self.packets.append(Packet(time.monotonic(), seq, data[12 + 4 * cc :]))

    def heard(self, since: float | None = None, until: float | None = None) -> list[int]:
        """Samples received between two monotonic instants, in arrival order."""
        with self._lock:
            packets = list(self.packets)
        chosen = [
            p
            for p in packets
            if (since is None or p.at >= since) and (until is None or p.at < until)
        ]
        samples: list[int] = []
        for packet in chosen:
            samples.extend(ulaw_decode(packet.payload))
        return samples

    def arrivals(self, since: float, until: float) -> list[Packet]:
        with self._lock:
            return [p for p in self.packets if since <= p.at < until]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


# --- the instrument's own tests (no Asterisk) ---------------------------------------------------


def test_mu_law_round_trip_keeps_samples_within_quantisation() -> None:
    for sample in (-32000, -1000, -5, 0, 7, 1000, 32000):
        decoded = ULAW_TO_LINEAR[ulaw_encode(sample)]
        assert abs(decoded - sample) <= max(8, abs(sample) // 16), (sample, decoded)


def test_goertzel_reads_a_tone_at_its_level_and_nothing_elsewhere() -> None:
    samples: list[int] = []
    for n in range(10):
        samples.extend(ulaw_decode(tone_frame(1000, n * FRAME, 0.25)))
    assert abs(tone_db(samples, 1000) - 20 * math.log10(0.25)) < 1.0
    assert tone_db(samples, 1400) < -50
    assert tone_db([0] * 1600, 1000) == SILENT_DB


def test_a_tone_sent_by_one_phone_is_heard_by_the_other() -> None:
    mouth, ear = RtpPhone("mouth", tone_hz=600), RtpPhone("ear")
    try:
        mouth.peer = ("127.0.0.1", ear.port)
        heard = wait_until(ear.heard, until=lambda heard: len(heard) >= 0.4 * RATE)
        assert tone_db(heard, 600) > -14
        assert tone_db(heard, 1400) < -50
    finally:
        mouth.close()
        ear.close()
