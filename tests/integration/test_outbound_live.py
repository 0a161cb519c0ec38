"""An agent's own outside call is a full call, on a real Asterisk: click-to-call rings the agent's
desk phone, then the carrier (a sipp phone on the trunk port that answers); from the answer the
call is in the live calls with its number and connected time, held, sent tones, listened to by
a supervisor (who hears both sides), recorded by its queue's policy, and ended by the agent into
a wrap-up, with the outbound figures in the report.

Audio: the far end, the agent and the supervisor are sipp desk phones whose RTP the test sends
(a tone each) and hears (tests/integration/test_supervision_audio.py).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from callcenter import call_center, session_headers, web_client
from polling import eventually
from sandbox import Sandbox, SippAgent, desk_phone_ports, free_media_port
from test_supervision_audio import RtpPhone, tone_db

from pbx_stasis.store import Directory
from pbx_stasis.store.tables import Call

pytestmark = pytest.mark.integration

FAR_HZ, AGENT_HZ, SUPERVISOR_HZ = 600, 1000, 1400
PRESENT, ABSENT = -20.0, -40.0  # dBFS: the tones are sent at -12 dBFS
NUMBER = "+14155550199"


def _tone_phone(rtp: RtpPhone, sip_port: int, workdir: Path) -> SippAgent:
    return SippAgent("desk-phone-tone.xml", sip_port=sip_port, media_port=free_media_port(),
                     keys={"rtp_port": str(rtp.port), "ring_ms": "200"}, workdir=workdir,
                     lifetime=60)


LISTEN_S = 1.0


def _levels(phone: RtpPhone, since: float, until: float) -> dict[int, float]:
    heard = phone.heard(since, until)
    assert len(heard) > 0.8 * 8000 * LISTEN_S, f"{phone.name} heard too little"
    return {hz: round(tone_db(heard, hz), 1) for hz in (FAR_HZ, AGENT_HZ, SUPERVISOR_HZ)}


async def _listen(*phones: RtpPhone) -> tuple[float, float]:
    """A window of at least LISTEN_S, past the change, that lasts until each phone heard 0.8 s
    of audio (at most 2 s more): on two busy cores a phone's thread can read its packets late,
    and a fixed window then holds too few of them though the audio was there."""
    await asyncio.sleep(0.3)  # past the change
    since = time.monotonic()
    await asyncio.sleep(LISTEN_S)
    await eventually(lambda: min(len(phone.heard(since)) for phone in phones),
                     until=lambda samples: samples > 0.8 * 8000 * LISTEN_S, within=2,
                     what="each phone hears 0.8 s of audio")
    return since, time.monotonic()


async def test_an_agents_outbound_call_is_a_full_call(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    far, agent_rtp, supervisor_rtp = (RtpPhone("far end", FAR_HZ), RtpPhone("agent", AGENT_HZ),
                                      RtpPhone("supervisor", SUPERVISOR_HZ))
    async with call_center(private_sandbox, tmp_path, {"sales": {"wrapup": 30}}) as center:
        tenant_id = center.app.tenant_id
        await center.record()
        agent = await center.add_agent("olga", 613, scenario="desk-phone-tone.xml",
                                       keys={"rtp_port": str(agent_rtp.port)})
        carrier = await asyncio.to_thread(_tone_phone, far, private_sandbox.trunk_port, tmp_path)
        center.phones.append(carrier)
        sup_port, _ = desk_phone_ports(614)
        private_sandbox.provision_desk_phone("sup-614", sup_port)
        center.phones.append(await asyncio.to_thread(_tone_phone, supervisor_rtp, sup_port,
                                                     tmp_path))
        boss = await Directory(center.db).add_user("default", "sue", "supervisor")
        try:
            async with web_client(center) as client:
                olga = await session_headers(client, agent.user_id, tenant_id)
                sue = await session_headers(client, boss.id, tenant_id)
                dialled = await client.post("/api/calls/dial", json={"number": NUMBER},
                                            headers=olga)
                assert dialled.status == 201, await dialled.text()
                call_id = (await dialled.json())["call_id"]
                await center.wait_for("OUTCONNECT")

                # In the live calls, for the supervisor too: number, talking, connected time.
                async def live() -> list[dict[str, object]]:
                    reply = await client.get("/api/calls/live", headers=sue)
                    return list((await reply.json())["calls"])

                [call] = await eventually(live, until=lambda calls: len(calls) == 1)
                assert call["call_id"] == call_id and call["direction"] == "outbound"
                assert call["to_number"] == NUMBER and call["state"] == "talking"
                assert call["agent_user_id"] == agent.user_id and call["connected_at"]
                assert call["queue"] == "sales"
                since, until = await _listen(far, agent_rtp)
                assert _levels(far, since, until)[AGENT_HZ] > PRESENT  # audio both ways
                assert _levels(agent_rtp, since, until)[FAR_HZ] > PRESENT

                # Hold: the far end hears music, not the agent; then back.
                calls = f"/api/calls/{call_id}"
                assert (await client.post(f"{calls}/hold", headers=olga)).status == 204
                since, until = await _listen(far)
                assert _levels(far, since, until)[AGENT_HZ] < ABSENT
                assert (await client.post(f"{calls}/unhold", headers=olga)).status == 204
                since, until = await _listen(far)
                assert _levels(far, since, until)[AGENT_HZ] > PRESENT
                tones = await client.post(f"{calls}/dtmf", json={"digits": "12#"}, headers=olga)
                assert tones.status == 204, await tones.text()

                # A supervisor listens: hears both sides, unheard.
                supervised = await client.get("/api/supervision/calls", headers=sue)
                assert call_id in {c["call_id"] for c in (await supervised.json())["calls"]}
                await center.app.supervision.listen(tenant_id, call_id, "PJSIP/sup-614")
                since, until = await _listen(supervisor_rtp, far)
                heard = _levels(supervisor_rtp, since, until)
                assert heard[FAR_HZ] > PRESENT and heard[AGENT_HZ] > PRESENT
                assert _levels(far, since, until)[SUPERVISOR_HZ] < ABSENT

                # The agent hangs up: their part ends, wrap-up follows.
                assert (await client.post(f"{calls}/hangup", headers=olga)).status == 204
                [end] = await center.wait_for("COMPLETEAGENT")
                assert end.call_id == call_id and end.data["outbound"] is True
                assert end.queue is None and end.data["talk"] > 3
                [wrapup] = await center.wait_for("WRAPUPSTART")
                assert wrapup.data["seconds"] == 30 and wrapup.agent_user_id == agent.user_id
                me = await (await client.get("/api/me/agent", headers=olga)).json()
                assert me["agent"]["state"] == "wrap-up" and me["agent"]["call_id"] == call_id
                await center.idle()
                await center.app.recorder.drain()  # the recording is filed after the call ends
                async with center.db.session() as db:
                    record = await db.get(Call, call_id)
                assert record is not None and record.agent_user_id == agent.user_id
                recordings = await center.app.recorder.store.for_call(call_id)
                assert len(recordings) == 1 and recordings[0].agent_user_id == agent.user_id

                report = await (await client.get("/api/reports", headers=sue)).json()
                [olgas] = [a for a in report["agents"] if a["agent_user_id"] == agent.user_id]
                assert (olgas["outbound_placed"], olgas["outbound_connected"]) == (1, 1)
                assert olgas["outbound_talk"] == end.data["talk"]
                assert olgas["answered"] == 0 and olgas["talk"] == 0
                assert all(q["offered"] == 0 for q in report["queues"])
        finally:
            private_sandbox.remove_desk_phone("sup-614")
            for rtp in (far, agent_rtp, supervisor_rtp):
                rtp.close()


async def test_an_agent_hands_their_outbound_call_to_a_queue(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """The far end of an agent's outbound call, transferred to a queue, is that queue's caller:
    another agent answers and talks to them; each agent's part is theirs."""
    async with call_center(private_sandbox, tmp_path,
                           {"sales": {"wrapup": 10}, "support": {}}) as center:
        olga = await center.add_agent("olga", 615, queues={"sales": 0})
        pete = await center.add_agent("pete", 616, queues={"support": 0})
        carrier = await asyncio.to_thread(
            SippAgent, "agent-answer.xml", sip_port=private_sandbox.trunk_port,
            media_port=free_media_port(), keys={"ring_ms": "200"}, workdir=tmp_path,
            lifetime=60)
        center.phones.append(carrier)
        await center.app.agent_calls.dial(olga, NUMBER, "handedovercall01")
        await center.wait_for("OUTCONNECT")
        await center.app.acd.transfer("handedovercall01", "queue", "support", attended=False)
        [connect] = await center.wait_for("CONNECT")
        assert connect.agent_user_id == pete.user_id and connect.queue == "support"
        await asyncio.sleep(1.0)  # on purpose: pete talks to the far end
        await center.app.acd.hangup("handedovercall01")  # pete's hangup button
        [end] = await center.wait_for("COMPLETEAGENT")
        await center.idle()
        rows = [r for r in await center.journal() if r.call_id == "handedovercall01"]
        story = [(r.event, r.agent_user_id) for r in rows if r.event in {
            "OUTDIAL", "OUTCONNECT", "TRANSFER", "ENTERQUEUE", "CONNECT", "COMPLETEAGENT",
            "WRAPUPSTART"}]
        assert story == [
            ("OUTDIAL", olga.user_id), ("OUTCONNECT", olga.user_id),
            ("TRANSFER", olga.user_id), ("WRAPUPSTART", olga.user_id),
            ("ENTERQUEUE", None), ("CONNECT", pete.user_id), ("COMPLETEAGENT", pete.user_id)]
        assert end.data["talk"] >= 1 and "outbound" not in end.data
        [transfer] = [r for r in rows if r.event == "TRANSFER"]
        assert transfer.data["outbound"] is True and transfer.queue is None
        async with center.db.session() as db:
            record = await db.get(Call, "handedovercall01")
        assert record is not None and record.agent_user_id == pete.user_id
        assert record.ended_at is not None
