"""The recording routes through the real web layer: roles and tenants on every route, filters,
seekable streaming with HTTP Range, downloads, and the audit of every play and download."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from access_world import AccessWorld, Person, build_world, close_world

from pbx_stasis.acd.runner import Talk
from pbx_stasis.ari import AriClient
from pbx_stasis.recording import RecordingKind, RecordingRecord, RecordingRules, RecordingStore
from pbx_stasis.recording.http import RECORDER, ROUTES
from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.recording.recorder import CallRecorder
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, CallStatus, Direction, Role
from pbx_stasis.web.routing import Route

OWNER, OTHER = "acme", "globex"
LIVE_CALL = "d" * 32


def tone_wav(seconds: float, hz: float = 440.0) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"".join(
            struct.pack("<h", round(8000 * math.sin(2 * math.pi * hz * n / 8000)))
            for n in range(int(seconds * 8000))
        ))
    return buffer.getvalue()


@dataclass
class Library:
    world: AccessWorld
    recorder: CallRecorder
    ari: AriClient
    own: RecordingRecord  # the owner agent's call, sales, "Sale", 2026-11-20
    colleague: RecordingRecord  # someone else's call, support, "Callback", 2026-11-21
    foreign: RecordingRecord  # the other tenant's

    def person(self, tenant: str, role: Role) -> Person:
        return self.world.person(tenant, role)


async def _call(world: AccessWorld, tenant: str, call_id: str, agent: Person,
                started: datetime, disposition: str | None, number: str,
                status: CallStatus = CallStatus.ENDED) -> None:
    async with world.db.transaction() as tx:
        tx.add(Call(id=call_id, tenant_id=world.tenant_ids[tenant], channel_id=f"ch-{call_id}",
                    direction=Direction.INBOUND, from_number=number, to_number="+18005550100",
                    started_at=started, queue="sales", agent_user_id=agent.user_id,
                    disposition=disposition, status=status))


@pytest.fixture
async def library(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Library]:
    ari = AriClient("http://127.0.0.1:9/ari", "nobody", "nothing")  # refused: never reached
    recorders: list[CallRecorder] = []

    def services(db: Database, directory: Path) -> dict[Any, Any]:
        recorders.append(CallRecorder(ari, db, RecordingStore(db, directory)))
        return {RECORDER: recorders[0]}

    world = await build_world(sqlite_template, tmp_path, ROUTES, services)
    store = RecordingStore(world.db, world.recordings_dir)
    recorder = recorders[0]
    owner_agent, owner_colleague = world.person(OWNER, Role.AGENT), world.person(
        OWNER, Role.SUPERVISOR)
    made: list[RecordingRecord] = []
    for tenant, call_id, agent, day, queue, disposition, number in (
        (OWNER, "a" * 32, owner_agent, 20, "sales", "Sale", "+14155550101"),
        (OWNER, "b" * 32, owner_colleague, 21, "support", "Callback", "+14155550102"),
        (OTHER, "c" * 32, world.person(OTHER, Role.AGENT), 20, "sales", "Sale", "+14155550199"),
    ):
        started = datetime(2026, 11, day, 10, 0, tzinfo=UTC)
        await _call(world, tenant, call_id, agent, started, disposition, number)
        made.append(await store.keep(
            tone_wav(1.0 + len(made)), name=f"pbx-call-{call_id}-1", fmt="wav",
            tenant_id=world.tenant_ids[tenant], call_id=call_id, kind=RecordingKind.CALL,
            started_at=started, queue=queue, agent_user_id=agent.user_id,
        ))
    # A live call of the owner's agent, connected (its queue records nothing: no Asterisk).
    await _call(world, OWNER, LIVE_CALL, owner_agent, datetime.now(UTC), None, "+14155550103",
                CallStatus.LIVE)
    recorder.talk_started(Talk(LIVE_CALL, world.tenant_ids[OWNER], "sales", f"q-{LIVE_CALL}",
                               "caller-chan", "agent-chan", owner_agent.user_id, "+14155550103"))
    await recorder.drain()
    try:
        yield Library(world, recorder, ari, *made)
    finally:
        await close_world(world)
        await ari.close()


# --- every route, every role, both tenants ----------------------------------------------------

OWNER_MARKERS = ("a" * 32, "b" * 32, "+14155550101", "+14155550102", LIVE_CALL)


def _path(route: Route, lib: Library) -> str:
    return (route.path.replace("{recording_id}", lib.own.id).replace("{queue}", "sales")
            .replace("{call_id}", LIVE_CALL))


BODIES: dict[str, Any] = {
    "set_recording_policy": {"mode": "sample", "sample_percent": 20},
    "set_recording_rules": {"retention_days": 90, "agents_hear_own": False},
}


def _names_object(route: Route) -> bool:
    return "{recording_id}" in route.path or "{call_id}" in route.path


def _expected(route: Route, who: Person | None) -> set[int]:
    if who is None:
        return {401}
    assert route.roles is not None
    if who.role not in route.roles:
        return {403}
    if who.role is Role.AGENT and "/api/recordings" in route.path:
        return {403}  # their tenant's rules (the default) do not let agents hear recordings
    if who.tenant != OWNER and _names_object(route):
        return {404}
    if route.path.startswith("/api/calls/") and route.method == "POST":
        return {409}  # allowed; the queue's policy (none) refuses, no Asterisk involved
    return {200, 204}


async def test_every_route_refuses_the_wrong_role_and_hides_the_other_tenant(
    library: Library,
) -> None:
    world = library.world
    people: list[Person | None] = [None, *world.people.values()]
    checked = 0
    for route in ROUTES:
        for who in people:
            answer = await world.request(who, route.method, _path(route, library),
                                         json=BODIES.get(route.operation_id))
            body = await answer.read()
            expected = _expected(route, who)
            assert answer.status in expected, (route.method, route.path, who, body[:300])
            if who is not None and who.tenant == OTHER:
                text = body.decode(errors="replace")
                assert not any(marker in text for marker in OWNER_MARKERS), (route.path, text)
            checked += 1
    assert checked == len(ROUTES) * (1 + 2 * len(Role))


async def test_agents_hear_only_their_own_calls_where_the_tenant_allows(library: Library) -> None:
    world = library.world
    agent = library.person(OWNER, Role.AGENT)
    assert (await world.request(agent, "GET", "/api/recordings")).status == 403
    rules = RecordingRules(agents_hear_own=True)
    await RecordingPolicies(world.db).set_rules(world.tenant_ids[OWNER], rules)
    listed = await (await world.request(agent, "GET", "/api/recordings")).json()
    assert [r["id"] for r in listed["recordings"]] == [library.own.id]
    own = await world.request(agent, "GET", f"/api/recordings/{library.own.id}/audio")
    assert own.status == 200
    for other in (library.colleague, library.foreign):
        for suffix in ("", "/audio", "/download"):
            answer = await world.request(agent, "GET", f"/api/recordings/{other.id}{suffix}")
            assert answer.status == 404
    # Another agent of the tenant neither hears this agent's calls nor controls their live one.
    second = await world.add_person(OWNER, Role.AGENT, "second-agent")
    listed = await (await world.request(second, "GET", "/api/recordings")).json()
    assert listed["recordings"] == []
    for method, path in (("GET", f"/api/recordings/{library.own.id}/audio"),
                         ("GET", f"/api/calls/{LIVE_CALL}/recording"),
                         ("POST", f"/api/calls/{LIVE_CALL}/recording/pause")):
        assert (await world.request(second, method, path)).status == 404


async def test_filters_by_day_agent_queue_and_disposition(library: Library) -> None:
    world, manager = library.world, library.person(OWNER, Role.MANAGER)

    async def ids(query: str) -> list[str]:
        answer = await world.request(manager, "GET", f"/api/recordings?{query}")
        assert answer.status == 200, await answer.text()
        return [item["id"] for item in (await answer.json())["recordings"]]

    own, colleague = library.own.id, library.colleague.id
    assert await ids("") == [colleague, own]  # newest first, this tenant only
    assert await ids("from=2026-11-21") == [colleague]
    assert await ids("to=2026-11-20") == [own]
    assert await ids("from=2026-11-20&to=2026-11-20") == [own]
    assert await ids(f"agent={library.person(OWNER, Role.AGENT).user_id}") == [own]
    assert await ids("queue=support") == [colleague]
    assert await ids("disposition=Sale") == [own]
    assert await ids("kind=voicemail") == []
    assert await ids("limit=1&offset=1") == [own]
    bad = await world.request(manager, "GET", "/api/recordings?from=2026-11-22&to=2026-11-20")
    assert bad.status == 400
    assert (await world.request(manager, "GET", "/api/recordings?from=yesterday")).status == 400


async def test_audio_is_seekable_and_every_play_and_download_is_audited(
    library: Library,
) -> None:
    world, supervisor = library.world, library.person(OWNER, Role.SUPERVISOR)
    record = library.own
    data = RecordingStore(world.db, world.recordings_dir).path_of(record).read_bytes()
    audio = f"/api/recordings/{record.id}/audio"

    whole = await world.request(supervisor, "GET", audio)
    assert whole.status == 200 and await whole.read() == data
    assert whole.headers["Content-Type"] == "audio/wav"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Disposition"].startswith("inline")

    middle = await world.request(supervisor, "GET", audio, headers={"Range": "bytes=100-199"})
    assert middle.status == 206
    assert middle.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert await middle.read() == data[100:200]
    tail = await world.request(supervisor, "GET", audio, headers={"Range": "bytes=-50"})
    assert tail.status == 206 and await tail.read() == data[-50:]
    beyond = await world.request(supervisor, "GET", audio,
                                 headers={"Range": f"bytes={len(data) + 10}-"})
    assert beyond.status == 416

    download = await world.request(supervisor, "GET", f"/api/recordings/{record.id}/download")
    assert download.status == 200 and await download.read() == data
    assert download.headers["Content-Disposition"].startswith("attachment")

    manager = library.person(OWNER, Role.MANAGER)
    audit = await world.request(manager, "GET", f"/api/recordings/{record.id}/accesses")
    rows = (await audit.json())["accesses"]
    assert [(r["user_id"], r["action"], r["byte_range"]) for r in reversed(rows)] == [
        (supervisor.user_id, "play", None),
        (supervisor.user_id, "play", "bytes=100-199"),
        (supervisor.user_id, "play", "bytes=-50"),
        (supervisor.user_id, "play", f"bytes={len(data) + 10}-"),
        (supervisor.user_id, "download", None),
    ]


async def test_links_cannot_be_guessed_and_a_deleted_file_is_gone(library: Library) -> None:
    world, supervisor = library.world, library.person(OWNER, Role.SUPERVISOR)
    assert len(library.own.id) >= 32
    for guess in ("1", "a" * 32, library.own.id[:-1] + ("A" if library.own.id[-1] != "A" else "B"),
                  library.foreign.id):
        assert (await world.request(supervisor, "GET", f"/api/recordings/{guess}/audio")
                ).status == 404
    RecordingStore(world.db, world.recordings_dir).path_of(library.own).unlink()
    gone = await world.request(supervisor, "GET", f"/api/recordings/{library.own.id}/audio")
    assert gone.status == 410


async def test_policies_and_rules_are_validated_and_per_tenant(library: Library) -> None:
    world = library.world
    manager, admin = library.person(OWNER, Role.MANAGER), library.person(OWNER, Role.ADMIN)
    put = "/api/recording/policies/sales"
    bad = await world.request(manager, "PUT", put, json={"mode": "sample", "sample_percent": 0})
    assert bad.status == 400 and "sample_percent" in (await bad.json())["fields"]
    assert (await world.request(manager, "PUT", put, json={"mode": "often"})).status == 400
    assert (await world.request(manager, "PUT", "/api/recording/policies/nowhere",
                                json={"mode": "all"})).status == 404
    assert (await world.request(manager, "PUT", put, json={"mode": "on-demand"})).status == 200
    listed = await (await world.request(manager, "GET", "/api/recording/policies")).json()
    assert listed["policies"] == [
        {"queue": "sales", "mode": "on-demand", "sample_percent": 0.0},
        {"queue": "support", "mode": "none", "sample_percent": 0.0},
    ]
    other = await (await world.request(library.person(OTHER, Role.MANAGER), "GET",
                                       "/api/recording/policies")).json()
    assert {p["mode"] for p in other["policies"]} == {"none"}

    rules = await world.request(admin, "PUT", "/api/recording/rules",
                                json={"retention_days": None, "agents_hear_own": True})
    assert rules.status == 200
    assert (await rules.json())["rules"] == {"retention_days": None, "agents_hear_own": True}
    assert (await world.request(admin, "PUT", "/api/recording/rules",
                                json={"retention_days": 0, "agents_hear_own": True})
            ).status == 400
    # Live control follows the policy the call was connected under: on-demand lets the
    # agent's request through to Asterisk (unreachable here: 503); an ended call is gone.
    recorder, owner_id = library.recorder, world.tenant_ids[OWNER]
    agent = library.person(OWNER, Role.AGENT)
    recorder.talk_started(Talk("e" * 32, owner_id, "sales", "q-e", "caller-chan", "agent-chan",
                               agent.user_id, "+14155550104"))
    await recorder.drain()
    state = await (await world.request(agent, "GET", f"/api/calls/{'e' * 32}/recording")).json()
    assert state["recording"] == {"call_id": "e" * 32, "state": "off", "policy": "on-demand",
                                  "agent_may_start": True, "recorded_seconds": 0.0,
                                  "paused_seconds": 0.0}
    start = await world.request(agent, "POST", f"/api/calls/{'e' * 32}/recording/start")
    assert start.status == 503
    colleague = library.person(OWNER, Role.SUPERVISOR)
    assert (await world.request(colleague, "POST", f"/api/calls/{'e' * 32}/recording/start")
            ).status == 503  # supervisors may act on any call of the tenant
    recorder.talk_ended(await recorder.talk(owner_id, LIVE_CALL))
    await recorder.drain()
    gone = await world.request(agent, "POST", f"/api/calls/{LIVE_CALL}/recording/start")
    assert gone.status == 404


async def test_an_agent_hears_their_part_of_a_transferred_call_not_its_outcome(
    library: Library,
) -> None:
    # The agent recorded the start of a call a colleague finished: the recording is theirs,
    # the call (and the disposition the colleague saved) is not (web/call_access.py).
    world = library.world
    agent, colleague = library.person(OWNER, Role.AGENT), library.person(OWNER, Role.SUPERVISOR)
    await RecordingPolicies(world.db).set_rules(world.tenant_ids[OWNER],
                                                RecordingRules(agents_hear_own=True))
    started = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    call_id = "e" * 32
    await _call(world, OWNER, call_id, colleague, started, "Escalated", "+14155550104")
    part = await RecordingStore(world.db, world.recordings_dir).keep(
        tone_wav(1.0), name=f"pbx-call-{call_id}-1", fmt="wav",
        tenant_id=world.tenant_ids[OWNER], call_id=call_id, kind=RecordingKind.CALL,
        started_at=started, queue="sales", agent_user_id=agent.user_id,
    )
    listed = await (await world.request(agent, "GET", "/api/recordings")).json()
    shown = {item["id"]: item["disposition"] for item in listed["recordings"]}
    assert shown == {part.id: None, library.own.id: "Sale"}
    one = await (await world.request(agent, "GET", f"/api/recordings/{part.id}")).json()
    assert one["recording"]["disposition"] is None
    filtered = await (await world.request(agent, "GET", "/api/recordings?disposition=Escalated")
                      ).json()
    assert filtered["recordings"] == []
    assert (await world.request(agent, "GET", f"/api/recordings/{part.id}/audio")).status == 200
    manager = library.person(OWNER, Role.MANAGER)
    filtered = await (await world.request(manager, "GET", "/api/recordings?disposition=Escalated")
                      ).json()
    assert [(r["id"], r["disposition"]) for r in filtered["recordings"]] == [(part.id, "Escalated")]
