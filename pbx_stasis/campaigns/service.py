"""Campaigns as stored: their settings and state, the leads each one claims for a dial, its
attempts and what their end does to the lead (core.after_attempt), and its figures (core.fold).
The web side (API, CLI) and the Stasis side's dialer both go through `Campaigns`."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pbx_stasis.bus import Bus
from pbx_stasis.campaigns.core import (
    ANSWERED_NOTE,
    DIALLING,
    AttemptLine,
    CampaignSettings,
    Figures,
    Mode,
    Result,
    State,
    after_attempt,
    fold,
    lead_due,
    left_over,
)
from pbx_stasis.campaigns.events import CAMPAIGN_CHANGED, CampaignChanged
from pbx_stasis.campaigns.tables import CampaignAttempt, CampaignRow
from pbx_stasis.crm.dispositions import CallOutcome
from pbx_stasis.leads.tables import Lead, LeadList
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.errors import AlreadyExists
from pbx_stasis.store.tables import CallEvent

# How many leads past the first due ones a claim reads to find `n` due now (the rest wait for
# their retry delay); leads never tried come first (in the file's order), then the longest
# since their last attempt (a skipped preview lead goes to the back).
CLAIM_SCAN = 200
# A campaign may move from the states on the left with each command.
MOVES: dict[str, frozenset[State]] = {
    "start": frozenset({State.DRAFT, State.PAUSED, State.RUNNING}),
    "pause": frozenset({State.RUNNING, State.PAUSED}),
    "stop": frozenset({State.DRAFT, State.RUNNING, State.PAUSED, State.STOPPED}),
}
TARGET = {"start": State.RUNNING, "pause": State.PAUSED, "stop": State.STOPPED}


class CampaignRefused(ValueError):
    """A change a campaign cannot take (its state): a 409."""


@dataclass(frozen=True)
class CampaignView:
    id: int
    tenant_id: int
    name: str
    state: State
    settings: CampaignSettings
    created_by: str
    created_at: datetime
    started_at: datetime | None

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "state": self.state.value,
                "settings": self.settings.model_dump(mode="json"),
                "created_by": self.created_by, "created_at": self.created_at.isoformat(),
                "started_at": self.started_at.isoformat() if self.started_at else None}


@dataclass(frozen=True)
class LeadPick:
    """A lead claimed for one attempt: the attempt's id, and what the agent or dialer needs."""

    attempt_id: int
    lead_id: int
    number: str
    name: str | None
    time_zone: str | None
    attempts: int  # counting this one
    custom_fields: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return {"attempt_id": self.attempt_id, "lead_id": self.lead_id, "number": self.number,
                "name": self.name, "time_zone": self.time_zone, "attempts": self.attempts,
                "custom_fields": self.custom_fields}


@dataclass(frozen=True)
class AttemptView:
    id: int
    lead_id: int | None
    number: str
    mode: str
    placed_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    result: str | None
    amd: str | None
    reason: str | None
    agent_user_id: int | None
    call_id: str | None
    talk_s: float | None
    disposition: str | None = None  # the agent's wrap-up outcome of its call

    def line(self) -> AttemptLine:
        return AttemptLine(self.result, self.placed_at, self.answered_at, self.ended_at,
                           self.talk_s)

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "lead_id": self.lead_id, "number": self.number,
                "mode": self.mode, "placed_at": self.placed_at.isoformat(),
                "answered_at": self.answered_at.isoformat() if self.answered_at else None,
                "ended_at": self.ended_at.isoformat() if self.ended_at else None,
                "result": self.result, "amd": self.amd, "reason": self.reason,
                "agent_user_id": self.agent_user_id, "call_id": self.call_id,
                "talk_s": self.talk_s, "disposition": self.disposition}


CSV_COLUMNS = ["id", "lead_id", "number", "mode", "placed_at", "answered_at", "ended_at",
               "result", "amd", "reason", "agent_user_id", "call_id", "talk_s", "disposition"]


def _view(row: CampaignRow) -> CampaignView:
    return CampaignView(row.id, row.tenant_id, row.name, State(row.state),
                        CampaignSettings.model_validate({**row.settings, "name": row.name}),
                        row.created_by, row.created_at, row.started_at)


def _attempt(row: CampaignAttempt) -> AttemptView:
    return AttemptView(row.id, row.lead_id, row.number, row.mode, row.placed_at,
                       row.answered_at, row.ended_at, row.result, row.amd, row.reason,
                       row.agent_user_id, row.call_id, row.talk_s, row.disposition)


class Campaigns:
    """The tenants' campaigns and their attempts."""

    def __init__(self, db: Database, bus: Bus | None = None) -> None:
        self.db = db
        self.bus = bus  # campaign:changed goes on it (the dashboards redraw)

    def _changed(self, tenant_id: int, change: CampaignChanged) -> None:
        if self.bus is not None:
            self.bus.publish(CAMPAIGN_CHANGED, tenant_id, change)

    # --- campaigns ---------------------------------------------------------------------------

    async def campaigns(self, tenant_id: int) -> list[CampaignView]:
        async with self.db.session() as session:
            rows = await session.scalars(select(CampaignRow).where(
                CampaignRow.tenant_id == tenant_id).order_by(CampaignRow.name))
            return [_view(row) for row in rows]

    async def get(self, tenant_id: int, campaign_id: int) -> CampaignView | None:
        async with self.db.session() as session:
            row = await session.scalar(select(CampaignRow).where(
                CampaignRow.tenant_id == tenant_id, CampaignRow.id == campaign_id))
            return None if row is None else _view(row)

    async def running(self) -> list[CampaignView]:
        """Every tenant's running campaigns (the dialer's)."""
        async with self.db.session() as session:
            rows = await session.scalars(select(CampaignRow).where(
                CampaignRow.state == State.RUNNING.value).order_by(CampaignRow.id))
            return [_view(row) for row in rows]

    async def _check_list(self, tenant_id: int, list_id: int) -> None:
        async with self.db.session() as session:
            if await session.scalar(select(LeadList.id).where(
                    LeadList.id == list_id, LeadList.tenant_id == tenant_id)) is None:
                raise LookupError("list_id")

    async def create(self, tenant_id: int, settings: CampaignSettings, *,
                     by: str) -> CampaignView:
        """A new campaign (draft). LookupError: no such list; AlreadyExists: the name."""
        await self._check_list(tenant_id, settings.list_id)
        now = utc_now()
        async with self.db.transaction() as tx:
            if await tx.scalar(select(CampaignRow.id).where(
                    CampaignRow.tenant_id == tenant_id, CampaignRow.name == settings.name)):
                raise AlreadyExists(f"a campaign named {settings.name!r} already exists")
            row = CampaignRow(tenant_id=tenant_id, name=settings.name,
                              list_id=settings.list_id, settings=_stored(settings),
                              state=State.DRAFT.value, created_by=by[:100], created_at=now,
                              updated_at=now)
            tx.add(row)
            await tx.flush()
            made = _view(row)
        self._changed(tenant_id, CampaignChanged(made.id, "state", state=made.state.value))
        return made

    async def update(self, tenant_id: int, campaign_id: int, settings: CampaignSettings
                     ) -> CampaignView | None:
        """New settings (a running campaign dials with them from its next tick).
        LookupError: no such list; AlreadyExists: another campaign has the name;
        CampaignRefused: a stopped campaign."""
        await self._check_list(tenant_id, settings.list_id)
        async with self.db.transaction() as tx:
            row = await tx.scalar(select(CampaignRow).where(
                CampaignRow.tenant_id == tenant_id, CampaignRow.id == campaign_id))
            if row is None:
                return None
            if row.state == State.STOPPED.value:
                raise CampaignRefused("the campaign is stopped: make a new one")
            if await tx.scalar(select(CampaignRow.id).where(
                    CampaignRow.tenant_id == tenant_id, CampaignRow.name == settings.name,
                    CampaignRow.id != campaign_id)):
                raise AlreadyExists(f"a campaign named {settings.name!r} already exists")
            row.name, row.list_id, row.settings = settings.name, settings.list_id, \
                _stored(settings)
            row.updated_at = utc_now()
            changed = _view(row)
        self._changed(tenant_id, CampaignChanged(changed.id, "state", state=changed.state.value))
        return changed

    async def command(self, tenant_id: int, campaign_id: int, what: str) -> CampaignView | None:
        """start, pause or stop (CampaignRefused: not from its state)."""
        async with self.db.transaction() as tx:
            row = await tx.scalar(select(CampaignRow).where(
                CampaignRow.tenant_id == tenant_id, CampaignRow.id == campaign_id))
            if row is None:
                return None
            state = State(row.state)
            if state not in MOVES[what]:
                raise CampaignRefused(f"a {state.value} campaign cannot {what}")
            row.state = TARGET[what].value
            row.updated_at = utc_now()
            if what == "start" and row.started_at is None:
                row.started_at = row.updated_at
            moved = _view(row)
        self._changed(tenant_id, CampaignChanged(moved.id, "state", state=moved.state.value))
        return moved

    # --- leads and attempts ------------------------------------------------------------------

    async def claim(self, campaign: CampaignView, n: int, *, now: datetime,
                    agent_user_id: int | None = None) -> list[LeadPick]:
        """Up to `n` leads of the campaign's list due now, each marked as being dialled (its
        attempts counted) with an attempt row opened: never claimed twice at once."""
        if n <= 0:
            return []
        settings = campaign.settings
        picked: list[LeadPick] = []
        async with self.db.transaction() as tx:
            leads = await tx.scalars(
                select(Lead).where(Lead.list_id == settings.list_id,
                                   Lead.tenant_id == campaign.tenant_id,
                                   Lead.status.in_(("new", "open")),
                                   Lead.attempts < settings.max_attempts)
                .order_by(Lead.last_attempt_at.is_not(None), Lead.last_attempt_at, Lead.id)
                .limit(CLAIM_SCAN + n))
            for lead in leads:
                if len(picked) >= n:
                    break
                if not lead_due(status=lead.status, attempts=lead.attempts,
                                last_outcome=lead.last_outcome,
                                last_attempt_at=lead.last_attempt_at, settings=settings,
                                now=now):
                    continue
                tried = lead.attempts  # before the update (the session refreshes `lead`)
                taken = await tx.execute(
                    update(Lead).where(Lead.id == lead.id, Lead.attempts == tried)
                    .values(attempts=tried + 1, last_outcome=DIALLING,
                            last_attempt_at=now, status="open"))
                if not taken.rowcount:  # type: ignore[attr-defined]
                    continue  # another claim took it first
                attempt = CampaignAttempt(
                    tenant_id=campaign.tenant_id, campaign_id=campaign.id, lead_id=lead.id,
                    number=lead.number, mode=settings.mode.value, placed_at=now,
                    agent_user_id=agent_user_id)
                tx.add(attempt)
                await tx.flush()
                picked.append(LeadPick(attempt.id, lead.id, lead.number, lead.name,
                                       lead.time_zone, tried + 1,
                                       dict(lead.custom_fields or {})))
        for pick in picked:
            self._changed(campaign.tenant_id, CampaignChanged(campaign.id, "placed",
                                                              attempt_id=pick.attempt_id))
        return picked

    async def attempt(self, tenant_id: int, campaign_id: int,
                      attempt_id: int) -> AttemptView | None:
        async with self.db.session() as session:
            row = await session.scalar(select(CampaignAttempt).where(
                CampaignAttempt.id == attempt_id, CampaignAttempt.tenant_id == tenant_id,
                CampaignAttempt.campaign_id == campaign_id))
            return None if row is None else _attempt(row)

    async def answered(self, campaign: CampaignView, attempt_id: int, *, at: datetime,
                       amd: str | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(update(CampaignAttempt).where(CampaignAttempt.id == attempt_id)
                             .values(answered_at=at, amd=amd))
        self._changed(campaign.tenant_id, CampaignChanged(campaign.id, "answered",
                                                          attempt_id=attempt_id))

    async def calling(self, attempt_id: int, call_id: str) -> None:
        """A preview attempt's call is about to be placed as `call_id`: its outcome finds
        the attempt by it (preview_outcome), even before the dial returns."""
        async with self.db.transaction() as tx:
            await tx.execute(update(CampaignAttempt).where(CampaignAttempt.id == attempt_id)
                             .values(call_id=call_id))

    async def end(self, campaign: CampaignView, attempt_id: int, result: Result, *,
                  now: datetime, reason: str | None = None, call_id: str | None = None,
                  agent_user_id: int | None = None, talk_s: float | None = None,
                  amd: str | None = None) -> None:
        """The attempt ended with `result`: its row, and its lead as core.after_attempt says
        (a refused dial is no attempt of the lead's)."""
        async with self.db.transaction() as tx:
            row = await tx.scalar(select(CampaignAttempt).where(
                CampaignAttempt.id == attempt_id))
            if row is None or row.result is not None:
                return
            await _ended(tx, campaign, row, result, now=now, reason=reason, call_id=call_id,
                         agent_user_id=agent_user_id, talk_s=talk_s, amd=amd)
        self._changed(campaign.tenant_id, CampaignChanged(
            campaign.id, "ended", attempt_id=attempt_id, result=result.value))

    async def preview_outcome(self, tenant_id: int, call_id: str, result: Result, *,
                              now: datetime, answered_at: datetime | None = None,
                              talk_s: float | None = None, agent_user_id: int | None = None,
                              reason: str | None = None) -> bool:
        """The outcome of an agent's preview call `call_id` (core.preview_result) on its
        attempt, "called" until now (or not yet marked: the call ended before the dial's
        answer), and on its lead, as `end` does for the dialler's calls. False when the call
        is no preview attempt's (or its outcome is there already)."""
        async with self.db.transaction() as tx:
            row = await tx.scalar(select(CampaignAttempt).where(
                CampaignAttempt.tenant_id == tenant_id, CampaignAttempt.call_id == call_id,
                CampaignAttempt.mode == Mode.PREVIEW.value))
            if row is None or row.result not in (None, Result.CALLED.value):
                return False
            campaign = await tx.scalar(select(CampaignRow).where(
                CampaignRow.id == row.campaign_id))
            if campaign is None:
                return False
            view = _view(campaign)
            row.result = None  # "called" gives way to the outcome
            if answered_at is not None:
                row.answered_at = answered_at
            await _ended(tx, view, row, result, now=now, reason=reason,
                         agent_user_id=agent_user_id, talk_s=talk_s)
            attempt_id = row.id
        self._changed(tenant_id, CampaignChanged(view.id, "ended", attempt_id=attempt_id,
                                                 result=result.value))
        return True

    async def on_outcome(self, tx: AsyncSession, tenant_id: int, user_id: int,
                         outcome: CallOutcome) -> None:
        """An agent's wrap-up (crm's Outcomes hook, in its transaction): the disposition goes
        on the attempt of its call, whichever mode placed it."""
        await tx.execute(update(CampaignAttempt).where(
            CampaignAttempt.tenant_id == tenant_id, CampaignAttempt.call_id == outcome.call_id)
            .values(disposition=outcome.disposition[:100]))

    async def close_dangling(self, campaign: CampaignView, *, now: datetime,
                             keep: Set[int] = frozenset()) -> int:
        """Attempts a stopped process left without a result end (at a start; `keep`: those
        this process has under way): a person who reached an agent as connected (the
        restarted app carries their talk over), the others as failed (`core.left_over`)."""
        async with self.db.session() as session:
            dangling = {attempt_id: placed for attempt_id, placed in await session.execute(
                select(CampaignAttempt.id, CampaignAttempt.placed_at).where(
                    CampaignAttempt.campaign_id == campaign.id,
                    CampaignAttempt.result.is_(None),
                    CampaignAttempt.mode != Mode.PREVIEW.value))
                if attempt_id not in keep}
            if not dangling:
                return 0
            calls: dict[int, str] = {}  # attempt -> its answered call
            for call_id, data in await session.execute(
                    select(CallEvent.call_id, CallEvent.data).where(
                        CallEvent.tenant_id == campaign.tenant_id,
                        CallEvent.event == ANSWERED_NOTE,
                        CallEvent.at >= min(dangling.values()))):
                attempt = (data or {}).get("attempt")
                if isinstance(attempt, int) and attempt in dangling and call_id:
                    calls[attempt] = call_id
            rows: dict[str, list[tuple[str, int | None, dict[str, Any]]]] = {}
            if calls:
                for call_id, event, user_id, data in await session.execute(
                        select(CallEvent.call_id, CallEvent.event, CallEvent.agent_user_id,
                               CallEvent.data)
                        .where(CallEvent.call_id.in_(set(calls.values())))
                        .order_by(CallEvent.id)):
                    rows.setdefault(call_id, []).append((event, user_id, data or {}))
        for attempt_id in dangling:
            call_id = calls.get(attempt_id)
            ended = left_over(call_id, rows.get(call_id or "", []))
            await self.end(campaign, attempt_id, ended.result, now=now, reason="app restarted",
                           call_id=ended.call_id, agent_user_id=ended.agent_user_id,
                           talk_s=ended.talk_s)
        return len(dangling)

    async def attempts(self, tenant_id: int, campaign_id: int, *,
                       since: datetime | None = None, until: datetime | None = None,
                       limit: int | None = None) -> list[AttemptView]:
        where = [CampaignAttempt.tenant_id == tenant_id,
                 CampaignAttempt.campaign_id == campaign_id]
        if since is not None:
            where.append(CampaignAttempt.placed_at >= since)
        if until is not None:
            where.append(CampaignAttempt.placed_at < until)
        statement = select(CampaignAttempt).where(*where).order_by(CampaignAttempt.id)
        if limit is not None:
            statement = statement.order_by(None).order_by(CampaignAttempt.id.desc()).limit(limit)
        async with self.db.session() as session:
            return [_attempt(row) for row in await session.scalars(statement)]

    async def figures(self, tenant_id: int, campaign_id: int, *,
                      since: datetime | None = None,
                      until: datetime | None = None) -> Figures:
        return fold(a.line() for a in await self.attempts(tenant_id, campaign_id, since=since,
                                                          until=until))

    async def leads_left(self, campaign: CampaignView) -> int:
        """Leads of the list not finished and under the campaign's maximum attempts."""
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(Lead).where(
                Lead.list_id == campaign.settings.list_id,
                Lead.tenant_id == campaign.tenant_id, Lead.status.in_(("new", "open")),
                Lead.attempts < campaign.settings.max_attempts)) or 0)


async def _ended(tx: AsyncSession, campaign: CampaignView, row: CampaignAttempt, result: Result,
                 *, now: datetime, reason: str | None = None, call_id: str | None = None,
                 agent_user_id: int | None = None, talk_s: float | None = None,
                 amd: str | None = None) -> None:
    """An attempt's end on its row, and on its lead as core.after_attempt says: the one
    rule of every mode."""
    row.result, row.ended_at = result.value, now
    row.reason = reason[:200] if reason else None
    if call_id is not None:
        row.call_id = call_id
    if agent_user_id is not None:
        row.agent_user_id = agent_user_id
    if talk_s is not None:
        row.talk_s = talk_s
    if amd is not None:
        row.amd = amd
    if row.lead_id is None:
        return
    lead = await tx.scalar(select(Lead).where(Lead.id == row.lead_id))
    if lead is None:
        return
    if result in (Result.REFUSED, Result.SKIPPED):
        lead.attempts = max(0, lead.attempts - 1)
    change = after_attempt(result, attempts=lead.attempts, settings=campaign.settings, now=now)
    lead.status, lead.last_outcome, lead.last_attempt_at = \
        change.status, change.last_outcome, now


def _stored(settings: CampaignSettings) -> dict[str, Any]:
    return settings.model_dump(mode="json", exclude={"name"})

