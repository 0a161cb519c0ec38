"""The quality watcher: a talk watcher of the ACD that reads both legs' RTCP figures while the
agent and the customer talk, and stores the last reading of each leg when the talk ends.

Read every `every` seconds, once per RTCP report (Asterisk makes one every ~5 s; one request per
leg, in a task of the watcher's, never in the call's lane) rather than only at the end: when the
talk ends a leg is often gone already, and its figures with it. A talk shorter than one report
has no score (MES) to read: it costs no request at all (the bench's calls, issue 18: 2 requests
per call less), only a timer that is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from pbx_stasis.acd.runner import Talk
from pbx_stasis.ari import AriClient, AriError, AriUnreachable
from pbx_stasis.bus import Bus
from pbx_stasis.quality.core import POOR_MES, VARIABLES, LegQuality, leg_quality
from pbx_stasis.quality.events import QUALITY_POOR, CallQualityPoor
from pbx_stasis.quality.tables import CallQualityRow
from pbx_stasis.store import Database, utc_now

log = logging.getLogger(__name__)

CUSTOMER, AGENT = "customer", "agent"
EVERY_S = 5.0  # Asterisk's RTCP report interval: reading more often reads the same figures


@dataclass
class _Watched:
    talk: Talk
    last: dict[str, LegQuality] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)  # legs already said to be poor
    timer: asyncio.TimerHandle | None = None  # the next reading
    reading: asyncio.Task[None] | None = None  # a reading under way
    reports: bool = False  # the talk lasted one RTCP interval: it has figures to read


class CallQuality:
    """Watches connected calls' RTCP figures (a `TalkWatcher`) and stores them per leg."""

    def __init__(self, ari: AriClient, db: Database, bus: Bus | None = None, *,
                 every: float = EVERY_S) -> None:
        self.ari = ari
        self.db = db
        self.bus = bus  # quality:poor while the call goes on (None: stored only)
        self.every = every
        self._watched: dict[str, _Watched] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def talk_started(self, talk: Talk) -> None:
        if talk.call_id in self._watched:
            self._watched[talk.call_id].talk = talk  # a transfer: the new agent's leg
            return
        watched = _Watched(talk)
        self._schedule(watched)
        self._watched[talk.call_id] = watched

    def talk_ended(self, talk: Talk) -> None:
        watched = self._watched.pop(talk.call_id, None)
        if watched is None:
            return
        self._stop(watched)
        if not watched.reports:
            return  # shorter than one RTCP report: no score to keep
        task = asyncio.create_task(self._store(watched))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop reading (the app stops; its calls stay in Asterisk for the next start)."""
        for watched in self._watched.values():
            self._stop(watched)
        self._watched.clear()
        await self.drain()

    def _schedule(self, watched: _Watched) -> None:
        watched.timer = asyncio.get_running_loop().call_later(self.every, self._due, watched)

    def _due(self, watched: _Watched) -> None:
        watched.timer = None
        watched.reports = True
        watched.reading = asyncio.create_task(self._sample(watched),
                                              name=f"quality-{watched.talk.call_id}")

    @staticmethod
    def _stop(watched: _Watched) -> None:
        if watched.timer is not None:
            watched.timer.cancel()
        if watched.reading is not None:
            watched.reading.cancel()

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _read(self, watched: _Watched) -> None:
        legs = {CUSTOMER: watched.talk.caller_channel_id, AGENT: watched.talk.agent_channel_id}
        for leg, channel_id in legs.items():
            try:
                reading = leg_quality(await self.ari.channels.get_variables(channel_id,
                                                                           VARIABLES))
            except (AriError, AriUnreachable):
                continue  # the leg is gone (or Asterisk is): keep its last reading
            if reading is not None:
                watched.last[leg] = reading
                self._warn(watched, leg, reading)

    def _warn(self, watched: _Watched, leg: str, reading: LegQuality) -> None:
        if (self.bus is None or reading.min_mes is None or reading.min_mes >= POOR_MES
                or leg in watched.warned):
            return
        watched.warned.add(leg)
        talk = watched.talk
        self.bus.publish(QUALITY_POOR, talk.tenant_id, CallQualityPoor(
            call_id=talk.call_id, leg=leg, mes=reading.min_mes,
            loss_percent=reading.loss_percent, jitter_ms=reading.jitter_ms,
            from_number=talk.from_number, agent_user_id=talk.agent_user_id))

    async def _sample(self, watched: _Watched) -> None:
        await self._read(watched)
        if self._watched.get(watched.talk.call_id) is watched:  # still talking
            self._schedule(watched)

    async def _store(self, watched: _Watched) -> None:
        with contextlib.suppress(Exception):
            await self._read(watched)  # a leg still there gives its figures at the end
        talk = watched.talk
        if not watched.last:
            return
        try:
            await self.db.writes.settle()  # the call's own row first
            async with self.db.transaction() as tx:
                tx.add_all(CallQualityRow(
                    tenant_id=talk.tenant_id, call_id=talk.call_id, leg=leg,
                    agent_user_id=talk.agent_user_id, mes=q.mes, min_mes=q.min_mes,
                    jitter_ms=q.jitter_ms, lost=q.lost, received=q.received, rtt_ms=q.rtt_ms,
                    at=utc_now()) for leg, q in watched.last.items())
        except Exception:
            log.exception("call %s: its quality figures were not stored", talk.call_id)


async def call_quality(db: Database, tenant_id: int, call_id: str) -> dict[str, LegQuality]:
    """The stored figures of a call's legs (within the tenant)."""
    statement = select(CallQualityRow).where(CallQualityRow.tenant_id == tenant_id,
                                             CallQualityRow.call_id == call_id)
    async with db.session() as session:
        rows = await session.scalars(statement.order_by(CallQualityRow.id))
        return {row.leg: LegQuality(row.mes, row.min_mes, row.jitter_ms, row.lost,
                                    row.received, row.rtt_ms) for row in rows}
