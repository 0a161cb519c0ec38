"""Where someone speaks in a track: an energy detector over 20 ms frames (pure, numpy).

Telephone tracks recorded from a snoop are digital silence (or comfort noise far below speech)
between words, so a fixed level does: a frame is speech above -40 dBFS; gaps shorter than
0.3 s (between words) are bridged and bursts shorter than 0.15 s (clicks) dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FRAME_S = 0.02
SPEECH_DBFS = -40.0
BRIDGE_S = 0.3
SHORTEST_S = 0.15

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of speech, in seconds from the start of the recording."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def frame_levels(samples: Samples, rate: int) -> npt.NDArray[np.float64]:
    """The level of each 20 ms frame in dBFS (a full-scale sine reads -3 dB)."""
    size = max(1, round(FRAME_S * rate))
    count = len(samples) // size
    if count == 0:
        return np.zeros(0)
    frames = samples[: count * size].astype(np.float64).reshape(count, size) / 32768.0
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    levels: npt.NDArray[np.float64] = 20 * np.log10(np.maximum(rms, 1e-9))
    return levels


def speech_intervals(samples: Samples, rate: int, *, threshold: float = SPEECH_DBFS,
                     bridge: float = BRIDGE_S, shortest: float = SHORTEST_S) -> list[Interval]:
    """The stretches of speech in a mono track, in order."""
    loud = frame_levels(samples, rate) > threshold
    spans: list[list[float]] = []
    for index in np.flatnonzero(loud):
        start = float(index) * FRAME_S
        if spans and start - spans[-1][1] <= bridge:
            spans[-1][1] = start + FRAME_S
        else:
            spans.append([start, start + FRAME_S])
    return [Interval(round(a, 2), round(b, 2)) for a, b in spans if b - a >= shortest]
