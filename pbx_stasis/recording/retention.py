"""Retention: call recordings older than their tenant's retention_days are deleted, file and row.

`purge_expired(db, now)` does one sweep (the CLI runs it: `python -m pbx_stasis.recording purge`,
and a service can call `sweep_forever`). Each deletion is a RECORDPURGE line in the call's
journal. The file goes first and then the row, so a sweep interrupted half-way is simply
finished by the next one (a missing file is not an error). The access audit is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select

from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.recording.store import RecordingRecord, record_of
from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store import CallJournal, Database, utc_now

log = logging.getLogger(__name__)

RECORDPURGE = "RECORDPURGE"
DEFAULT_DIRECTORY = "var/recordings"


@dataclass
class PurgeReport:
    """What one sweep deleted."""

    deleted: list[str] = field(default_factory=list)  # recording ids
    freed_bytes: int = 0
    missing_files: int = 0  # rows whose file was already gone

    def __str__(self) -> str:
        return (
            f"{len(self.deleted)} recording(s) deleted, {self.freed_bytes} bytes freed"
            + (f", {self.missing_files} file(s) already missing" if self.missing_files else "")
        )


async def purge_expired(
    db: Database,
    now: datetime | None = None,
    directory: str | Path = DEFAULT_DIRECTORY,
    *,
    kinds: tuple[RecordingKind, ...] = (RecordingKind.CALL,),
) -> PurgeReport:
    """Delete every recording of `kinds` older than its tenant's retention (at `now`)."""
    now = now or utc_now()
    root = Path(directory)
    report = PurgeReport()
    journal = CallJournal(db)
    for tenant_id, rules in (await RecordingPolicies(db).all_rules()).items():
        cutoff = rules.cutoff(now)
        if cutoff is None:
            continue
        statement = (
            select(Recording)
            .where(
                Recording.tenant_id == tenant_id,
                Recording.kind.in_(kinds),
                Recording.started_at < cutoff,
            )
            .order_by(Recording.started_at)
        )
        async with db.session() as session:
            expired = [record_of(row) for row in await session.scalars(statement)]
        for record in expired:
            await _purge_one(db, journal, root, record, now, rules.retention_days, report)
    if report.deleted:
        log.info("retention: %s", report)
    return report


async def _purge_one(
    db: Database,
    journal: CallJournal,
    root: Path,
    record: RecordingRecord,
    now: datetime,
    retention_days: int | None,
    report: PurgeReport,
) -> None:
    data = {
        "age_days": round((now - record.started_at).total_seconds() / 86400, 2),
        "retention_days": retention_days,
    }
    missing = await remove_recording(db, root, record, event=RECORDPURGE, at=now, data=data,
                                     journal=journal)
    if missing is None:  # another sweep got there first
        return
    report.missing_files += missing
    report.deleted.append(record.id)
    report.freed_bytes += record.size_bytes


async def remove_recording(
    db: Database,
    root: Path,
    record: RecordingRecord,
    *,
    event: str,
    at: datetime,
    data: Mapping[str, object],
    journal: CallJournal | None = None,
) -> int | None:
    """Delete one recording, file then row, with a journal line `event` in the call's journal
    (its `data` beside the recording's id, kind, start, size and checksum). Returns how many
    files were already missing (0 or 1), None when the row was already gone."""
    missing = 0
    try:
        await asyncio.to_thread((root / record.path).unlink)
    except FileNotFoundError:
        missing = 1
    if record.tracks_path is not None:  # the per-speaker file goes with it
        await asyncio.to_thread((root / record.tracks_path).unlink, missing_ok=True)
    # Its transcript and insights go with the row (ON DELETE CASCADE, analytics/tables.py).
    async with db.transaction() as tx:
        gone = await tx.execute(delete(Recording).where(Recording.id == record.id))
        if not getattr(gone, "rowcount", 1):
            return None
        await (journal or CallJournal(db)).append(
            tx,
            tenant_id=record.tenant_id,
            call_id=record.call_id,
            agent_user_id=record.agent_user_id,
            queue=record.queue,
            event=event,
            at=at,
            data={
                "recording": record.id,
                "kind": str(record.kind),
                "started_at": record.started_at.isoformat(),
                **data,
                "size": record.size_bytes,
                "sha256": record.sha256,
            },
        )
    return missing


async def sweep_forever(
    db: Database, directory: str | Path, every: float = 3600.0
) -> None:
    """Purge every `every` seconds until cancelled (a failed sweep is logged and retried)."""
    while True:
        try:
            await purge_expired(db, utc_now(), directory)
        except Exception:
            log.exception("retention sweep failed; retrying in %.0f s", every)
        await asyncio.sleep(every)
