"""Analytics in the database: transcripts and their lines, full-text search within a tenant,
calls' insights and hot leads, the tenants' rules, and which recordings await transcription."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, text

from pbx_stasis.analytics.insights import CategoryRule, Insights, LeadRules, Line, rescored
from pbx_stasis.analytics.rules import AnalyticsRulesFields, categories_of, lead_of
from pbx_stasis.analytics.tables import AnalyticsRules, CallInsight, Transcript, TranscriptLine
from pbx_stasis.recording.store import RecordingRecord, record_of
from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store import Database, utc_now
from pbx_stasis.store.tables import Call, CallEvent

DONE, FAILED, NO_ENGINE = "done", "failed", "no-engine"
LANGUAGE_EVENT = "ivr.language"  # the IVR's journal line when a flow sets the call's language


@dataclass(frozen=True, slots=True)
class TranscriptView:
    recording_id: str
    call_id: str
    status: str
    error: str | None
    engine: str | None
    language: str
    audio_seconds: float
    took_seconds: float
    created_at: datetime
    lines: list[Line]


@dataclass(frozen=True, slots=True)
class Found:
    """A transcript line that matched a search, with its recording."""

    recording_id: str
    call_id: str
    agent_user_id: int | None
    speaker: str
    start: float
    text: str


@dataclass(frozen=True, slots=True)
class HotLead:
    recording_id: str
    call_id: str
    agent_user_id: int | None
    queue: str | None
    from_number: str
    lead_score: float
    reasons: list[str]
    computed_at: datetime


def search_terms(query: str) -> list[str]:
    """The words of a search (letters and digits), at most 10; punctuation and FTS syntax are
    dropped, so a query is never an expression the index could refuse."""
    return re.findall(r"\w+", query.lower())[:10]


class AnalyticsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- rules ------------------------------------------------------------------------------

    async def rules_fields(self, tenant_id: int) -> AnalyticsRulesFields:
        async with self.db.session() as session:
            row = await session.get(AnalyticsRules, tenant_id)
        if row is None:
            return AnalyticsRulesFields()
        return AnalyticsRulesFields.model_validate({"categories": row.categories,
                                                    "lead": row.lead})

    async def rules(self, tenant_id: int) -> tuple[list[CategoryRule], LeadRules]:
        fields = await self.rules_fields(tenant_id)
        dumped = fields.model_dump()
        return categories_of(dumped["categories"]), lead_of(dumped["lead"])

    async def set_rules(self, tenant_id: int, fields: AnalyticsRulesFields) -> None:
        dumped = fields.model_dump()
        async with self.db.transaction() as tx:
            row = await tx.get(AnalyticsRules, tenant_id)
            if row is None:
                tx.add(AnalyticsRules(tenant_id=tenant_id, categories=dumped["categories"],
                                      lead=dumped["lead"], updated_at=utc_now()))
            else:
                row.categories, row.lead = dumped["categories"], dumped["lead"]
                row.updated_at = utc_now()

    # --- the worker's side ------------------------------------------------------------------

    async def pending(self, limit: int) -> list[RecordingRecord]:
        """Recordings with something to transcribe (a call's per-speaker tracks, a voicemail)
        and no transcript yet, oldest first."""
        statement = (
            select(Recording)
            .outerjoin(Transcript, Transcript.recording_id == Recording.id)
            .where(Transcript.id.is_(None))
            .where((Recording.kind == RecordingKind.VOICEMAIL) | Recording.tracks_path.is_not(None))
            .order_by(Recording.created_at)
            .limit(limit)
        )
        async with self.db.session() as session:
            return [record_of(row) for row in await session.scalars(statement)]

    async def transcribed(self, recording_id: str) -> bool:
        """Whether the recording has its transcript (whatever its status) already."""
        async with self.db.session() as session:
            found = await session.scalar(
                select(Transcript.id).where(Transcript.recording_id == recording_id))
        return found is not None

    async def call_context(self, call_id: str) -> tuple[str, str | None]:
        """(the call's language as its IVR last set it, else "en"; its outcome)."""
        language = select(CallEvent.data).where(
            CallEvent.call_id == call_id, CallEvent.event == LANGUAGE_EVENT
        ).order_by(CallEvent.id.desc()).limit(1)
        async with self.db.session() as session:
            data = await session.scalar(language)
            outcome = await session.scalar(select(Call.disposition).where(Call.id == call_id))
        chosen = data.get("language") if isinstance(data, dict) else None
        return (str(chosen) if chosen else "en"), outcome

    async def save(self, record: RecordingRecord, *, status: str, language: str,
                   engine: str | None = None, error: str | None = None,
                   audio_seconds: float = 0.0, took_seconds: float = 0.0,
                   lines: list[Line] | None = None, insights: Insights | None = None) -> None:
        """A recording's transcript (lines and insights with it), in one transaction."""
        async with self.db.transaction() as tx:
            transcript = Transcript(
                tenant_id=record.tenant_id, recording_id=record.id, call_id=record.call_id,
                status=status, error=error[:500] if error else None, engine=engine,
                language=language[:16], audio_seconds=round(audio_seconds, 3),
                took_seconds=round(took_seconds, 3), created_at=utc_now())
            tx.add(transcript)
            await tx.flush()
            tx.add_all(TranscriptLine(transcript_id=transcript.id, tenant_id=record.tenant_id,
                                      speaker=line.speaker, start=line.start, end=line.end,
                                      text=line.text) for line in lines or [])
            if insights is not None:
                tx.add(CallInsight(
                    recording_id=record.id, tenant_id=record.tenant_id,
                    call_id=record.call_id, agent_user_id=record.agent_user_id,
                    queue=record.queue, figures=insights.figures(),
                    lead_score=round(insights.lead_score, 2), hot=insights.hot,
                    computed_at=utc_now()))

    async def rescore(self, tenant_id: int, call_id: str, outcome: str | None
                      ) -> list[tuple[CallInsight, str | None]]:
        """The lead score of a call's insights again for its new outcome (its disposition);
        the rows changed (each with the outcome), in one transaction."""
        _, lead = await self.rules(tenant_id)
        changed: list[tuple[CallInsight, str | None]] = []
        async with self.db.transaction() as tx:
            rows = await tx.scalars(select(CallInsight).where(
                CallInsight.tenant_id == tenant_id, CallInsight.call_id == call_id))
            for row in rows:
                figures = rescored(row.figures, lead, outcome)
                row.figures = figures
                row.lead_score, row.hot = figures["lead"]["score"], figures["lead"]["hot"]
                row.computed_at = utc_now()
                changed.append((row, outcome))
        return changed

    # --- readers (always within one tenant) -------------------------------------------------

    async def transcript(self, tenant_id: int, recording_id: str) -> TranscriptView | None:
        async with self.db.session() as session:
            row = await session.scalar(select(Transcript).where(
                Transcript.tenant_id == tenant_id, Transcript.recording_id == recording_id))
            if row is None:
                return None
            lines = await session.scalars(
                select(TranscriptLine).where(TranscriptLine.transcript_id == row.id)
                .order_by(TranscriptLine.start, TranscriptLine.id))
            return TranscriptView(
                row.recording_id, row.call_id, row.status, row.error, row.engine, row.language,
                row.audio_seconds, row.took_seconds, row.created_at,
                [Line(line.speaker, line.start, line.end, line.text) for line in lines])

    async def insights(self, tenant_id: int, recording_id: str) -> dict[str, Any] | None:
        async with self.db.session() as session:
            row = await session.get(CallInsight, recording_id)
        if row is None or row.tenant_id != tenant_id:
            return None
        return row.figures

    async def search(self, tenant_id: int, query: str, *, only_agent: int | None = None,
                     limit: int = 50) -> list[Found]:
        """Transcript lines of the tenant holding every word of `query` (full-text index)."""
        terms = search_terms(query)
        if not terms:
            return []
        statement = (
            select(TranscriptLine, Transcript.recording_id, Transcript.call_id,
                   Recording.agent_user_id)
            .join(Transcript, Transcript.id == TranscriptLine.transcript_id)
            .join(Recording, Recording.id == Transcript.recording_id)
            .where(TranscriptLine.tenant_id == tenant_id, Transcript.tenant_id == tenant_id)
            .order_by(Transcript.created_at.desc(), TranscriptLine.start)
            .limit(limit)
        )
        if only_agent is not None:
            statement = statement.where(Recording.agent_user_id == only_agent)
        if self.db.backend == "sqlite":
            match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
            statement = statement.where(TranscriptLine.id.in_(
                select(text("rowid")).select_from(text("transcript_search"))
                .where(text("transcript_search MATCH :match"))
            )).params(match=match)
        else:
            statement = statement.where(
                func.to_tsvector("simple", TranscriptLine.text).op("@@")(
                    func.plainto_tsquery("simple", " ".join(terms))))
        async with self.db.session() as session:
            rows = (await session.execute(statement)).all()
        return [Found(recording_id, call_id, agent, line.speaker, line.start, line.text)
                for line, recording_id, call_id, agent in rows]

    async def hot_leads(self, tenant_id: int, limit: int = 100) -> list[HotLead]:
        """The tenant's hot leads, newest first, with the caller's number to call back."""
        statement = (
            select(CallInsight, Call.from_number)
            .join(Call, and_(Call.id == CallInsight.call_id))
            .where(CallInsight.tenant_id == tenant_id, CallInsight.hot.is_(True))
            .order_by(CallInsight.computed_at.desc())
            .limit(limit)
        )
        async with self.db.session() as session:
            rows = (await session.execute(statement)).all()
        return [HotLead(row.recording_id, row.call_id, row.agent_user_id, row.queue, number,
                        row.lead_score, list(row.figures.get("lead", {}).get("reasons", [])),
                        row.computed_at) for row, number in rows]
