"""The media end of a test phone: an RTP socket, served by a thread of its own (so asyncio work
never delays a packet), that sends 20 ms of PCMU every 20 ms (a sine tone, a looped voice, or
silence as a real phone sends) and keeps every packet it receives with its arrival time.

A sipp scenario (scripts/sipp/caller-tone.xml, desk-phone-tone.xml) does the SIP side and offers
this socket's address in its SDP: `pbx call test` places a demo call with it, and the audio tests
measure what each phone heard.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

RATE = 8000
FRAME = 160  # samples in 20 ms


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

    def __init__(self, name: str, tone_hz: float | None = None, amplitude: float = 0.25,
                 *, voice: bytes | None = None, lose_every: int = 0) -> None:
        self.name = name
        self.tone_hz = tone_hz
        self.amplitude = amplitude
        # PCMU sent in a loop instead of a tone (a spoken prompt), with its first frame again
        # at the end so every 20 ms is one slice.
        self._voice = voice + voice[:FRAME] if voice else None
        self._once: bytes = b""  # PCMU to say once, before anything else (`speak`)
        # A bad line: every n-th packet is not sent (its sequence number is skipped, as a
        # packet lost on the way), 0 for none.
        self.lose_every = lose_every
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

    def speak(self, voice: bytes) -> None:
        """Say this PCMU once, from the next 20 ms on (then the tone, voice or silence again)."""
        self._once = voice

    def _run(self) -> None:
        seq, timestamp, ssrc = 1, 0, hash(self.name) & 0xFFFFFFFF
        next_send = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_send:
                if self.peer is not None:
                    payload = self._frame(timestamp)
                    header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, timestamp, ssrc)
                    lost = self.lose_every and seq % self.lose_every == 0
                    try:
                        if not lost:
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

    def _frame(self, timestamp: int) -> bytes:
        """The next 20 ms to send: what `speak` was given, the voice's (looped), the tone's, or
        silence."""
        if self._once:
            frame, self._once = self._once[:FRAME], self._once[FRAME:]
            return frame.ljust(FRAME, SILENCE[:1])
        if self._voice is not None:
            start = timestamp % (len(self._voice) - FRAME)
            return self._voice[start : start + FRAME]
        tone = self.tone_hz
        return SILENCE if tone is None else tone_frame(tone, timestamp, self.amplitude)

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
