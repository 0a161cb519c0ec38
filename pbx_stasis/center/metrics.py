"""The contact center's figures for /metrics, read from its live read models only when
scraped (nothing is updated per event for them): live calls by stage, and per queue the callers
waiting, the longest wait, agents by state and today's offered/answered/abandoned calls (the
wallboard's read model, acd/stats.py, over acd/figures.py)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from pbx_stasis.acd.directory import split_queue_key
from pbx_stasis.acd.model import AgentState, is_personal_queue
from pbx_stasis.acd.runner import AcdService, CallControlError
from pbx_stasis.acd.service import CallState
from pbx_stasis.calls.records import CallLog
from pbx_stasis.center.live import stage

# Every stage a live call can be in, so a stage with no call reads 0 rather than vanishing.
STAGES = tuple(state for state in CallState if state is not CallState.ENDED)


class CenterCollector(Collector):
    """Live calls by stage and each queue's live figures, from the call log and the ACD."""

    def __init__(self, calls: CallLog, acd: AcdService) -> None:
        self._calls = calls
        self._acd = acd

    def collect(self) -> Iterator[Metric]:
        yield self._calls_by_stage()
        yield from self._queues()

    def _calls_by_stage(self) -> Metric:
        counts: dict[CallState, int] = dict.fromkeys(STAGES, 0)
        for record in self._calls.live_now():
            try:
                counts[stage(self._acd.live(record.id))] += 1
            except CallControlError:  # not the ACD's: in its IVR flow (or its greeting)
                counts[CallState.IVR] += 1
        family = GaugeMetricFamily("pbx_calls", "Live calls by stage", labels=["stage"])
        for state, count in counts.items():
            family.add_metric([str(state)], count)
        return family

    def _queues(self) -> Iterator[Metric]:
        labels = ["tenant", "queue"]
        waiting = GaugeMetricFamily("pbx_queue_waiting_calls", "Callers waiting in the queue",
                                    labels=labels)
        longest = GaugeMetricFamily("pbx_queue_longest_wait_seconds",
                                    "How long the oldest waiting caller has waited",
                                    labels=labels)
        agents = GaugeMetricFamily("pbx_queue_agents", "The queue's logged-in agents by state",
                                   labels=[*labels, "state"])
        offered = GaugeMetricFamily("pbx_queue_offered_today", "Stays begun today",
                                    labels=labels)
        answered = GaugeMetricFamily("pbx_queue_answered_today", "Callers answered today",
                                     labels=labels)
        abandoned = GaugeMetricFamily("pbx_queue_abandoned_today",
                                      "Callers who hung up while waiting, today", labels=labels)
        now = self._acd.clock()
        stats = self._acd.stats
        for key in stats.queue_names():
            if is_personal_queue(key):
                continue
            tenant_id, name = split_queue_key(key)
            at = [str(tenant_id), name]
            snap = stats.queue(key, now)
            waiting.add_metric(at, snap.waiting)
            longest.add_metric(at, snap.longest_wait)
            for state in AgentState:
                if state is not AgentState.OFFLINE:
                    agents.add_metric([*at, str(state)], snap.agents.get(state, 0))
            offered.add_metric(at, snap.offered)
            answered.add_metric(at, snap.answered)
            abandoned.add_metric(at, snap.abandoned)
        yield from (waiting, longest, agents, offered, answered, abandoned)
