"""The ARI link's counts (ari/metrics.py) as a benchmark reads them: each event and each answered
request counted once, whichever latency bucket it fell in."""

from __future__ import annotations

from collections import Counter

from pbx_stasis.ari.metrics import count_event, events_received, requests_answered, time_request


def test_each_event_and_answered_request_counts_once_whatever_its_latency() -> None:
    events, requests = Counter(events_received()), Counter(requests_answered())
    count_event("StasisStart")
    count_event("StasisStart")
    count_event("StasisEnd")
    for seconds in (0.0001, 0.003, 0.2, 30.0):  # the first bucket, two middle ones, above all
        time_request("test.metrics_op", seconds)
    time_request("test.other_op", 0.001)

    assert Counter(events_received()) - events == {"StasisStart": 2, "StasisEnd": 1}
    assert Counter(requests_answered()) - requests == {"test.metrics_op": 4, "test.other_op": 1}


def test_readings_are_copies() -> None:
    reading = events_received()
    reading["StasisStart"] = -1
    assert events_received().get("StasisStart") != -1
