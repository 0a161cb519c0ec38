"""Per-speaker tracks put side by side: each piece at its time, on its side's channel."""

from __future__ import annotations

import io
import wave
from array import array

import pytest

from pbx_stasis.recording.tracks import stereo, stereo_segments

RATE = 8000


def mono(samples: list[int], rate: int = RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(array("h", samples).tobytes())
    return out.getvalue()


def sides(data: bytes) -> tuple[list[int], list[int]]:
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, RATE)
        both = array("h", wav.readframes(wav.getnframes()))
    return list(both[0::2]), list(both[1::2])


def test_a_transferred_calls_second_agent_is_on_the_agent_channel_at_their_time() -> None:
    first, second = mono([100] * 8000), mono([200] * 4000)  # 1 s, then 0.5 s from 1.5 s
    customer = mono([300] * 20000)  # 2.5 s
    left, right = sides(stereo_segments([(0.0, first), (1.5, second)], [(0.0, customer)]))
    assert len(left) == len(right) == 20000
    assert left[:8000] == [100] * 8000
    assert left[8000:12000] == [0] * 4000  # between the agents: silence
    assert left[12000:16000] == [200] * 4000
    assert left[16000:] == [0] * 4000
    assert right == [300] * 20000


def test_pieces_that_overlap_are_mixed_and_clipped() -> None:
    a, b = mono([30000] * 800), mono([10000] * 800)  # 0.1 s each, the second from 0.05 s
    left, right = sides(stereo_segments([(0.05, b), (0.0, a)], [(0.0, mono([1]))]))
    assert left[:400] == [30000] * 400
    assert left[400:800] == [32767] * 400  # both: summed, clipped to 16 bits
    assert left[800:1200] == [10000] * 400
    assert right[:1] == [1] and right[1:] == [0] * 1199


def test_the_two_track_form_delays_the_later_track() -> None:
    left, right = sides(stereo(mono([5] * 800), mono([7] * 800), customer_delay=0.1))
    assert left == [5] * 800 + [0] * 800
    assert right == [0] * 800 + [7] * 800


def test_tracks_of_different_rates_or_a_missing_side_are_refused() -> None:
    with pytest.raises(ValueError, match="rates differ"):
        stereo_segments([(0.0, mono([1] * 10))], [(0.0, mono([1] * 10, rate=16000))])
    with pytest.raises(ValueError, match="each side"):
        stereo_segments([], [(0.0, mono([1]))])
    with pytest.raises(ValueError, match="not a WAV"):
        stereo_segments([(0.0, b"nope")], [(0.0, mono([1]))])
