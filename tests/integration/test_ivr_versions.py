"""IVR versions in the database (SQLite and PostgreSQL): apply, refuse, list, diff, roll back,
hot swap of the FlowSet that new calls get, versions applied by another process, recordings."""

from __future__ import annotations

import asyncio
import hashlib
import io
import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from storekit import add_call

from pbx_stasis.bus import Bus
from pbx_stasis.ivr.service import IvrService
from pbx_stasis.ivr.tables import IvrVersionRow
from pbx_stasis.ivr.versions import UnknownVersion
from pbx_stasis.recording import RecordingKind, RecordingStore, wav_duration
from pbx_stasis.store import Database, Directory, StoreError

FLOW = """\
flows:
  main:
    dids: ["+15550001"]
    entry: hello
    prompts:
      hello: {en: {file: hello-world}}
    nodes:
      hello: {kind: play, prompts: hello, next: bye}
      bye: {kind: hangup}
"""
FLOW_V2 = FLOW.replace("kind: hangup", "kind: hangup, cause: busy")
SALES = """\
flows:
  sales:
    dids: ["+15550002"]
    entry: bye
    nodes:
      bye: {kind: hangup}
"""
BROKEN = """\
flows:
  main:
    dids: ["+15550001"]
    entry: hello
    nodes:
      hello: {kind: play, prompts: [{sound: beep}], next: nowhere}
      lonely: {kind: hangup}
"""


async def _tenant(db: Database, slug: str = "default") -> int:
    return (await Directory(db).ensure_tenant(slug)).id


async def test_apply_stores_a_version_and_serves_it(db: Database) -> None:
    tenant_id = await _tenant(db)
    bus = Bus()
    updates = bus.subscribe(["ivr:updated"])
    ivr = IvrService(db, bus)
    assert ivr.live(tenant_id) is None

    applied = await ivr.apply(tenant_id, [("main.yaml", FLOW)], "alice", comment="first")
    assert applied.ok and applied.problems == []
    version = applied.version
    assert version is not None
    assert (version.number, version.active, version.created_by) == (1, True, "alice")
    assert version.sources == (("main.yaml", FLOW),) and version.comment == "first"
    live = ivr.live(tenant_id)
    assert live is not None and live.number == 1
    assert set(live.flowset.dids) == {"+15550001"}
    event = updates.get_nowait()
    assert event is not None and event.tenant_id == tenant_id
    assert event.json() == {
        "name": "main.yaml", "version": 1, "user_id": None, "files": ["main.yaml"]
    }


async def test_an_invalid_version_is_refused_with_every_problem_and_nothing_changes(
    db: Database,
) -> None:
    tenant_id = await _tenant(db)
    ivr = IvrService(db, Bus())
    await ivr.apply(tenant_id, [("main.yaml", FLOW)], "alice")
    served = ivr.live(tenant_id)

    refused = await ivr.apply(tenant_id, [("main.yaml", BROKEN)], "alice")
    assert refused.version is None
    assert [str(p) for p in refused.problems] == [
        "main.yaml:6:59: 'nowhere' is not a node of flow 'main'",
    ]
    assert ivr.live(tenant_id) is served
    assert [v.number for v in await ivr.list_versions(tenant_id)] == [1]
    # A node no path reaches, alone, is a warning: the version is stored and served.
    lonely = FLOW.replace("      bye: {kind: hangup}", "      bye: {kind: hangup}\n"
                          "      lonely: {kind: hangup}")
    applied = await ivr.apply(tenant_id, [("main.yaml", lonely)], "alice",
                              check_sounds_on_asterisk=False)
    assert applied.ok and applied.warnings == [
        "main.yaml:10:7: warning: node 'lonely' cannot be reached from entry 'hello'"]


async def test_new_version_swaps_the_flowset_for_new_calls_only(db: Database) -> None:
    tenant_id = await _tenant(db)
    ivr = IvrService(db, Bus())
    await ivr.apply(tenant_id, [("main.yaml", FLOW)], "alice")
    first = ivr.live(tenant_id)
    assert first is not None
    await ivr.apply(tenant_id, [("main.yaml", FLOW_V2)], "bob")
    second = ivr.live(tenant_id)
    assert second is not None and second.number == 2
    # A call that started on version 1 holds `first.flowset`: a FlowSet is immutable, so the
    # new version cannot change what that call runs (the live test walks a real call).
    assert second.flowset is not first.flowset
    assert first.flowset.flows["main"].nodes["bye"].cause == "normal"  # type: ignore[union-attr]
    assert second.flowset.flows["main"].nodes["bye"].cause == "busy"  # type: ignore[union-attr]


async def test_versions_list_diff_show_and_roll_back(db: Database) -> None:
    tenant_id = await _tenant(db)
    ivr = IvrService(db, Bus())
    await ivr.apply(tenant_id, [("main.yaml", FLOW)], "alice")
    await ivr.apply(tenant_id, [("main.yaml", FLOW_V2), ("sales.yaml", SALES)], "bob")
    versions = await ivr.list_versions(tenant_id)
    assert [(v.number, v.active, v.files) for v in versions] == [
        (2, True, ("main.yaml", "sales.yaml")),
        (1, False, ("main.yaml",)),
    ]
    diff = await ivr.diff(tenant_id, 1, 2)
    assert "--- v1/main.yaml\n+++ v2/main.yaml\n" in diff
    assert "-      bye: {kind: hangup}\n+      bye: {kind: hangup, cause: busy}\n" in diff
    assert "--- /dev/null\n+++ v2/sales.yaml\n" in diff
    assert await ivr.diff(tenant_id, 2, 2) == ""
    with pytest.raises(UnknownVersion):
        await ivr.diff(tenant_id, 1, 9)

    rolled = await ivr.activate(tenant_id, 1)
    assert rolled.version is not None and rolled.version.number == 1
    live = ivr.live(tenant_id)
    assert live is not None and live.number == 1 and "+15550002" not in live.flowset.dids
    assert [(v.number, v.active) for v in await ivr.list_versions(tenant_id)] == [
        (2, False),
        (1, True),
    ]


async def test_apply_file_replaces_one_file_of_the_active_version(db: Database) -> None:
    tenant_id = await _tenant(db)
    ivr = IvrService(db, Bus())
    await ivr.apply(tenant_id, [("main.yaml", FLOW), ("sales.yaml", SALES)], "alice")
    applied = await ivr.apply_file(tenant_id, "main.yaml", FLOW_V2, "bob", user_id=None)
    assert applied.version is not None
    assert dict(applied.version.sources) == {"main.yaml": FLOW_V2, "sales.yaml": SALES}
    refused = await ivr.apply_file(tenant_id, "sales.yaml", SALES.replace("+15550002",
                                                                           "+15550001"), "bob")
    assert refused.version is None
    assert any("+15550001" in p.message for p in refused.problems)  # DID twice across files


async def test_a_restarted_service_and_a_second_process_see_the_active_version(
    db: Database,
) -> None:
    tenant_id = await _tenant(db)
    other_tenant = await _tenant(db, "other")
    bus = Bus()
    running = IvrService(db, bus)
    await running.start()
    try:
        assert running.live(tenant_id) is None
        # `pbx ivr apply` in another process: its own service on the same database
        cli = IvrService(db)
        await cli.apply(tenant_id, [("main.yaml", FLOW)], "alice")
        await cli.apply(other_tenant, [("sales.yaml", SALES)], "carol")
        updates = bus.subscribe(["ivr:updated"])
        assert sorted(await running.refresh()) == sorted([tenant_id, other_tenant])
        assert {e.tenant_id for e in (updates.get_nowait(), updates.get_nowait()) if e} == {
            tenant_id, other_tenant
        }
        assert await running.refresh() == []  # nothing new: nothing swapped, nothing published
        assert running.script_for(other_tenant, "+15550001") is None  # tenants stay apart
    finally:
        await running.stop()
    restarted = IvrService(db)
    await restarted.load()
    live = restarted.live(tenant_id)
    assert live is not None and live.number == 1


async def test_two_admins_applying_at_once_get_two_versions(db: Database) -> None:
    tenant_id = await _tenant(db)
    ivr = IvrService(db)
    results = await asyncio.gather(
        *(ivr.apply(tenant_id, [("main.yaml", FLOW)], f"admin{i}") for i in range(4))
    )
    assert sorted(r.version.number for r in results if r.version) == [1, 2, 3, 4]
    active = [v.number for v in await ivr.list_versions(tenant_id) if v.active]
    assert len(active) == 1  # whichever committed last


async def test_the_database_refuses_two_active_versions(db: Database) -> None:
    tenant_id = await _tenant(db)
    await IvrService(db).apply(tenant_id, [("main.yaml", FLOW)], "alice")
    with pytest.raises(StoreError) as refused:
        async with db.transaction() as tx:
            tx.add(IvrVersionRow(tenant_id=tenant_id, number=2, created_by="x", sources=[],
                                 active=True))
    assert isinstance(refused.value.__cause__, IntegrityError)


def _wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x10\x00" * int(8000 * seconds))
    return out.getvalue()


async def test_a_voicemail_is_kept_as_a_file_and_a_row(db: Database, tmp_path: Path) -> None:
    tenant_id = await _tenant(db)
    call = await add_call(db, tenant_id=tenant_id, channel_id="chan-1",
                          started_at=datetime.now(UTC))
    store = RecordingStore(db, tmp_path / "recordings")
    audio = _wav(2.5)
    kept = await store.keep(
        audio, name="pbx-vm-1", fmt="wav", tenant_id=tenant_id, call_id=call.id,
        kind=RecordingKind.VOICEMAIL, started_at=datetime(2026, 11, 20, 6, tzinfo=UTC),
        mailbox_kind="queue", mailbox="billing",
    )
    assert kept.duration_seconds == 2.5 and kept.size_bytes == len(audio)
    assert kept.sha256 == hashlib.sha256(audio).hexdigest()
    assert kept.path == f"{tenant_id}/2026/11/20/{kept.id}.wav"
    assert store.path_of(kept).read_bytes() == audio
    assert len(kept.id) >= 32  # unguessable: 192 random bits
    assert await store.get(kept.id) == kept
    assert await store.for_call(call.id) == [kept]
    assert await store.voicemails(tenant_id, "queue", "billing") == [kept]
    assert await store.voicemails(tenant_id) == []  # the general mailbox is another one
    assert wav_duration(b"not a wav") is None

    # a row that cannot be stored leaves no file behind
    with pytest.raises(StoreError):
        await store.keep(audio, name="x", fmt="wav", tenant_id=tenant_id, call_id="no-such-call",
                         kind=RecordingKind.VOICEMAIL, started_at=datetime.now(UTC))
    files = sorted(p.name for p in (tmp_path / "recordings").rglob("*") if p.is_file())
    assert files == [f"{kept.id}.wav"]
