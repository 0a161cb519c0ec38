"""Samples of the evaluations' routes for test_web_access: a scorecard of the owner tenant (its
name carries the owner's marker, so the other tenant's list must not show it), a recorded call
of an agent's with its insights, and an evaluation of it."""

from __future__ import annotations

import itertools
from typing import Any

from analytics_samples import transcribed_recording

from pbx_stasis.demo import SCORECARD
from pbx_stasis.evaluations.model import EvaluationFields, ScorecardFields
from pbx_stasis.evaluations.service import EVALUATIONS
from pbx_stasis.recording.tables import Recording

_unique = itertools.count(1)
ANSWERS = {"greeting": {"value": True}, "verified": {"value": True},
           "listening": {"value": True}, "tone": {"value": 4, "comment": "Warm (acme)"},
           "resolution": {"value": "Resolved"}, "closing": {"value": False}}


async def scorecard(world: Any, tenant: str) -> int:
    """A new scorecard of `tenant` (the demo's, under a name of its own); its id."""
    fields = ScorecardFields.model_validate(
        {**SCORECARD, "name": f"Quality {next(_unique)} ({tenant})"})
    admin = world.tenant_ids[tenant]
    card = await world.app[EVALUATIONS].save_scorecard(admin, fields, 1)
    return int(card.id)


async def agents_recording(world: Any, tenant: str, agent_user_id: int | None) -> str:
    """A transcribed recording of `tenant` taken by `agent_user_id`; its id."""
    recording_id = await transcribed_recording(world, tenant)
    async with world.db.transaction() as tx:
        row = await tx.get(Recording, recording_id)
        row.agent_user_id = agent_user_id
    return recording_id


async def evaluation(world: Any, tenant: str, agent_user_id: int | None) -> int:
    """A new evaluation of `tenant`, of `agent_user_id`'s call; its id."""
    card = await scorecard(world, tenant)
    recording_id = await agents_recording(world, tenant, agent_user_id)
    view = await world.app[EVALUATIONS].evaluate(
        world.tenant_ids[tenant], recording_id,
        EvaluationFields.model_validate({"scorecard_id": card, "answers": ANSWERS}), 1)
    return int(view.id)
