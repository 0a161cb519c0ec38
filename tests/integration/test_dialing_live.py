"""Outside calls on a real Asterisk: the dialling policy stops toll fraud before the carrier (a
sipp UAS on the trunk port), calls belong to the tenant of the agent who placed them, and
click-to-call says so when the agent's phone is not registered.

The agents are sipp desk phones (answering, or dialling as a UAC from the agent's endpoint);
the web API runs in-process over the live app (LiveContactCenter), as `pbx run` wires it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from callcenter import (
    CallCenter,
    call_center,
    connected_call,
    enqueue_into,
    session_headers,
    web_client,
)
from polling import eventually
from sandbox import Sandbox, SippAgent, desk_phone_ports, free_media_port, run_sipp_async
from sqlalchemy import select

from pbx_stasis.acd.directory import AcdDirectory, AgentRecord
from pbx_stasis.dialing import REFUSED, DialRefused
from pbx_stasis.store import Directory
from pbx_stasis.store.tables import Call

pytestmark = pytest.mark.integration

PREMIUM = "+19005550123"  # the number of the toll-fraud attack (US premium rate)
ORDINARY = "+14155550199"


def _carrier(sandbox: Sandbox, workdir: Path) -> SippAgent:
    return SippAgent("agent-answer.xml", sip_port=sandbox.trunk_port,
                     media_port=free_media_port(), keys={"ring_ms": "200"}, workdir=workdir,
                     lifetime=60)


async def _ended(center: CallCenter, call_id: str, within: float = 20.0) -> Call:
    async def record() -> Call | None:
        await center.app.db.writes.settle()
        async with center.db.session() as session:
            return await session.get(Call, call_id)

    call = await eventually(record, until=lambda call: call is not None and call.ended_at,
                            within=within, every=0.1)
    assert call is not None
    return call


async def test_click_to_call_refuses_a_premium_number_and_dials_an_ordinary_one(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}}) as center:
        agent = await center.add_agent("dialer", 300, scenario="agent-answer-hangs-up.xml",
                                       keys={"talk_ms": "1500"})
        carrier = await asyncio.to_thread(_carrier, private_sandbox, tmp_path)
        try:
            with pytest.raises(DialRefused) as refused:
                await center.app.agent_calls.dial(agent, PREMIUM, "premiumcall00001")
            assert str(refused.value) == f"{PREMIUM} is a premium-rate number"
            await center.app.agent_calls.dial(agent, ORDINARY, "ordinarycall0001")
            call = await _ended(center, "ordinarycall0001")
            await center.idle()
        finally:
            far = await asyncio.to_thread(carrier.stop)
        # Only the ordinary number reached the carrier.
        assert far.created == 1 and far.successful == 1, far.describe()
        assert call.answered_at is not None and call.agent_user_id == agent.user_id
        [line] = await center.journal(REFUSED)
        assert line.call_id is None and line.agent_user_id == agent.user_id
        assert line.data["number"] == PREMIUM and line.data["reason"] == "premium-rate"
        assert line.data["by"] == "dialer"
        assert await center.journal("DIAL_REFUSED") == [line]


async def test_a_desk_phone_dialling_a_premium_number_is_refused_before_the_carrier(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}}) as center:
        sip_port, media_port = desk_phone_ports(310)
        user = await Directory(center.db).add_user("default", "mallory", "agent")
        agent = await AcdDirectory(center.db).save_agent(
            user.id, queues={"sales": 0}, contact=f"sip:mallory@127.0.0.1:{sip_port}")
        await center.app.acd.save_agent(agent)
        carrier = await asyncio.to_thread(_carrier, private_sandbox, tmp_path)
        try:
            # The phone itself dials (dialplan from-agents): its own port, its own credentials.
            phone = await run_sipp_async(
                "agent-dials-refused.xml", private_sandbox.sip_target, service=PREMIUM,
                caller=agent.endpoint, local_port=sip_port, media_port=media_port,
                extra_args=["-au", agent.endpoint, "-ap", agent.sip_password], timeout=15,
                workdir=tmp_path)
            await center.idle()
        finally:
            far = await asyncio.to_thread(carrier.stop)
        assert phone.ok, phone.describe()  # 403 Forbidden
        assert far.created == 0, far.describe()
        [line] = await center.journal(REFUSED)
        assert line.agent_user_id == agent.user_id and line.data["reason"] == "premium-rate"
        assert line.data["number"] == PREMIUM and line.call_id is not None
        async with center.db.session() as session:
            call = await session.get(Call, line.call_id)
        assert call is not None and call.answered_at is None
        assert call.hangup_cause == 21 and call.agent_user_id == agent.user_id
        assert not await center.journal("transfer.dial")


async def test_a_second_tenants_outbound_call_is_theirs_and_the_agents(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}}) as center:
        directory = Directory(center.db)
        default = await directory.ensure_tenant("default")
        globex = await directory.ensure_tenant("globex")
        sip_port, media_port = desk_phone_ports(320)
        user = await directory.add_user("globex", "gina", "agent")
        agent = await AcdDirectory(center.db).save_agent(
            user.id, contact=f"sip:gina@127.0.0.1:{sip_port}")
        await center.app.acd.save_agent(agent)
        phone = await asyncio.to_thread(
            SippAgent, "agent-answer-hangs-up.xml", sip_port=sip_port, media_port=media_port,
            keys={"talk_ms": "1000"}, workdir=tmp_path, lifetime=60)
        center.phones.append(phone)
        theirs = await directory.add_user("globex", "sue", "supervisor")
        ours = await directory.add_user("default", "sam", "supervisor")
        carrier = await asyncio.to_thread(_carrier, private_sandbox, tmp_path)
        try:
            async with web_client(center) as client:
                gina = await session_headers(client, user.id, globex.id)
                response = await client.post("/api/calls/dial", json={"number": ORDINARY},
                                             headers=gina)
                assert response.status == 201, await response.text()
                call_id = (await response.json())["call_id"]
                call = await _ended(center, call_id)
                await center.idle()
                sue = await session_headers(client, theirs.id, globex.id)
                sam = await session_headers(client, ours.id, default.id)
                listed = await (await client.get("/api/calls", headers=sue)).json()
                assert [c["call_id"] for c in listed["calls"]] == [call_id]
                assert listed["calls"][0]["agent_user_id"] == user.id
                one = await client.get(f"/api/calls/{call_id}", headers=sue)
                assert one.status == 200
                events = (await one.json())["events"]
                assert {"CALLSTART", "OUTBOUND", "transfer.dial", "CALLEND"} <= {
                    e["event"] for e in events}
                assert (await (await client.get("/api/calls", headers=sam)).json())["calls"] == []
                assert (await client.get(f"/api/calls/{call_id}", headers=sam)).status == 404
                own = await (await client.get("/api/calls", headers=gina)).json()
                assert [c["call_id"] for c in own["calls"]] == [call_id]  # the agent sees it
        finally:
            far = await asyncio.to_thread(carrier.stop)
        assert far.successful == 1, far.describe()
        assert call.tenant_id == globex.id and call.agent_user_id == user.id
        rows = [r for r in await center.journal() if r.call_id == call_id]
        assert rows and {r.tenant_id for r in rows} == {globex.id}
        async with center.db.session() as session:
            stray = await session.scalars(select(Call).where(Call.tenant_id == default.id))
            assert list(stray) == []


async def test_click_to_call_without_a_registered_phone_says_so(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}}) as center:
        directory = Directory(center.db)
        tenant = await directory.ensure_tenant("default")
        user = await directory.add_user("default", "wendy", "agent")
        # A softphone agent (WebRTC endpoint, no fixed contact) whose browser is closed.
        agent: AgentRecord = await AcdDirectory(center.db).save_agent(user.id)
        await center.app.acd.save_agent(agent)
        async with web_client(center) as client:
            wendy = await session_headers(client, user.id, tenant.id)
            response = await client.post("/api/calls/dial", json={"number": ORDINARY},
                                         headers=wendy)
            body = await response.json()
            assert response.status == 409, body
            assert body["message"].startswith("your phone is not registered")
            response = await client.post("/api/calls/dial", json={"number": PREMIUM},
                                         headers=wendy)
            body = await response.json()
            assert response.status == 403, body
            assert body["message"] == f"{PREMIUM} is a premium-rate number"
        await center.idle()
        async with center.db.session() as session:
            assert list(await session.scalars(select(Call))) == []


FLOW = f"""
flows:
  hotline:
    dids: ["+15550777"]
    entry: payments
    prompts:
      sorry: {{en: {{file: beep}}}}
    nodes:
      payments: {{kind: transfer, number: "{PREMIUM}", on_failure: sorry}}
      sorry: {{kind: play, prompts: sorry, next: bye}}
      bye: {{kind: hangup}}
"""


async def test_a_second_tenants_ivr_number_is_theirs_and_its_premium_transfer_refused(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}}) as center:
        globex = await Directory(center.db).ensure_tenant("globex")
        applied = await center.app.ivr.apply(globex.id, [("flows.yaml", FLOW)], "test")
        assert applied.version is not None, [str(p) for p in applied.problems]
        carrier = await asyncio.to_thread(_carrier, private_sandbox, tmp_path)
        try:
            caller = await run_sipp_async("caller-waits-bye.xml", private_sandbox.sip_target,
                                          service="+15550777", caller="+14155550142",
                                          timeout=20, workdir=tmp_path)
            await center.idle()
        finally:
            far = await asyncio.to_thread(carrier.stop)
        assert caller.ok, caller.describe()
        assert far.created == 0, far.describe()
        async with center.db.session() as session:
            [call] = list(await session.scalars(select(Call)))
        assert call.tenant_id == globex.id and call.to_number == "+15550777"
        rows = [r for r in await center.journal() if r.call_id == call.id]
        assert {r.tenant_id for r in rows} == {globex.id}
        [refused] = [r for r in rows if r.event == REFUSED]
        assert refused.data["reason"] == "premium-rate" and refused.data["by"] is None
        left = [r.data for r in rows if r.event == "ivr.leave" and r.data["node"] == "payments"]
        assert left[0]["reason"] == "not_allowed"  # the flow took its failure path


async def test_an_agent_cannot_transfer_a_caller_to_a_premium_number(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        agent = await center.add_agent("transferrer", 330)
        tenant = await Directory(center.db).ensure_tenant("default")
        carrier = await asyncio.to_thread(_carrier, private_sandbox, tmp_path)
        try:
            caller = asyncio.create_task(run_sipp_async(
                "caller-hangs-up.xml", private_sandbox.sip_target, caller="+14155550143",
                keys={"talk_ms": "4000"}, timeout=30, workdir=tmp_path))
            call_id = await connected_call(center)
            async with web_client(center) as client:
                headers = await session_headers(client, agent.user_id, tenant.id)
                for attended in (False, True):
                    response = await client.post(
                        f"/api/calls/{call_id}/transfer", headers=headers,
                        json={"kind": "number", "target": PREMIUM, "attended": attended})
                    body = await response.json()
                    assert response.status == 403, body
                    assert body["message"] == f"{PREMIUM} is a premium-rate number"
            result = await caller
            await center.idle()
        finally:
            far = await asyncio.to_thread(carrier.stop)
        assert result.ok, result.describe()  # the caller stayed with the agent
        assert far.created == 0, far.describe()
        refused = await center.journal(REFUSED)
        assert [r.call_id for r in refused] == [call_id, call_id]
        assert not await center.journal("TRANSFER", "CONSULT")
