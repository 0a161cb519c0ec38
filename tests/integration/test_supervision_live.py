"""Supervision on a real Asterisk with real audio: who hears the supervisor in each mode.

Three phones send tones (caller 600 Hz, agent 1000 Hz, supervisor 1400 Hz) through RtpPhones
behind sipp's SIP (see test_supervision_audio.py), and each phone's received audio is measured
at each frequency. Listen: nobody hears 1400 Hz; whisper: the agent only; barge: both. The
supervisor hears the caller throughout, across switches, on one channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from callcenter import CallCenter, call_center, enqueue_into
from polling import eventually
from sandbox import Sandbox, SippAgent, desk_phone_ports, run_sipp_async
from sqlalchemy import select
from test_supervision_audio import FRAME, RtpPhone, goertzel_db, tone_db, ulaw_decode

from pbx_stasis.acd.http.control import ACD
from pbx_stasis.acd.model import QueueConfig
from pbx_stasis.bus import Bus
from pbx_stasis.center.service import SipCredentials
from pbx_stasis.store import Directory
from pbx_stasis.store.tables import Tenant
from pbx_stasis.supervision import Mode, Supervision, SupervisionAudit
from pbx_stasis.supervision.http import ROUTES, SUPERVISION
from pbx_stasis.web.app import Site, WebContext
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode
from pbx_stasis.web.routing import CSRF_HEADER, serve
from pbx_stasis.web.sessions import COOKIE

pytestmark = pytest.mark.integration

CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 600, 1000, 1400
PRESENT, ABSENT = -20.0, -40.0  # dBFS: the tones are sent at -12 dBFS
WINDOW = 1.2  # seconds of audio measured per mode


@dataclass
class Scene:
    center: CallCenter
    supervision: Supervision
    caller: RtpPhone
    agent: RtpPhone
    supervisor: RtpPhone
    supervisor_line: str
    supervisor_phone: SippAgent
    call: asyncio.Task[Any]
    call_id: str = ""

    def levels(self, phone: RtpPhone, since: float, until: float) -> dict[int, float]:
        heard = phone.heard(since, until)
        assert len(heard) > 0.8 * 8000 * (until - since), f"{phone.name} heard too little"
        return {hz: round(tone_db(heard, hz), 1) for hz in (CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ)}


@contextlib.asynccontextmanager
async def supervised_call(
    sandbox: Sandbox, workdir: Path, index: int, *, caller_talk_ms: int = 10_000,
    agent_talk_ms: int | None = None, supervisor_talk_ms: int | None = None,
) -> AsyncIterator[Scene]:
    """A caller talking to an agent, both with tone phones, and a supervisor's desk phone.

    The caller hangs up after `caller_talk_ms`; the agent's and the supervisor's phones hang
    up after their talk_ms when given, else wait for Asterisk's BYE.
    """
    phones = [RtpPhone("caller", CALLER_HZ), RtpPhone("agent", AGENT_HZ),
              RtpPhone("supervisor", SUPERVISOR_HZ)]
    caller, agent, supervisor = phones
    async with call_center(sandbox, workdir, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        supervision = center.app.supervision
        await center.add_agent("alice", index, **_desk_phone(agent, agent_talk_ms))
        sip_port, media_port = desk_phone_ports(index + 1)
        endpoint = f"sup-{index + 1}"
        sandbox.provision_desk_phone(endpoint, sip_port)
        phone = await asyncio.to_thread(
            SippAgent, sip_port=sip_port, media_port=media_port, workdir=workdir, lifetime=60,
            **_desk_phone(supervisor, supervisor_talk_ms),
        )
        call = asyncio.create_task(run_sipp_async(
            "caller-tone.xml", sandbox.sip_target, caller="+15550100",
            keys={"talk_ms": str(caller_talk_ms), "rtp_port": str(caller.port)}, timeout=40,
        ))
        scene = Scene(center, supervision, caller, agent, supervisor, f"PJSIP/{endpoint}",
                      phone, call)
        try:
            [connect] = await center.wait_for("CONNECT")
            assert connect.call_id is not None
            scene.call_id = connect.call_id
            await eventually(lambda: scene.call_id in supervision.talks, every=0.02)
            yield scene
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call, 40)
            await supervision.close()
            await asyncio.to_thread(phone.stop)
            sandbox.remove_desk_phone(endpoint)
            for rtp in phones:
                rtp.close()


def _desk_phone(rtp: RtpPhone, talk_ms: int | None) -> dict[str, Any]:
    if talk_ms is None:
        return {"scenario": "desk-phone-tone.xml", "keys": {"rtp_port": str(rtp.port)}}
    return {"scenario": "desk-phone-tone-hangs-up.xml",
            "keys": {"rtp_port": str(rtp.port), "talk_ms": str(talk_ms)}}


def longest_gap(phone: RtpPhone, hz: int, since: float, until: float) -> float:
    """The longest time (s) in [since, until) without 20 ms of `hz` arriving at the phone."""
    times = [
        packet.at
        for packet in phone.arrivals(since, until)
        if goertzel_db(ulaw_decode(packet.payload), hz) > -30
    ]
    edges = [since, *times, until]
    return max(b - a for a, b in itertools.pairwise(edges)) - FRAME / 8000


async def measure(scene: Scene, seconds: float = WINDOW) -> tuple[float, float]:
    # Time passes on purpose: the audio of `seconds` after the switch settled is what is measured.
    await asyncio.sleep(0.3)  # past the switch
    since = time.monotonic()
    await asyncio.sleep(seconds)
    return since, time.monotonic()


async def test_listen_whisper_barge_reach_the_right_ears_on_one_supervisor_channel(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with supervised_call(private_sandbox, tmp_path, 500, caller_talk_ms=7000) as scene:
        service, center = scene.supervision, scene.center
        tenant_id = center.app.tenant_id
        session = await service.listen(tenant_id, scene.call_id, scene.supervisor_line)
        levels: dict[str, dict[str, dict[int, float]]] = {}
        switches: list[tuple[str, float, float]] = []
        for mode in (Mode.LISTEN, Mode.WHISPER, Mode.BARGE):
            if mode is not Mode.LISTEN:
                began = time.monotonic()
                switched = await service.switch(session.session_id, mode)
                assert switched.session.mode is mode
                done = time.monotonic()
            since, until = await measure(scene)
            if mode is not Mode.LISTEN:  # the audio around the switch has arrived by now
                gap = longest_gap(scene.supervisor, CALLER_HZ, began - 0.2, done + 0.2)
                switches.append((mode.value, switched.took, gap))
            levels[mode.value] = {
                phone.name: scene.levels(phone, since, until)
                for phone in (scene.caller, scene.agent, scene.supervisor)
            }
        print("\nlevels (dBFS) by mode, phone, frequency:", levels)
        print("switches (mode, took s, longest gap of the caller at the supervisor s):", switches)

        sup = SUPERVISOR_HZ
        assert levels["listen"]["agent"][sup] < ABSENT
        assert levels["listen"]["caller"][sup] < ABSENT
        assert levels["whisper"]["agent"][sup] > PRESENT
        assert levels["whisper"]["caller"][sup] < ABSENT
        assert levels["barge"]["agent"][sup] > PRESENT
        assert levels["barge"]["caller"][sup] > PRESENT
        for mode in ("listen", "whisper", "barge"):  # the supervisor hears both sides
            assert levels[mode]["supervisor"][CALLER_HZ] > PRESENT
            assert levels[mode]["supervisor"][AGENT_HZ] > PRESENT
            assert levels[mode]["agent"][CALLER_HZ] > PRESENT  # and the call goes on
            assert levels[mode]["caller"][AGENT_HZ] > PRESENT
        for _, took, gap in switches:
            assert took < 0.3 and gap < 0.3

        # The caller hangs up: the session ends with the call, the supervisor is hung up.
        result = await scene.call
        assert result.ok, result.describe()
        await center.wait_for("SUPERVISE_END", within=10)
        await center.idle()
        supervisor_calls = (await asyncio.to_thread(scene.supervisor_phone.stop))
        assert supervisor_calls.created == 1 and supervisor_calls.successful == 1

        rows = await center.journal("SUPERVISE_START", "SUPERVISE_SWITCH", "SUPERVISE_END")
        assert [r.event for r in rows] == ["SUPERVISE_START", "SUPERVISE_SWITCH",
                                           "SUPERVISE_SWITCH", "SUPERVISE_END"]
        assert {r.data["session"] for r in rows} == {session.session_id}
        assert all(r.call_id == scene.call_id for r in rows)
        assert [(r.data.get("from"), r.data.get("to")) for r in rows[1:3]] == [
            ("listen", "whisper"), ("whisper", "barge")]
        assert rows[3].data["reason"] == "call ended"
        audit = await SupervisionAudit(center.db).history(tenant_id, call_id=scene.call_id)
        assert [(a.mode, a.end_reason) for a in reversed(audit)] == [
            ("listen", "switched"), ("whisper", "switched"), ("barge", "call ended")]
        assert all(a.ended_at is not None for a in audit)


class PhoneBook:
    """The one ContactCenter call the supervision routes make: the user's softphone."""

    def __init__(self, lines: dict[int, str]) -> None:
        self.lines = lines

    async def sip_credentials(self, tenant_id: int, user_id: int) -> SipCredentials:
        if user_id not in self.lines:
            raise ServiceError(ServiceErrorCode.NOT_FOUND, "no softphone")
        endpoint = self.lines[user_id]
        return SipCredentials("ws://127.0.0.1/ws", f"sip:{endpoint}@127.0.0.1", endpoint, "x", "")

    async def queues(self, tenant_id: int) -> list[QueueConfig]:
        return []


async def test_supervising_over_http_checks_roles_and_tenants_and_a_manager_stops_it(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with supervised_call(private_sandbox, tmp_path, 504, caller_talk_ms=5000) as scene:
        center = scene.center
        directory = Directory(center.db)
        boss = await directory.add_user("default", "boss", "supervisor")
        peer = await directory.add_user("default", "peer", "supervisor")
        manager = await directory.add_user("default", "head", "manager")
        agent = await directory.add_user("default", "clerk", "agent")
        await directory.ensure_tenant("other")
        stranger = await directory.add_user("other", "spy", "supervisor")
        endpoint = scene.supervisor_line.removeprefix("PJSIP/")
        book = PhoneBook({user.id: endpoint for user in (boss, peer, stranger)})
        site = Site(WebContext(db=center.db, bus=Bus(), settings=center.app.settings))
        app = web.Application()
        app[ACD] = book  # type: ignore[misc]  # a PhoneBook: the two AcdControl calls used
        app[SUPERVISION] = scene.supervision
        for route in ROUTES:
            app.router.add_route(route.method, route.path, serve(route, site))
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            async def headers(user_id: int, tenant_slug: str) -> dict[str, str]:
                async with center.db.session() as session:
                    tenant_id = await session.scalar(
                        select(Tenant.id).where(Tenant.slug == tenant_slug))
                token = await site.sessions.open(user_id, tenant_id, "127.0.0.1", "pytest")
                principal = await site.sessions.resolve(token)
                assert principal is not None
                return {"Cookie": f"{COOKIE}={token}", CSRF_HEADER: principal.csrf_token}

            as_boss, as_peer = await headers(boss.id, "default"), await headers(peer.id, "default")
            as_agent, as_stranger = (await headers(agent.id, "default"),
                                     await headers(stranger.id, "other"))
            start = f"/api/supervision/calls/{scene.call_id}/whisper"
            assert (await client.post(start, headers=as_agent)).status == 403
            assert (await client.post(start, headers=as_stranger)).status == 404
            listed = await client.get("/api/supervision/calls", headers=as_stranger)
            assert (await listed.json())["calls"] == []  # another tenant's calls are not seen
            listed = await client.get("/api/supervision/calls", headers=as_boss)
            assert [c["call_id"] for c in (await listed.json())["calls"]] == [scene.call_id]

            started = await client.post(start, headers=as_boss)
            assert started.status == 201, await started.text()
            session = (await started.json())["session"]
            assert session["mode"] == "whisper" and session["supervisor_user_id"] == boss.id
            mode = f"/api/supervision/sessions/{session['session_id']}/mode"
            stop = f"/api/supervision/sessions/{session['session_id']}"
            for who in (as_peer, as_stranger):  # not their session / not their tenant
                assert (await client.post(mode, json={"mode": "barge"}, headers=who)).status == 404
                assert (await client.delete(stop, headers=who)).status == 404
            assert (await client.delete(stop, headers=as_agent)).status == 403
            bad = await client.post(mode, json={"mode": "shout"}, headers=as_boss)
            assert bad.status == 400
            switched = await client.post(mode, json={"mode": "listen"}, headers=as_boss)
            assert switched.status == 200, await switched.text()
            assert (await switched.json())["session"]["mode"] == "listen"

            stopped = await client.delete(stop, headers=await headers(manager.id, "default"))
            assert stopped.status == 204
            [end] = await center.wait_for("SUPERVISE_END", within=10)
            ended = time.monotonic()
            assert end.data["reason"] == "stopped" and end.data["supervisor_user_id"] == boss.id
            # ... and the call goes on: the agent still hears the caller, no supervisor.
            await asyncio.sleep(0.8)  # on purpose: 0.8 s of the agent's audio to measure
            after = scene.levels(scene.agent, ended + 0.1, time.monotonic())
            assert after[CALLER_HZ] > PRESENT and after[SUPERVISOR_HZ] < ABSENT
            result = await scene.call
            assert result.ok, result.describe()
            await center.idle()
            assert [r.event for r in await center.journal("CONNECT", "COMPLETECALLER")] == [
                "CONNECT", "COMPLETECALLER"]
            supervisor_calls = await asyncio.to_thread(scene.supervisor_phone.stop)
            assert supervisor_calls.successful == 1  # hung up by us, BYE answered
        finally:
            await client.close()


async def test_the_supervisor_hanging_up_ends_the_session_not_the_call(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with supervised_call(private_sandbox, tmp_path, 508, caller_talk_ms=4000,
                               supervisor_talk_ms=1500) as scene:
        service, center = scene.supervision, scene.center
        await service.whisper(center.app.tenant_id, scene.call_id, scene.supervisor_line)
        [end] = await center.wait_for("SUPERVISE_END", within=10)
        assert end.data["reason"] == "supervisor hung up" and end.data["mode"] == "whisper"
        result = await scene.call
        assert result.ok, result.describe()  # the caller talked to the end and hung up
        await center.idle()
        assert [r.event for r in await center.journal("COMPLETECALLER")] == ["COMPLETECALLER"]


async def test_the_agent_hanging_up_ends_a_barge(private_sandbox: Sandbox, tmp_path: Path) -> None:
    async with supervised_call(private_sandbox, tmp_path, 512, caller_talk_ms=8000,
                               agent_talk_ms=2500) as scene:
        service, center = scene.supervision, scene.center
        await service.barge(center.app.tenant_id, scene.call_id, scene.supervisor_line)
        [end] = await center.wait_for("SUPERVISE_END", within=10)
        await center.idle()
        assert end.data["reason"] in ("call ended", "agent left")
        assert end.data["mode"] == "barge"
        supervisor_calls = await asyncio.to_thread(scene.supervisor_phone.stop)
        assert supervisor_calls.successful == 1  # hung up by us, BYE answered
        assert [r.event for r in await center.journal("COMPLETEAGENT")] == ["COMPLETEAGENT"]
        # What a crashed run would leave behind is cleared on the next start.
        await center.app.ari.bridges.create("mixing", bridge_id="sv-left-by-a-crash")
        assert await service.clear_leftovers() == 1
        assert "sv-left-by-a-crash" not in [b["id"] for b in await center.app.ari.bridges.list()]
