"""The write-behind queue for /metrics: each burst's commit time (observed once per burst, not
per row), and its depth and outage read from the writer only when scraped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the writer counts into this module's metrics
    from pbx_stasis.store.writer import StoreWriter

COMMITS = Histogram(
    "pbx_store_commit_seconds", "Write-behind bursts: time to commit one transaction",
    # A lone SQLite transaction costs 2.5-4 ms; a burst of hundreds of rows some tens.
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
COMMITTED = Counter("pbx_store_writes", "Writes (call rows, updates, journal line batches) "
                    "the write-behind queue stored or dropped")


class WriterCollector(Collector):
    """The write-behind queue's depth and whether the database is out, at scrape time."""

    def __init__(self, writer: StoreWriter) -> None:
        self._writer = writer

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("pbx_store_queue_depth",
                                "Writes waiting in the write-behind queue",
                                value=self._writer.pending)
        yield GaugeMetricFamily("pbx_store_outage",
                                "1 while the write-behind queue cannot reach the database",
                                value=1 if self._writer.outage else 0)
