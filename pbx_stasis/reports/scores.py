"""A period's call quality and evaluation scores per queue and per agent (acd/figures.py's
`CallScores`), read from the calls' stored quality legs and evaluations, each counted with
its call's start like the journal's figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from pbx_stasis.acd.figures import CallScores
from pbx_stasis.evaluations.tables import EvaluationRow
from pbx_stasis.quality.core import POOR_MES
from pbx_stasis.quality.tables import CallQualityRow
from pbx_stasis.store import Database
from pbx_stasis.store.tables import Call


@dataclass
class PeriodScores:
    queues: defaultdict[str, CallScores] = field(default_factory=lambda: defaultdict(CallScores))
    agents: defaultdict[int, CallScores] = field(default_factory=lambda: defaultdict(CallScores))

    def _of(self, queue: str | None, agent: int | None) -> list[CallScores]:
        return ([self.queues[queue]] if queue else []) + (
            [self.agents[agent]] if agent is not None else [])


async def period_scores(db: Database, tenant_id: int, start: datetime, end: datetime,
                        poor_below: float = POOR_MES) -> PeriodScores:
    scores = PeriodScores()
    in_period = (Call.tenant_id == tenant_id, Call.started_at >= start, Call.started_at < end)
    legs = (select(CallQualityRow.call_id, Call.queue, Call.agent_user_id, CallQualityRow.mes)
            .join(Call, Call.id == CallQualityRow.call_id)
            .where(CallQualityRow.tenant_id == tenant_id, *in_period)
            .order_by(CallQualityRow.call_id))
    evaluations = (select(EvaluationRow.queue, EvaluationRow.agent_user_id, EvaluationRow.score,
                          EvaluationRow.failed)
                   .join(Call, Call.id == EvaluationRow.call_id)
                   .where(EvaluationRow.tenant_id == tenant_id, *in_period))
    async with db.session() as session:
        calls: dict[str, tuple[str | None, int | None, list[float | None]]] = {}
        for call_id, queue, agent, mes in (await session.execute(legs)).all():
            calls.setdefault(call_id, (queue, agent, []))[2].append(mes)
        for queue, agent, mes_per_leg in calls.values():
            for tally in scores._of(queue, agent):
                tally.add_quality(mes_per_leg, poor_below)
        for queue, agent, score, failed in (await session.execute(evaluations)).all():
            for tally in scores._of(queue, agent):
                tally.add_evaluation(score, failed)
    return scores
