"""The evaluations' bus event: `EvaluationSaved` on evaluation:saved, each time an evaluation is
made, rescored, or answered by its agent (the feed's payload; the webhooks' evaluation.saved).
An agent reads their own evaluations' events; supervisors and up the tenant's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pbx_stasis.bus import EventTopic
from pbx_stasis.web.routing import ANYONE


@dataclass(frozen=True)
class EvaluationSaved:
    evaluation_id: int
    recording_id: str
    call_id: str
    agent_user_id: int | None
    queue: str | None
    scorecard: str
    score: float  # percent; 0 when a critical question failed it
    failed: bool
    status: str  # submitted, acknowledged, disputed
    by_user_id: int  # who saved it: the supervisor, or the agent answering it
    at: datetime


EVALUATION_SAVED = EventTopic("evaluation:saved", EvaluationSaved, readers=ANYONE,
                              own_key="agent_user_id")

__all__ = ["EVALUATION_SAVED", "EvaluationSaved"]
