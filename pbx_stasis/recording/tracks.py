"""Per-speaker recordings: the agent's and the customer's audio, recorded apart (a snoop channel
on each leg, `spy=in`: what that party says), put side by side in one stereo WAV file.

Channel 0 (left) is the agent, channel 1 (right) the customer, as Amazon Transcribe Call
Analytics numbers them. The mixed recording of the bridge stays the one people play; the
stereo file is what analysis reads (who spoke when).

A side may have several pieces: after a transfer the new agent's leg gets its own snoop and
recording, which goes on the agent's channel at the time it started (`stereo_segments`).
"""

from __future__ import annotations

import io
import wave
from array import array

AGENT, CUSTOMER = "agent", "customer"
SPEAKERS = (AGENT, CUSTOMER)  # in channel order


def mono_samples(data: bytes) -> tuple[array[int], int]:
    """A mono 16-bit WAV file's samples and rate (ValueError on any other file)."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            if (wav.getnchannels(), wav.getsampwidth()) != (1, 2):
                raise ValueError("not a mono 16-bit WAV file")
            rate = wav.getframerate()
            samples = array("h", wav.readframes(wav.getnframes()))
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a WAV file: {exc}") from None
    return samples, rate


def _silence(frames: int) -> array[int]:
    return array("h", bytes(2 * max(frames, 0)))


Segment = tuple[float, bytes]  # (seconds after the tracks' start, a mono WAV file)


def _channel(segments: list[Segment], rate: int | None) -> tuple[array[int], int | None]:
    """One side's pieces placed at their times; where two overlap they are mixed (summed,
    clipped to 16 bits), elsewhere copied as they are."""
    out = array("h")
    written = 0  # the end of the audio placed so far
    for delay, data in sorted(segments, key=lambda segment: segment[0]):
        samples, its_rate = mono_samples(data)
        if rate is None:
            rate = its_rate
        elif its_rate != rate:
            raise ValueError(f"the tracks' rates differ ({rate} and {its_rate} Hz)")
        start = max(round(delay * rate), 0)
        end = start + len(samples)
        if len(out) < end:
            out += _silence(end - len(out))
        overlap = max(min(written, end) - start, 0)
        for i in range(overlap):
            out[start + i] = max(-32768, min(32767, out[start + i] + samples[i]))
        out[start + overlap:end] = samples[overlap:]
        written = max(written, end)
    return out, rate


def stereo_segments(agent: list[Segment], customer: list[Segment]) -> bytes:
    """Each side's pieces (mono WAV files, each at its delay in seconds) as one stereo WAV
    (agent left, customer right); the shorter side is padded with silence at its end."""
    if not agent or not customer:
        raise ValueError("each side needs at least one track")
    left, rate = _channel(agent, None)
    right, rate = _channel(customer, rate)
    assert rate is not None
    frames = max(len(left), len(right))
    left += _silence(frames - len(left))
    right += _silence(frames - len(right))
    both = _silence(2 * frames)
    both[0::2] = left
    both[1::2] = right
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(both.tobytes())
    return out.getvalue()


def stereo(agent: bytes, customer: bytes, *, agent_delay: float = 0.0,
           customer_delay: float = 0.0) -> bytes:
    """Two mono WAV files as one stereo WAV (agent left, customer right).

    A track whose recording started later gets its delay (seconds) as leading silence, so the
    two stay aligned in time; the shorter one is padded with silence at its end.
    """
    return stereo_segments([(agent_delay, agent)], [(customer_delay, customer)])
