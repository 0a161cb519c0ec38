"""What the ARI link costs and how it fares, for /metrics: events received by type and request
latency by operation, counted in place in plain dicts (an add per event; no lock: every count is
made on the event loop's thread) and turned into metric families only when scraped; the
stream's connection figures are read from `EventStream.stats` only when scraped."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the stream and the client count into this module's metrics
    from pbx_stasis.ari.events import EventStream
    from pbx_stasis.ari.nodes import ClusterStreams

# A socket request takes ~0.2-2 ms; an originate or a playback waits for the channel.
REQUEST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   10.0)

_BOUNDS = (*(repr(bound) for bound in REQUEST_BUCKETS), "+Inf")  # as Prometheus writes them
_EVENTS_BY_TYPE: dict[str, int] = {}
# operation -> [count per bucket (the last one: above every bound)..., sum of seconds]
_REQUESTS_BY_OPERATION: dict[str, list[float]] = {}


def count_event(kind: str) -> None:
    """One ARI event received."""
    _EVENTS_BY_TYPE[kind] = _EVENTS_BY_TYPE.get(kind, 0) + 1


def time_request(operation: str, seconds: float) -> None:
    """One ARI request answered after `seconds`."""
    counts = _REQUESTS_BY_OPERATION.get(operation)
    if counts is None:
        counts = _REQUESTS_BY_OPERATION[operation] = [0.0] * (len(REQUEST_BUCKETS) + 2)
    counts[bisect_left(REQUEST_BUCKETS, seconds)] += 1
    counts[-1] += seconds


def events_received() -> dict[str, int]:
    """The ARI events this process received so far, by type (benchmarks diff two readings)."""
    return dict(_EVENTS_BY_TYPE)


def requests_answered() -> dict[str, int]:
    """The ARI requests answered so far, by operation."""
    return {operation: int(sum(counts[:-1]))
            for operation, counts in _REQUESTS_BY_OPERATION.items()}


class _LinkCollector(Collector):
    """pbx_ari_events (counter, by type) and pbx_ari_request_seconds (histogram, by
    operation), from the counts above."""

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily("pbx_ari_events", "ARI events received, by type",
                                     labels=["type"])
        for kind, seen in list(_EVENTS_BY_TYPE.items()):
            events.add_metric([kind], seen)
        yield events
        requests = HistogramMetricFamily(
            "pbx_ari_request_seconds", "ARI request latency, from sending to Asterisk's answer",
            labels=["operation"])
        for operation, counts in list(_REQUESTS_BY_OPERATION.items()):
            buckets: list[tuple[str, float]] = []
            total = 0.0
            for bound, count in zip(_BOUNDS, counts, strict=False):
                total += count
                buckets.append((bound, total))
            requests.add_metric([operation], buckets, counts[-1])
        yield requests


REGISTRY.register(_LinkCollector())


class StreamCollector(Collector):
    """The events socket's figures at scrape time: connected, (re)connects, failures, backlog."""

    def __init__(self, stream: EventStream | ClusterStreams) -> None:
        self._stream = stream

    def collect(self) -> Iterator[Metric]:
        stats = self._stream.stats
        yield GaugeMetricFamily("pbx_ari_connected",
                                "1 while the events socket is up and resynced",
                                value=1 if stats.connected else 0)
        yield CounterMetricFamily("pbx_ari_reconnects", "Connections after the first one",
                                  value=stats.reconnects)
        yield CounterMetricFamily("pbx_ari_connect_failures",
                                  "Connection attempts that failed", value=stats.failures)
        yield CounterMetricFamily("pbx_ari_handler_errors",
                                  "Events whose handler raised", value=stats.handler_errors)
        yield GaugeMetricFamily("pbx_ari_events_pending",
                                "Events received and not yet handled", value=stats.pending)
