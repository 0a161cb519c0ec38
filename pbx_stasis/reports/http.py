"""Reports API: a period's figures per queue, agent, day and hour (reports/core.py), with each
queue's and agent's call quality and evaluation scores (reports/scores.py), as JSON for the
/reports page and as CSV files for spreadsheets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from pbx_stasis.acd.figures import CallScores
from pbx_stasis.reports.core import (
    AgentFigures,
    DayFigures,
    HourFigures,
    QueueFigures,
    Report,
)
from pbx_stasis.reports.rollup_store import period_report, queue_rules
from pbx_stasis.reports.scores import PeriodScores, period_scores
from pbx_stasis.reports.tables import ReportSettingsRow
from pbx_stasis.store import Database, utc_now
from pbx_stasis.store.tables import Role, User
from pbx_stasis.validation import Day, Model, ModelBody, ModelQuery, left_out, text
from pbx_stasis.web.csvfile import csv_text
from pbx_stasis.web.routing import Route, RouteRequest, at_least, invalid, reply

MAX_DAYS = 92  # a quarter


class Period(Model):
    """GET /api/reports: the days of a report."""

    # `from` is a Python keyword: the field is named by its alias.
    first: Day = left_out(alias="from",
                          description="first day, YYYY-MM-DD; default today")
    last: Day = left_out(alias="to",
                         description="last day, included; default the first day")
    tz: Annotated[str, text(max_length=64)] = left_out(
        description="the time zone of the days and hours (IANA, e.g. Asia/Dubai); default: "
                    "the tenant's (GET /api/reports/settings), else UTC")


class CsvQuery(Period):
    """GET /api/reports/csv: the days, and which table of the report."""

    table: Literal["queues", "agents", "days", "hours"]


REPORT_QUERY = ModelQuery(Period)
_SCORES = list(CallScores().summary())
_COLUMNS = {
    "queues": [*QueueFigures("").summary(), *_SCORES],
    "agents": [*AgentFigures(0).summary(), *_SCORES, "name"],
    "days": list(DayFigures("").summary()),
    "hours": list(HourFigures(0).summary()),
}
CSV_QUERY = ModelQuery(CsvQuery)


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA time zone `name`, None when there is none of that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


async def tenant_zone(db: Database, tenant_id: int) -> str | None:
    """The tenant's default report time zone (None: an admin set none, reports are UTC's)."""
    async with db.session() as session:
        row = await session.get(ReportSettingsRow, tenant_id)
    return row.timezone if row is not None else None


async def _zone(req: RouteRequest) -> ZoneInfo:
    """The report's time zone (`tz`, else the tenant's default): its days run from local
    midnight, its hours are local."""
    name = req.query.get("tz") or await tenant_zone(req.site.ctx.db, req.who.tenant_id) or "UTC"
    zone = zone_named(name)
    if zone is None:
        raise invalid({"tz": "is not a time zone: an IANA name such as Asia/Dubai"})
    return zone


def _period(req: RouteRequest, zone: ZoneInfo) -> tuple[date, date]:
    first = req.query.get("from") or req.site.now().astimezone(zone).date()
    last = req.query.get("to") or first
    if last < first:
        raise invalid({"to": "must not be before from"})
    if (last - first).days >= MAX_DAYS:
        raise invalid({"to": f"a report covers at most {MAX_DAYS} days"})
    return first, last


async def _report(req: RouteRequest) -> tuple[date, date, dict[str, Any]]:
    zone = await _zone(req)
    first, last = _period(req, zone)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    tenant_id = req.who.tenant_id
    rules = await queue_rules(req.site.ctx.db, tenant_id)
    until = min(end, req.site.now()).timestamp()  # a pause still running counts until now
    # Stored quarter hours where rolled, the journal folded for the rest (rollup_store.py).
    report = await period_report(req.site.ctx.db, tenant_id, start.timestamp(),
                                 max(start.timestamp(), until), rules, zone)
    names = select(User.id, User.display_name, User.username).where(User.tenant_id == tenant_id)
    async with req.site.ctx.db.session() as session:
        people = {uid: display or username for uid, display, username in
                  (await session.execute(names)).all()}
    scores = await period_scores(req.site.ctx.db, tenant_id, start, end)
    return first, last, {"tz": zone.key, **_json(report, people.get, scores)}


def _json(report: Report, name: Callable[[int], str | None], scores: PeriodScores
          ) -> dict[str, Any]:
    none = CallScores()
    return {
        "queues": [{**report.queues[q].summary(), **scores.queues.get(q, none).summary()}
                   for q in sorted(report.queues)],
        "agents": sorted(
            ({**a.summary(), **scores.agents.get(a.agent_user_id, none).summary(),
              "name": name(a.agent_user_id) or f"user {a.agent_user_id}"}
             for a in report.agents.values()),
            key=lambda a: str(a["name"]).lower(),
        ),
        "days": [report.days[day].summary() for day in sorted(report.days)],
        "hours": [hour.summary() for hour in report.hours],
    }


async def get_report(req: RouteRequest) -> web.StreamResponse:
    first, last, figures = await _report(req)
    return reply({"from": first.isoformat(), "to": last.isoformat(), **figures})


async def get_report_csv(req: RouteRequest) -> web.StreamResponse:
    first, last, figures = await _report(req)
    table = req.query["table"]
    rows: list[dict[str, Any]] = figures[table]
    zone = figures["tz"].replace("/", "-")
    filename = f"pbx-{table}-{first.isoformat()}_{last.isoformat()}" + (
        "" if zone == "UTC" else f"-{zone}") + ".csv"
    return web.Response(
        text=csv_text(_COLUMNS[table], rows),  # the header line also for a period without calls
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class ReportSettingsFields(Model):
    """PUT /api/reports/settings."""

    timezone: Annotated[str, text(max_length=64)] = Field(
        description="the default time zone of reports (IANA, e.g. Asia/Dubai)")


SETTINGS = ModelBody(ReportSettingsFields)


async def get_report_settings(req: RouteRequest) -> web.StreamResponse:
    return reply({"settings": {"timezone": await tenant_zone(req.site.ctx.db,
                                                             req.who.tenant_id)}})


async def set_report_settings(req: RouteRequest) -> web.StreamResponse:
    name = req.body["timezone"]
    zone = zone_named(name)
    if zone is None:
        raise invalid({"timezone": "is not a time zone: an IANA name such as Asia/Dubai"})
    tenant_id = req.who.tenant_id
    async with req.site.ctx.db.transaction() as tx:
        row = await tx.get(ReportSettingsRow, tenant_id)
        if row is None:
            tx.add(ReportSettingsRow(tenant_id=tenant_id, timezone=zone.key,
                                     updated_at=utc_now()))
        else:
            row.timezone, row.updated_at = zone.key, utc_now()
    return reply({"settings": {"timezone": zone.key}})


ROUTES = [
    Route("GET", "/api/reports/settings", get_report_settings, at_least(Role.SUPERVISOR),
          "The tenant's report settings: the default time zone", tag="reports"),
    Route("PUT", "/api/reports/settings", set_report_settings, frozenset({Role.ADMIN}),
          "Set the tenant's default report time zone (reports without `tz`)", body=SETTINGS,
          tag="reports"),
    Route(
        "GET",
        "/api/reports",
        get_report,
        at_least(Role.SUPERVISOR),
        "A period's figures per queue, per agent, per day and per hour of the day (UTC or `tz`)",
        query=REPORT_QUERY,
        tag="reports",
    ),
    Route(
        "GET",
        "/api/reports/csv",
        get_report_csv,
        at_least(Role.SUPERVISOR),
        "One table of the report (queues, agents, days or hours) as a CSV file",
        query=CSV_QUERY,
        tag="reports",
        produces=("text/csv",),
    ),
]
