"""HTTP routes of analytics: a recording's transcript and insights, search across the tenant's
transcripts, the hot-leads list, and the tenant's rules (categories, lead score).

Supervisors and up only: agents do not read transcripts (a transcript says more than one's own
call's audio, and is searchable). Every read is within the session's tenant: a recording of
another tenant is 404, and search looks in the tenant's lines only (the SQL filters by tenant
beside the full-text match, never after it).
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from pbx_stasis.analytics.rules import AnalyticsRulesFields
from pbx_stasis.analytics.store import AnalyticsStore, search_terms
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import QUERY_WHOLE, Model, ModelBody, ModelQuery, text
from pbx_stasis.web.routing import Route, RouteRequest, at_least, invalid, not_found, reply

READERS = at_least(Role.SUPERVISOR)


def store_of(req: RouteRequest) -> AnalyticsStore:
    return AnalyticsStore(req.site.ctx.db)


async def get_transcript(req: RouteRequest) -> web.StreamResponse:
    found = await store_of(req).transcript(req.who.tenant_id, req.param("recording_id"))
    if found is None:
        raise not_found("transcript")
    return reply({"transcript": {
        "recording_id": found.recording_id,
        "call_id": found.call_id,
        "status": found.status,
        "error": found.error,
        "engine": found.engine,
        "language": found.language,
        "audio_seconds": found.audio_seconds,
        "took_seconds": found.took_seconds,
        "created_at": found.created_at,
        "lines": [{"speaker": line.speaker, "start": line.start, "end": line.end,
                   "text": line.text} for line in found.lines],
    }})


async def get_insights(req: RouteRequest) -> web.StreamResponse:
    figures = await store_of(req).insights(req.who.tenant_id, req.param("recording_id"))
    if figures is None:
        raise not_found("insights")
    return reply({"insights": figures})


class TranscriptSearch(Model):
    """GET /api/transcripts/search: lines holding every word of `q`, newest calls first."""

    q: Annotated[str, text(max_length=200)]
    limit: Annotated[int, Field(ge=1, le=200), QUERY_WHOLE] = 50


async def search_transcripts(req: RouteRequest) -> web.StreamResponse:
    query = req.query["q"]
    if not search_terms(query):
        raise invalid({"q": "must hold a word"})
    found = await store_of(req).search(req.who.tenant_id, query, limit=req.query["limit"])
    return reply({"results": [{
        "recording_id": item.recording_id, "call_id": item.call_id,
        "agent_user_id": item.agent_user_id, "speaker": item.speaker, "start": item.start,
        "text": item.text} for item in found]})


async def hot_leads(req: RouteRequest) -> web.StreamResponse:
    leads = await store_of(req).hot_leads(req.who.tenant_id)
    return reply({"leads": [{
        "recording_id": lead.recording_id, "call_id": lead.call_id,
        "agent_user_id": lead.agent_user_id, "queue": lead.queue,
        "from_number": lead.from_number, "score": lead.lead_score, "reasons": lead.reasons,
        "at": lead.computed_at} for lead in leads]})


def _rules_json(fields: AnalyticsRulesFields) -> dict[str, Any]:
    return {"rules": fields.model_dump()}


async def get_rules(req: RouteRequest) -> web.StreamResponse:
    return reply(_rules_json(await store_of(req).rules_fields(req.who.tenant_id)))


RULES = ModelBody(AnalyticsRulesFields)


async def set_rules(req: RouteRequest) -> web.StreamResponse:
    fields = AnalyticsRulesFields.model_validate(req.body)
    await store_of(req).set_rules(req.who.tenant_id, fields)
    return reply(_rules_json(fields))


ROUTES: list[Route] = [
    Route("GET", "/api/recordings/{recording_id}/transcript", get_transcript, READERS,
          "A recording's transcript: lines per speaker (agent, customer) with their times",
          tag="analytics"),
    Route("GET", "/api/recordings/{recording_id}/insights", get_insights, READERS,
          "A recorded call's insights: talk time per side, non-talk, overtalk, longest "
          "monologue, sentiment, categories, lead score", tag="analytics"),
    Route("GET", "/api/transcripts/search", search_transcripts, READERS,
          "Transcript lines holding every word of q (the tenant's calls only)",
          query=ModelQuery(TranscriptSearch), tag="analytics"),
    Route("GET", "/api/analytics/hot-leads", hot_leads, READERS,
          "Calls whose lead score reached the tenant's threshold, newest first",
          tag="analytics"),
    Route("GET", "/api/analytics/rules", get_rules, READERS,
          "The tenant's keyword categories and lead-score rules", tag="analytics"),
    Route("PUT", "/api/analytics/rules", set_rules, at_least(Role.MANAGER),
          "Set the tenant's keyword categories and lead-score rules", body=RULES,
          tag="analytics"),
]
