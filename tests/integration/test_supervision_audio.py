"""The ears of the audio tests: how loud a frequency is in what an RTP phone heard.

The phones themselves (`RtpPhone`: send a tone, record every packet) are pbx_stasis.testcall.rtp,
which `pbx call test` uses too. `tone_db` tells how loud a frequency is in what a phone heard
(Goertzel, per 100 ms block).

The tests at the end check the instrument itself, without Asterisk: a tone sent from one phone
to another is measured at its level, and a frequency nobody sends is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from polling import wait_until

from pbx_stasis.testcall.rtp import (
    FRAME,
    RATE,
    SILENCE,
    ULAW_TO_LINEAR,
    Packet,
    RtpPhone,
    tone_frame,
    ulaw_decode,
    ulaw_encode,
)

__all__ = ["FRAME", "SILENCE", "Packet", "RtpPhone", "tone_frame", "ulaw_decode", "ulaw_encode"]

BLOCK = 800  # samples per Goertzel block: 100 ms, 10 Hz bins
SILENT_DB = -120.0


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
