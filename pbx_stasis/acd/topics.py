"""The ACD's bus events, one frozen dataclass per topic: `AgentStateChanged` on agent:state and
`QueueStatsChanged` on queue:stats (the shapes the pages read: AgentView, QueueStats). The ACD's
publisher (acd/publisher.py) sends them. A call in the ACD is a calls/events.py event."""

from __future__ import annotations

from dataclasses import dataclass

from pbx_stasis.acd.service import AgentView, QueueStats
from pbx_stasis.bus import EventTopic


@dataclass(frozen=True)
class AgentStateChanged(AgentView):
    """An agent's state, phone or queues changed: the agent as the pages show them."""


@dataclass(frozen=True)
class QueueStatsChanged(QueueStats):
    """A queue's live figures changed (a call came, was answered or left; an agent moved)."""


AGENT_STATE = EventTopic("agent:state", AgentStateChanged)
QUEUE_STATS = EventTopic("queue:stats", QueueStatsChanged)

__all__ = ["AGENT_STATE", "QUEUE_STATS", "AgentStateChanged", "QueueStatsChanged"]
