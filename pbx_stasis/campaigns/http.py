"""API of campaigns: make and change them (admins), start, pause and stop them (supervisors
and up), their live dashboard, report and attempts CSV, and preview dialling for agents (the
next lead with its script, then call it from the agent's phone or skip it with a reason)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import ValidationError

from pbx_stasis.acd.directory import queue_key
from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.callscripts.service import CallScripts
from pbx_stasis.campaigns.core import CampaignSettings, Mode, Result, State, fold, occupancy
from pbx_stasis.campaigns.service import (
    CSV_COLUMNS,
    CampaignRefused,
    Campaigns,
    CampaignView,
)
from pbx_stasis.store.errors import AlreadyExists
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import Model, ModelBody, ModelQuery, field_errors, text
from pbx_stasis.web.contract import ServiceError
from pbx_stasis.web.csvfile import csv_text
from pbx_stasis.web.routing import (
    ANYONE,
    Route,
    RouteRequest,
    at_least,
    conflict,
    invalid,
    not_found,
    reply,
)

SUPERVISORS = at_least(Role.SUPERVISOR)
ADMIN = frozenset({Role.ADMIN})
LIVE_WINDOW = timedelta(hours=1)  # the dashboard's rolling abandon rate (as the pacer's)
MAX_PERIOD = timedelta(days=93)


def _store(req: RouteRequest) -> Campaigns:
    return Campaigns(req.site.ctx.db, req.site.ctx.bus)


async def _campaign(req: RouteRequest) -> CampaignView:
    found = await _store(req).get(req.who.tenant_id, req.int_param("campaign_id", "campaign"))
    if found is None:
        raise not_found("campaign")
    return found


async def _checked(req: RouteRequest, body: dict[str, Any]) -> CampaignSettings:
    try:
        settings = CampaignSettings.model_validate(body)
    except ValidationError as exc:
        raise invalid(field_errors(exc)) from None
    queues = {q.name for q in await acd_of(req).queues(req.who.tenant_id)}
    if settings.queue not in queues:
        raise invalid({"queue": "no such queue"})
    if settings.script is not None:
        names = {s.name for s in await CallScripts(req.site.ctx.db).current(req.who.tenant_id)}
        if settings.script not in names:
            raise invalid({"script": "no such call script"})
    return settings


async def list_campaigns(req: RouteRequest) -> web.StreamResponse:
    found = await _store(req).campaigns(req.who.tenant_id)
    return reply({"campaigns": [c.json() for c in found]})


async def get_campaign(req: RouteRequest) -> web.StreamResponse:
    return reply({"campaign": (await _campaign(req)).json()})


async def create_campaign(req: RouteRequest) -> web.StreamResponse:
    settings = await _checked(req, req.body)
    try:
        made = await _store(req).create(req.who.tenant_id, settings, by=req.who.username)
    except LookupError:
        raise invalid({"list_id": "no such lead list"}) from None
    except AlreadyExists as exc:
        raise invalid({"name": str(exc)}) from None
    return reply({"campaign": made.json()}, status=201)


async def update_campaign(req: RouteRequest) -> web.StreamResponse:
    await _campaign(req)  # another tenant's: 404 before anything about its fields
    settings = await _checked(req, req.body)
    try:
        changed = await _store(req).update(req.who.tenant_id,
                                           req.int_param("campaign_id", "campaign"), settings)
    except LookupError:
        raise invalid({"list_id": "no such lead list"}) from None
    except AlreadyExists as exc:
        raise invalid({"name": str(exc)}) from None
    except CampaignRefused as exc:
        raise conflict("campaign-stopped", str(exc)) from None
    if changed is None:
        raise not_found("campaign")
    return reply({"campaign": changed.json()})


def _command(what: str) -> Any:
    async def handle(req: RouteRequest) -> web.StreamResponse:
        try:
            moved = await _store(req).command(req.who.tenant_id,
                                              req.int_param("campaign_id", "campaign"), what)
        except CampaignRefused as exc:
            raise conflict("campaign-state", str(exc)) from None
        if moved is None:
            raise not_found("campaign")
        return reply({"campaign": moved.json()})

    handle.__name__ = f"{what}_campaign"
    return handle


start_campaign, pause_campaign, stop_campaign = (
    _command(w) for w in ("start", "pause", "stop"))


async def dashboard(req: RouteRequest) -> web.StreamResponse:
    """Live: today's figures, the last hour's abandon rate (the pacing's window), the queue's
    agents by state and occupancy, leads left."""
    campaign = await _campaign(req)
    store = _store(req)
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    figures = await store.figures(req.who.tenant_id, campaign.id, since=today)
    window = await store.figures(req.who.tenant_id, campaign.id, since=now - LIVE_WINDOW)
    states: dict[str, int] = {}
    for agent in await acd_of(req).agents(req.who.tenant_id):
        if campaign.settings.queue in agent.queues:
            states[agent.state.value] = states.get(agent.state.value, 0) + 1
    return reply({
        "campaign": campaign.json(),
        "today": figures.json(),
        "window": {**window.json(), "seconds": int(LIVE_WINDOW.total_seconds())},
        "agents": states,
        "occupancy": round(occupancy(states), 4),
        "leads_left": await store.leads_left(campaign),
        "queue_key": queue_key(req.who.tenant_id, campaign.settings.queue),
    })


class Period(Model):
    """GET /api/campaigns/{id}/report and attempts.csv: from `since` to `until` (ISO 8601
    with offset; left out: the campaign's whole life)."""

    since: Annotated[str, text(max_length=40)] | None = None
    until: Annotated[str, text(max_length=40)] | None = None


def _time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise invalid({field: "is not a date and time (ISO 8601)"}) from None
    if at.tzinfo is None:
        raise invalid({field: "needs its UTC offset (e.g. +01:00 or Z)"})
    return at.astimezone(UTC)


def _period(req: RouteRequest) -> tuple[datetime | None, datetime | None]:
    since, until = _time(req.query["since"], "since"), _time(req.query["until"], "until")
    if since is not None and until is not None:
        if until <= since:
            raise invalid({"until": "must be after since"})
        if until - since > MAX_PERIOD:
            raise invalid({"until": "at most 93 days after since"})
    return since, until


async def report(req: RouteRequest) -> web.StreamResponse:
    campaign = await _campaign(req)
    since, until = _period(req)
    attempts = await _store(req).attempts(req.who.tenant_id, campaign.id, since=since,
                                          until=until)
    by_day: dict[str, list[Any]] = {}
    for attempt in attempts:
        by_day.setdefault(attempt.placed_at.date().isoformat(), []).append(attempt.line())
    return reply({
        "campaign": campaign.json(),
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "figures": fold(a.line() for a in attempts).json(),
        "days": [{"day": day, **fold(lines).json()} for day, lines in sorted(by_day.items())],
    })


async def attempts_csv(req: RouteRequest) -> web.StreamResponse:
    campaign = await _campaign(req)
    since, until = _period(req)
    attempts = await _store(req).attempts(req.who.tenant_id, campaign.id, since=since,
                                          until=until)
    rows = [a.json() for a in attempts]
    return web.Response(text=csv_text(CSV_COLUMNS, rows), content_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="campaign-{campaign.id}.csv"'})


async def recent_attempts(req: RouteRequest) -> web.StreamResponse:
    campaign = await _campaign(req)
    found = await _store(req).attempts(req.who.tenant_id, campaign.id, limit=50)
    return reply({"attempts": [a.json() for a in found]})


# --- preview dialling -------------------------------------------------------------------------


async def my_campaigns(req: RouteRequest) -> web.StreamResponse:
    """The running preview campaigns the person may work: an agent's, of their queues."""
    who = req.who
    queues: set[str] | None = None
    if who.role is Role.AGENT:
        try:
            queues = set((await acd_of(req).agent_profile(who.tenant_id, who.user_id)).queues)
        except ServiceError:
            queues = set()
    found = [c for c in await _store(req).campaigns(who.tenant_id)
             if c.state is State.RUNNING and c.settings.mode is Mode.PREVIEW
             and (queues is None or c.settings.queue in queues)]
    return reply({"campaigns": [{"id": c.id, "name": c.name, "queue": c.settings.queue}
                                for c in found]})


async def _preview_campaign(req: RouteRequest) -> CampaignView:
    """A running preview campaign of a queue the agent belongs to."""
    campaign = await _campaign(req)
    who = req.who
    if who.role is Role.AGENT:
        try:
            profile = await acd_of(req).agent_profile(who.tenant_id, who.user_id)
        except ServiceError:
            raise not_found("campaign") from None
        if campaign.settings.queue not in profile.queues:
            raise not_found("campaign")
    if campaign.settings.mode is not Mode.PREVIEW:
        raise conflict("not-preview", f"the campaign dials in {campaign.settings.mode} mode")
    if campaign.state is not State.RUNNING:
        raise conflict("campaign-state", f"the campaign is {campaign.state.value}")
    return campaign


async def preview_next(req: RouteRequest) -> web.StreamResponse:
    """The next lead for the agent (reserved for them until they call or skip it), with the
    campaign's script."""
    campaign = await _preview_campaign(req)
    picks = await _store(req).claim(campaign, 1, now=datetime.now(UTC),
                                    agent_user_id=req.who.user_id)
    script = None
    if campaign.settings.script:
        for found in await CallScripts(req.site.ctx.db).current(req.who.tenant_id):
            if found.name == campaign.settings.script:
                script = {"name": found.name, **found.body.model_dump(mode="json")}
    if not picks:
        return reply({"lead": None, "script": script})
    return reply({"lead": picks[0].json(), "script": script})


async def _reserved(req: RouteRequest, campaign: CampaignView) -> int:
    attempt_id = req.int_param("attempt_id", "attempt")
    found = await _store(req).attempt(req.who.tenant_id, campaign.id, attempt_id)
    if found is None or found.agent_user_id != req.who.user_id:
        raise not_found("attempt")
    if found.result is not None:
        raise conflict("attempt-ended", f"the lead was already {found.result}")
    return attempt_id


async def preview_call(req: RouteRequest) -> web.StreamResponse:
    """Call the reserved lead from the agent's phone (the dialling policy and compliance judge
    it, as every dial). The attempt is `called` until the call ends; then the Stasis side
    writes its outcome on it (campaigns/dialer.py `preview_ended`)."""
    campaign = await _preview_campaign(req)
    attempt_id = await _reserved(req, campaign)
    found = await _store(req).attempt(req.who.tenant_id, campaign.id, attempt_id)
    assert found is not None
    store = _store(req)
    call_id = uuid.uuid4().hex
    await store.calling(attempt_id, call_id)  # its outcome finds it, however soon it ends
    try:
        call_id = await acd_of(req).dial(req.who.tenant_id, req.who.user_id, found.number,
                                         campaign.settings.caller_id, call_id=call_id)
    except ServiceError as exc:
        await store.end(campaign, attempt_id, Result.REFUSED, now=datetime.now(UTC),
                        reason=str(exc))
        raise
    await store.end(campaign, attempt_id, Result.CALLED, now=datetime.now(UTC),
                    call_id=call_id)
    return reply({"call_id": call_id}, status=201)


class Skip(Model):
    """POST .../preview/{attempt_id}/skip: why the agent does not call this lead."""

    reason: Annotated[str, text(max_length=200)]


async def preview_skip(req: RouteRequest) -> web.StreamResponse:
    campaign = await _preview_campaign(req)
    attempt_id = await _reserved(req, campaign)
    await _store(req).end(campaign, attempt_id, Result.SKIPPED, now=datetime.now(UTC),
                          reason=req.body["reason"])
    return reply({"skipped": attempt_id})


BODY = ModelBody(CampaignSettings, defaults=True)
PERIOD = ModelQuery(Period)
C = "/api/campaigns/{campaign_id}"
ROUTES = [
    Route("GET", "/api/campaigns", list_campaigns, SUPERVISORS, "The tenant's campaigns",
          tag="campaigns"),
    Route("POST", "/api/campaigns", create_campaign, ADMIN,
          "A new campaign (draft) over a lead list: its queue's agents, mode (preview, "
          "progressive, predictive), abandon target and message, answering-machine detection "
          "and action, retry policy", body=BODY, tag="campaigns"),
    Route("GET", C, get_campaign, SUPERVISORS, "A campaign", tag="campaigns"),
    Route("PUT", C, update_campaign, ADMIN, "Change a campaign's settings (not a stopped one)",
          body=BODY, tag="campaigns"),
    Route("POST", f"{C}/start", start_campaign, SUPERVISORS,
          "Start (or resume) dialling", tag="campaigns"),
    Route("POST", f"{C}/pause", pause_campaign, SUPERVISORS,
          "Pause: no new calls, those under way finish", tag="campaigns"),
    Route("POST", f"{C}/stop", stop_campaign, SUPERVISORS,
          "Stop for good: no new calls, those under way finish", tag="campaigns"),
    Route("GET", f"{C}/dashboard", dashboard, SUPERVISORS,
          "Live: today's figures, the last hour's abandon rate, agents by state, occupancy, "
          "leads left", tag="campaigns"),
    Route("GET", f"{C}/report", report, SUPERVISORS,
          "A period's figures, in all and by day", query=PERIOD, tag="campaigns"),
    Route("GET", f"{C}/attempts.csv", attempts_csv, SUPERVISORS,
          "A period's attempts as a CSV file", query=PERIOD, tag="campaigns",
          produces=("text/csv",)),
    Route("GET", f"{C}/attempts", recent_attempts, SUPERVISORS,
          "The last 50 attempts, newest first", tag="campaigns"),
    Route("GET", "/api/me/campaigns", my_campaigns, ANYONE,
          "The running preview campaigns you may work (an agent's: of their queues)",
          tag="campaigns"),
    Route("POST", f"{C}/preview/next", preview_next, ANYONE,
          "Preview: the next lead for you (reserved until you call or skip it) and the "
          "campaign's script", tag="campaigns"),
    Route("POST", f"{C}/preview/{{attempt_id}}/call", preview_call, ANYONE,
          "Preview: call your reserved lead from your phone", tag="campaigns"),
    Route("POST", f"{C}/preview/{{attempt_id}}/skip", preview_skip, ANYONE,
          "Preview: skip your reserved lead, with the reason", body=ModelBody(Skip),
          tag="campaigns"),
]
