"""Per-speaker recordings: the agent's and the customer's audio, recorded apart (a snoop channel
on each leg, `spy=in`: what that party says), put side by side in one stereo WAV file.

Channel 0 (left) is the agent, channel 1 (right) the customer, as Amazon Transcribe Call
Analytics numbers them. The mixed recording of the bridge stays the one people play; the
stereo file is what analysis reads (who spoke when).
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


def stereo(agent: bytes, customer: bytes, *, agent_delay: float = 0.0,
           customer_delay: float = 0.0) -> bytes:
    """Two mono WAV files as one stereo WAV (agent left, customer right).

    A track whose recording started later gets its delay (seconds) as leading silence, so the
    two stay aligned in time; the shorter one is padded with silence at its end.
    """
    left, rate = mono_samples(agent)
    right, right_rate = mono_samples(customer)
    if right_rate != rate:
        raise ValueError(f"the tracks' rates differ ({rate} and {right_rate} Hz)")
    left = _silence(round(agent_delay * rate)) + left
    right = _silence(round(customer_delay * rate)) + right
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
