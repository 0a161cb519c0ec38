"""Retention on SQLite and PostgreSQL: each tenant's expired call recordings go, file and row,
with a journal line; newer ones, voicemails and tenants without a retention stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pbx_stasis.recording import RecordingKind, RecordingRules, RecordingStore
from pbx_stasis.recording.cli import main as recordings_cli
from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.recording.retention import purge_expired
from pbx_stasis.store import CallJournal, Database, Directory
from pbx_stasis.store.tables import Call, Direction

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


async def _recording(db: Database, store: RecordingStore, tenant_id: int, call_id: str,
                     age_days: float, kind: RecordingKind = RecordingKind.CALL) -> str:
    started = NOW - timedelta(days=age_days)
    async with db.transaction() as tx:
        tx.add(Call(id=call_id, tenant_id=tenant_id, channel_id=f"ch-{call_id}",
                    direction=Direction.INBOUND, from_number="+14155550100",
                    to_number="+18005550100", started_at=started))
    kept = await store.keep(b"RIFF-not-really-audio", name=f"n-{call_id}", fmt="wav",
                            tenant_id=tenant_id, call_id=call_id, kind=kind, started_at=started,
                            duration=1.0)
    return kept.id


async def test_each_tenant_keeps_its_recordings_for_its_own_days(
    db: Database, tmp_path: Path
) -> None:
    directory = Directory(db)
    short = (await directory.ensure_tenant("short")).id
    forever = (await directory.ensure_tenant("forever")).id
    policies = RecordingPolicies(db)
    await policies.set_rules(short, RecordingRules(retention_days=7))
    await policies.set_rules(forever, RecordingRules(retention_days=None))
    store = RecordingStore(db, tmp_path / "recordings")
    old = await _recording(db, store, short, "1" * 32, 8)
    young = await _recording(db, store, short, "2" * 32, 6)
    voicemail = await _recording(db, store, short, "3" * 32, 30, RecordingKind.VOICEMAIL)
    ancient = await _recording(db, store, forever, "4" * 32, 3650)
    old_file = store.path_of(await store.get(old))  # type: ignore[arg-type]

    report = await purge_expired(db, NOW, tmp_path / "recordings")

    assert report.deleted == [old] and report.missing_files == 0
    assert not old_file.exists()
    assert await store.get(old) is None
    for kept in (young, voicemail, ancient):
        record = await store.get(kept)
        assert record is not None and store.path_of(record).exists()
    [line] = [e for e in await CallJournal(db).events_after(0) if e.event == "RECORDPURGE"]
    assert (line.tenant_id, line.call_id, line.data["recording"]) == (short, "1" * 32, old)
    assert line.data["age_days"] == 8.0 and line.data["retention_days"] == 7
    assert (await purge_expired(db, NOW, tmp_path / "recordings")).deleted == []


async def test_a_missing_file_does_not_stop_the_row_going(db: Database, tmp_path: Path) -> None:
    tenant = (await Directory(db).ensure_tenant("t")).id
    await RecordingPolicies(db).set_rules(tenant, RecordingRules(retention_days=1))
    store = RecordingStore(db, tmp_path / "recordings")
    gone = await _recording(db, store, tenant, "5" * 32, 2)
    store.path_of(await store.get(gone)).unlink()  # type: ignore[arg-type]
    report = await purge_expired(db, NOW, tmp_path / "recordings")
    assert report.deleted == [gone] and report.missing_files == 1
    assert await store.get(gone) is None


async def test_the_command_line_purges_with_the_settings(
    db: Database, migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = (await Directory(db).ensure_tenant("default")).id
    await RecordingPolicies(db).set_rules(tenant, RecordingRules(retention_days=30))
    store = RecordingStore(db, tmp_path / "recordings")
    expired = await _recording(db, store, tenant, "6" * 32, 31)
    monkeypatch.setenv("PBX_DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("PBX_RECORDINGS_DIR", str(tmp_path / "recordings"))
    monkeypatch.delenv("PBX_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no pbx.toml here
    code = await asyncio.to_thread(recordings_cli, ["purge", "--now", NOW.isoformat()])
    assert code == 0
    assert "1 recording(s) deleted" in capsys.readouterr().out
    assert await store.get(expired) is None
