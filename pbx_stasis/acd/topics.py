"""The ACD's bus events, one frozen dataclass per topic: `AgentStateChanged` on agent:state and
`QueueStatsChanged` on queue:stats (the shapes the pages read: AgentView, QueueStats). The ACD's
publisher (acd/publisher.py) sends them. A call in the ACD is a calls/events.py event."""

from __future__ import annotations

from dataclasses import dataclass

from pbx_stasis.acd.service import AgentView, QueueStats
from pbx_stasis.bus import EventTopic
from pbx_stasis.store.tables import Role
from pbx_stasis.web.routing import ANYONE, at_least


@dataclass(frozen=True)
class AgentStateChanged(AgentView):
    """An agent's state, phone or queues changed: the agent as the pages show them."""


@dataclass(frozen=True)
class QueueStatsChanged(QueueStats):
    """A queue's live figures changed (a call came, was answered or left; an agent moved)."""


# An agent sees only their own state; queues' figures are for supervisors and up.
AGENT_STATE = EventTopic("agent:state", AgentStateChanged, readers=ANYONE, own_key="user_id")
QUEUE_STATS = EventTopic("queue:stats", QueueStatsChanged, readers=at_least(Role.SUPERVISOR))

__all__ = ["AGENT_STATE", "QUEUE_STATS", "AgentStateChanged", "QueueStatsChanged"]
