"""What the ARI link costs and how it fares, for /metrics: events received by type and request
latency by operation, counted in place (a dict lookup and an add per event); the stream's
connection figures are read from `EventStream.stats` only when scraped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the stream and the client count into this module's metrics
    from pbx_stasis.ari.events import EventStream
    from pbx_stasis.ari.nodes import ClusterStreams

EVENTS = Counter("pbx_ari_events", "ARI events received, by type", ["type"])
REQUESTS = Histogram(
    "pbx_ari_request_seconds", "ARI request latency, from sending to Asterisk's answer",
    ["operation"],
    # A socket request takes ~0.2-2 ms; an originate or a playback waits for the channel.
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)

_EVENTS_BY_TYPE: dict[str, Counter] = {}
_REQUESTS_BY_OPERATION: dict[str, Histogram] = {}


def count_event(kind: str) -> None:
    """One ARI event received (its label's child kept: no lock taken to find it again)."""
    child = _EVENTS_BY_TYPE.get(kind)
    if child is None:
        child = _EVENTS_BY_TYPE[kind] = EVENTS.labels(kind)
    child.inc()


def time_request(operation: str, seconds: float) -> None:
    """One ARI request answered after `seconds`."""
    child = _REQUESTS_BY_OPERATION.get(operation)
    if child is None:
        child = _REQUESTS_BY_OPERATION[operation] = REQUESTS.labels(operation)
    child.observe(seconds)


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
