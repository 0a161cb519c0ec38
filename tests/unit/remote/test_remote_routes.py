"""The live supervision and recording routes of a web process of its own (`pbx run --part web`):
the real web layer whose SUPERVISION and RECORDER are the proxies generated from the interfaces,
talking over a real aiohttp server of `rpc_app` to the Stasis side's real Supervision and
CallRecorder (with an ARI that refuses connections, as in tests/unit/supervision and
tests/unit/recording). Every answer must be what one process gives: the Stasis side's
refusals come back as the same 404/409/503 with its message; a Stasis process that is down
gives 503, never 500.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recording"))
from access_world import AccessWorld, Person, PhoneBook, build_world, close_world
from noted import SECRET, NotedRecorder, NotedSupervision
from ports import free_port

from pbx_stasis.acd.runner import Talk
from pbx_stasis.acd.service import ACD_SERVICE as CENTER
from pbx_stasis.ari import AriClient
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.bus import Bus
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.plugins import INTERFACES, TOPICS
from pbx_stasis.recording.http import RECORDER
from pbx_stasis.recording.http import ROUTES as RECORDING_ROUTES
from pbx_stasis.recording.recorder import CallRecorder
from pbx_stasis.recording.service import RECORDING_SERVICE as RECORDING
from pbx_stasis.recording.service import RecordingControl
from pbx_stasis.recording.store import RecordingStore
from pbx_stasis.remote.client import proxy
from pbx_stasis.remote.interfaces import Offered
from pbx_stasis.remote.server import rpc_app
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, CallStatus, Direction, Role
from pbx_stasis.supervision import Supervision
from pbx_stasis.supervision.core import Mode
from pbx_stasis.supervision.http import ROUTES as SUPERVISION_ROUTES
from pbx_stasis.supervision.http import SUPERVISION
from pbx_stasis.supervision.service import SUPERVISION_SERVICE as SUPERVISION_RPC
from pbx_stasis.supervision.service import SupervisionControl
from pbx_stasis.supervision.tables import SupervisionSegment
from pbx_stasis.web.routing import Route

OWNER, OTHER = "acme", "globex"
CALL = "a" * 32
OWNER_MARKERS = (CALL, "+14155550101", "owner-session")
LIVE_ROUTES = [r for r in RECORDING_ROUTES if r.path.startswith("/api/calls/")]


async def _no_call(inbox: EventInbox, start: AriEvent) -> None:
    raise AssertionError("no call is expected in these tests")



@dataclass
class Split:
    world: AccessWorld
    rpc: TestServer

    def person(self, tenant: str, role: Role) -> Person:
        return self.world.person(tenant, role)

    async def ask(self, who: Person, method: str, path: str, json: Any = None
                  ) -> tuple[int, dict[str, Any]]:
        answer = await self.world.request(who, method, path, json=json)
        body = await answer.json() if answer.status != 204 else {}
        return answer.status, body


@pytest.fixture
async def split(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Split]:
    """The web side (routes, database) and the Stasis side (services behind rpc_app) share
    the database, as the two processes do."""
    ari = AriClient("http://127.0.0.1:9/ari", "nobody", "nothing")  # refused: never reached
    port = free_port()
    session = aiohttp.ClientSession()

    def keys(db: Database, directory: Path) -> dict[Any, Any]:
        url = f"http://127.0.0.1:{port}"
        return {SUPERVISION: proxy(SUPERVISION_RPC, url, SECRET, session),
                RECORDER: proxy(RECORDING, url, SECRET, session)}

    world = await build_world(sqlite_template, tmp_path, SUPERVISION_ROUTES + LIVE_ROUTES, keys)
    supervision = Supervision(ari, CallRouter(_no_call), world.db, "pbx")
    recorder = CallRecorder(ari, world.db, RecordingStore(world.db, world.recordings_dir))
    center: Any = PhoneBook()
    rpc = TestServer(rpc_app(Bus(), SECRET, INTERFACES,
                             [Offered(CENTER, center), Offered(SUPERVISION_RPC, supervision),
                              Offered(RECORDING, recorder)], TOPICS), port=port)
    await rpc.start_server()
    agent = world.person(OWNER, Role.AGENT)
    async with world.db.transaction() as tx:
        tx.add(Call(id=CALL, tenant_id=agent.tenant_id, channel_id="caller-chan",
                    direction=Direction.INBOUND, from_number="+14155550101",
                    to_number="+18005550100", started_at=datetime.now(UTC), queue="sales",
                    agent_user_id=agent.user_id, status=CallStatus.LIVE))
        tx.add(SupervisionSegment(session_id="owner-session", tenant_id=agent.tenant_id,
                                  call_id=CALL, supervisor_user_id=None,
                                  supervisor_line="PJSIP/phone-x", agent_user_id=None,
                                  mode="listen", started_at=datetime.now(UTC)))
    talk = Talk(CALL, agent.tenant_id, "sales", "q-a", "caller-chan", "agent-chan",
                agent.user_id, "+14155550101")
    supervision.talk_started(talk)
    recorder.talk_started(talk)  # its queue has no policy: not recorded
    await recorder.drain()
    try:
        yield Split(world, rpc)
    finally:
        await rpc.close()
        await close_world(world)
        await session.close()
        await ari.close()


def _expected(route: Route, who: Person | None) -> set[int]:
    """What tests/unit/supervision and tests/unit/recording expect of one process."""
    if who is None:
        return {401}
    assert route.roles is not None
    if who.role not in route.roles:
        return {403}
    if "{session_id}" in route.path:
        return {404}
    if who.tenant != OWNER and "{call_id}" in route.path:
        return {404}
    if route.path.startswith("/api/supervision/calls/"):
        # Managers and admins have no softphone (409); supervisors reach Asterisk (503).
        return {503} if who.role is Role.SUPERVISOR else {409}
    if route.path.startswith("/api/calls/") and route.method == "POST":
        return {409}  # the queue's policy (none) refuses
    return {200}


async def test_every_route_answers_as_one_process_does(split: Split) -> None:
    world = split.world
    people: list[Person | None] = [None, *world.people.values()]
    for route in SUPERVISION_ROUTES + LIVE_ROUTES:
        path = route.path.replace("{call_id}", CALL).replace("{session_id}", "owner-session")
        body = {"mode": "whisper"} if route.body is not None else None
        for who in people:
            answer = await world.request(who, route.method, path, json=body)
            text = await answer.text()
            assert answer.status in _expected(route, who), (route.method, route.path, who, text)
            if who is not None and who.tenant == OTHER:
                assert not any(marker in text for marker in OWNER_MARKERS), (route.path, text)


async def test_the_stasis_sides_answers_cross_with_their_messages(split: Split) -> None:
    supervisor = split.person(OWNER, Role.SUPERVISOR)
    status, calls = await split.ask(supervisor, "GET", "/api/supervision/calls")
    assert status == 200
    [call] = calls["calls"]
    assert (call["call_id"], call["queue"], call["from_number"], call["sessions"]) == (
        CALL, "sales", "+14155550101", [])
    assert call["agent_user_id"] == split.person(OWNER, Role.AGENT).user_id
    status, history = await split.ask(supervisor, "GET",
                                      f"/api/supervision/history?call_id={CALL}")
    assert [(s["session_id"], s["mode"]) for s in history["segments"]] == [
        ("owner-session", "listen")]
    # Unavailable on the Stasis side: its Asterisk is unreachable.
    status, body = await split.ask(supervisor, "POST", f"/api/supervision/calls/{CALL}/listen")
    assert (status, body["message"]) == (503, "Asterisk is not reachable")
    # Not found there: no such connected call, no such session.
    status, body = await split.ask(supervisor, "POST",
                                   f"/api/supervision/calls/{'9' * 32}/barge")
    assert (status, body["error"]) == (404, "not-found")
    status, body = await split.ask(supervisor, "DELETE", "/api/supervision/sessions/nope")
    assert (status, body["error"]) == (404, "not-found")
    # Recording: the state as the Stasis side has it, and its refusals with their messages.
    agent = split.person(OWNER, Role.AGENT)
    status, state = await split.ask(agent, "GET", f"/api/calls/{CALL}/recording")
    assert (status, state["recording"]["state"], state["recording"]["policy"]) == (
        200, "off", "none")
    status, body = await split.ask(agent, "POST", f"/api/calls/{CALL}/recording/pause")
    assert (status, body["message"]) == (409, "the call is not being recorded")
    status, body = await split.ask(agent, "POST", f"/api/calls/{CALL}/recording/start")
    assert (status, body["message"]) == (409, "this queue's recording policy is none")
    status, body = await split.ask(agent, "POST", f"/api/calls/{'9' * 32}/recording/resume")
    assert (status, body["error"]) == (404, "not-found")
    colleague = await split.world.add_person(OWNER, Role.AGENT, "bob")
    status, _ = await split.ask(colleague, "POST", f"/api/calls/{CALL}/recording/pause")
    assert status == 404  # another agent's call: checked on the Talk that crossed the wire


async def test_a_stasis_process_that_is_down_answers_503(split: Split) -> None:
    await split.rpc.close()
    supervisor = split.person(OWNER, Role.SUPERVISOR)
    for method, path in (
        ("GET", "/api/supervision/calls"),
        ("GET", "/api/supervision/sessions"),
        ("GET", "/api/supervision/history"),
        ("POST", f"/api/supervision/calls/{CALL}/listen"),
        ("POST", "/api/supervision/sessions/owner-session/mode"),
        ("DELETE", "/api/supervision/sessions/owner-session"),
        ("GET", f"/api/calls/{CALL}/recording"),
        ("POST", f"/api/calls/{CALL}/recording/pause"),
    ):
        status, body = await split.ask(supervisor, method, path, json={"mode": "barge"})
        assert status == 503, (method, path, body)
        assert "telephony process is not reachable" in body["message"], body


@dataclass
class Noted:
    world: AccessWorld
    supervision: NotedSupervision
    recorder: NotedRecorder


@pytest.fixture
async def noted(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Noted]:
    supervision, recorder = NotedSupervision(), NotedRecorder()
    control: tuple[SupervisionControl, RecordingControl] = (supervision, recorder)
    center: Any = PhoneBook()
    rpc = TestServer(rpc_app(Bus(), SECRET, INTERFACES,
                             [Offered(CENTER, center), Offered(SUPERVISION_RPC, control[0]),
                              Offered(RECORDING, control[1])], TOPICS))
    await rpc.start_server()
    url = str(rpc.make_url(""))
    session = aiohttp.ClientSession()

    def keys(db: Database, directory: Path) -> dict[Any, Any]:
        return {SUPERVISION: proxy(SUPERVISION_RPC, url, SECRET, session),
                RECORDER: proxy(RECORDING, url, SECRET, session)}

    world = await build_world(sqlite_template, tmp_path, SUPERVISION_ROUTES + LIVE_ROUTES, keys)
    try:
        yield Noted(world, supervision, recorder)
    finally:
        await close_world(world)
        await session.close()
        await rpc.close()


async def test_the_web_users_identity_reaches_the_stasis_process(noted: Noted) -> None:
    """Who supervises or pauses is the person logged in to the web process: the Stasis side
    writes the audit and the journal with it."""
    from noted import CALL as NOTED_CALL

    world = noted.world
    supervisor = world.person(OWNER, Role.SUPERVISOR)
    answer = await world.request(supervisor, "POST",
                                 f"/api/supervision/calls/{NOTED_CALL}/whisper")
    assert answer.status == 201, await answer.text()
    assert noted.supervision.asked[-1] == (
        "start", (supervisor.tenant_id, NOTED_CALL, f"PJSIP/phone-{supervisor.user_id}",
                  Mode.WHISPER), {"supervisor_user_id": supervisor.user_id})
    answer = await world.request(supervisor, "POST",
                                 f"/api/calls/{NOTED_CALL}/recording/pause")
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["recording"]["state"] == "paused"
    assert noted.recorder.asked[-1] == (
        "pause", (supervisor.tenant_id, NOTED_CALL), {"by_user_id": supervisor.user_id})
