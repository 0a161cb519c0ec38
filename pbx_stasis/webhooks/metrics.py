"""The webhook delivery queue for /metrics: what waits (events not yet written as deliveries,
deliveries being posted, rows held while the database is away) read when scraped; attempts by
outcome, each POST's time and each delivery's lag from its event counted as they happen (once
per attempt, off the call path: the web process's dispatcher)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the dispatcher counts into this module's metrics
    from pbx_stasis.webhooks.service import Webhooks

ATTEMPTS = Counter("pbx_webhook_attempts", "Webhook POSTs by outcome: delivered, failed (to be "
                   "tried again) or gave_up (its retries used up)", ["outcome"])
POST_SECONDS = Histogram(
    "pbx_webhook_post_seconds", "Time of one webhook POST, connection included",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
LAG_SECONDS = Histogram(
    "pbx_webhook_delivery_lag_seconds",
    "From the event to its delivery acknowledged by the receiver (retries included)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0, 3600.0, 86400.0))


class WebhookCollector(Collector):
    """The delivery queue's depth by stage and the events it dropped, at scrape time."""

    def __init__(self, hooks: Webhooks) -> None:
        self._hooks = hooks

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("pbx_webhook_queue_depth",
                                  "Webhook work waiting, by stage: events not yet written as "
                                  "deliveries, rows held while the database is away, deliveries "
                                  "being posted", labels=["stage"])
        for stage, value in self._hooks.depth().items():
            depth.add_metric([stage], value)
        yield depth
        yield CounterMetricFamily("pbx_webhook_events_dropped",
                                  "Events dropped because the delivery queue was full",
                                  value=self._hooks.dropped)
