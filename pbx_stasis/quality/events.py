"""Call quality's bus event: `CallQualityPoor` on quality:poor, when a talking call's leg scores
under the poor bar (the wallboard warns supervisors while the call goes on)."""

from __future__ import annotations

from dataclasses import dataclass

from pbx_stasis.bus import EventTopic
from pbx_stasis.store.tables import Role
from pbx_stasis.web.routing import at_least


@dataclass(frozen=True)
class CallQualityPoor:
    """A leg of a talking call fell under the poor MES (once per leg and call)."""

    call_id: str
    leg: str  # customer, agent
    mes: float
    loss_percent: float
    jitter_ms: float
    from_number: str
    agent_user_id: int | None


QUALITY_POOR = EventTopic("quality:poor", CallQualityPoor, readers=at_least(Role.SUPERVISOR))

__all__ = ["QUALITY_POOR", "CallQualityPoor"]
