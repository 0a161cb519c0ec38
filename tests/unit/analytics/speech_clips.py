"""Telephone-quality speech for the analytics tests and the benchmark: espeak-ng speaks a
sentence (US English, 150 words a minute), sox makes it what a phone line carries (8 kHz,
G.711 mu-law, back to 16-bit samples)."""

from __future__ import annotations

import io
import subprocess
import wave
from array import array

RATE = 8000


def telephone_speech(sentence: str, *, voice: str = "en-us", speed: int = 150) -> array[int]:
    """The sentence as 8 kHz samples that went through mu-law."""
    spoken = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", sentence],
                            check=True, capture_output=True).stdout
    # -R: sox's dither repeatable, so a sentence is the same samples every time (its random
    # dither made the recognizer hear "good morning" as "so gordon" now and then).
    ulaw = subprocess.run(["sox", "-R", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-c",
                           "1", "-e", "mu-law", "-"], input=spoken, check=True,
                          capture_output=True).stdout
    linear = subprocess.run(["sox", "-t", "raw", "-r", str(RATE), "-c", "1", "-e", "mu-law",
                             "-", "-t", "raw", "-e", "signed-integer", "-b", "16", "-"],
                            input=ulaw, check=True, capture_output=True).stdout
    return array("h", linear)


def silence(seconds: float) -> array[int]:
    return array("h", bytes(2 * round(seconds * RATE)))


def wav_bytes(*channels: array[int]) -> bytes:
    """A mono or stereo 16-bit WAV file of the channels (padded to the longest)."""
    frames = max(len(channel) for channel in channels)
    padded = [channel + silence((frames - len(channel)) / RATE) for channel in channels]
    interleaved = array("h", bytes(2 * frames * len(padded)))
    for n, channel in enumerate(padded):
        interleaved[n::len(padded)] = channel
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(len(padded))
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(interleaved.tobytes())
    return out.getvalue()
