"""An agent's own outside call carried over a kill -9 of `pbx run`, on the real stack: the
agent's desk phone and the carrier (sipp phones sending a tone each and recording what they
hear) go on talking through the restart, the restarted app knows the call as the agent's (not
offered a queue caller meanwhile, their hangup button works), and its end has everything a
call has: the talk from the first answer, the wrap-up, the call's record and end line, the
outbound figures (issue 13: before, the restarted app left it to finish outside the ACD: the
agent was offered calls while on it, no end row, no wrap-up, no outbound talk)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from faults_process import floor
from polling import eventually
from sandbox import Sandbox, SippAgent, desk_phone_ports, free_media_port
from test_restart_faults import caller, rows
from test_supervision_audio import RtpPhone, tone_db

from pbx_stasis.store import Database
from pbx_stasis.store.tables import Call

pytestmark = pytest.mark.integration

FAR_HZ, AGENT_HZ = 600, 1000
PRESENT = -20.0  # dBFS: the tones are sent at -12 dBFS
NUMBER = "+14155550199"
PHONE = 713  # ola's desk phone; pia's is the next one


def tone_phone(rtp: RtpPhone, sip_port: int, workdir: Path) -> SippAgent:
    return SippAgent("desk-phone-tone.xml", sip_port=sip_port, media_port=free_media_port(),
                     keys={"rtp_port": str(rtp.port), "ring_ms": "200"}, workdir=workdir,
                     lifetime=90)


async def both_ways(far: RtpPhone, agent: RtpPhone, seconds: float = 1.0) -> None:
    """Each side hears the other's tone over the last `seconds`."""
    since = time.monotonic()
    await asyncio.sleep(seconds)
    until = time.monotonic()
    heard = {"far end": (far, AGENT_HZ), "agent": (agent, FAR_HZ)}
    for name, (phone, hz) in heard.items():
        samples = phone.heard(since, until)
        assert len(samples) > 0.8 * 8000 * (until - since), f"the {name} heard too little"
        assert tone_db(samples, hz) > PRESENT, f"the {name} did not hear the other side"


async def agent_view(client: aiohttp.ClientSession) -> dict[str, Any]:
    me = await (await client.get("/api/me/agent")).json()
    return dict(me["agent"])


async def test_an_outbound_call_is_carried_over_a_kill(private_sandbox: Sandbox,
                                                      tmp_path: Path) -> None:
    far, agent_rtp = RtpPhone("far end", FAR_HZ), RtpPhone("agent", AGENT_HZ)
    try:
        with floor(private_sandbox, tmp_path, ["ola", "pia"], first_phone=PHONE,
                   queue={"wrapup": 3}) as center:
            # ola's desk phone sends a tone and records; the carrier answers with another.
            with_tone = center.phones[0]
            with_tone.stop()
            center.phones[0] = await asyncio.to_thread(
                tone_phone, agent_rtp, desk_phone_ports(PHONE)[0], tmp_path)
            center.phones.append(await asyncio.to_thread(
                tone_phone, far, private_sandbox.trunk_port, tmp_path))
            center.start()
            begun = datetime.now(UTC)
            for username in ("ola", "pia"):
                await center.available(username)
            async with center.signed_in("ola") as (client, headers):
                dialled = await client.post("/api/calls/dial", json={"number": NUMBER},
                                            headers=headers)
                assert dialled.status == 201, await dialled.text()
                call_id = (await dialled.json())["call_id"]
            [connected] = await rows(center, "OUTCONNECT", 1)
            assert connected.call_id == call_id
            await both_ways(far, agent_rtp)

            center.kill()
            center.start()
            [adopted] = await rows(center, "ADOPTED", 1)
            assert adopted.call_id == call_id and adopted.data["outbound"] is True
            await both_ways(far, agent_rtp)  # the conversation went on

            # ola is on her call: a queue caller goes to pia (linear: ola would be first).
            queued = caller(private_sandbox, tmp_path, "+14155550301", 1)
            [connect] = await rows(center, "CONNECT", 1)
            assert connect.agent_user_id == center.agents["pia"]
            async with center.signed_in("ola") as (client, headers):
                view = await agent_view(client)
                assert view["state"] == "on-call" and view["call_id"] == call_id, view
                hangup = await client.post(f"/api/calls/{call_id}/hangup", headers=headers)
                assert hangup.status == 204, await hangup.text()
                ends = [r for r in await rows(center, "COMPLETEAGENT", 1)
                        if r.call_id == call_id]
                assert len(ends) == 1, ends
                [end] = ends
                assert end.data["outbound"] is True and end.queue is None
                talked = (end.at - connected.at).total_seconds()
                assert end.data["talk"] == pytest.approx(talked, abs=0.5)  # from the first answer
                starts = [r for r in await rows(center, "WRAPUPSTART", 1)
                          if r.call_id == call_id]
                assert len(starts) == 1 and starts[0].agent_user_id == center.agents["ola"]
                await eventually(lambda: agent_view(client),
                                 until=lambda v: v["state"] == "available", within=10,
                                 every=0.2, what="ola available after her wrap-up")
            assert (await queued).ok
            # The journal is written behind: its last rows may follow the state by a moment.
            await rows(center, "WRAPUPEND", 2)  # pia's and ola's
            await rows(center, "CALLEND", 2)

            journal = [r for r in await center.journal() if r.call_id == call_id]
            story = [r.event for r in journal if r.event in {
                "OUTDIAL", "OUTCONNECT", "ADOPTED", "COMPLETEAGENT", "COMPLETECALLER",
                "WRAPUPSTART", "WRAPUPEND", "CALLEND"}]
            assert sorted(story) == sorted(["OUTDIAL", "OUTCONNECT", "ADOPTED", "COMPLETEAGENT",
                                            "WRAPUPSTART", "WRAPUPEND", "CALLEND"]), story
            db = Database.connect(center.url)
            try:
                async with db.session() as session:
                    record = await session.get(Call, call_id)
            finally:
                await db.dispose()
            assert record is not None and record.ended_at is not None
            assert record.agent_user_id == center.agents["ola"]
            assert str(record.status.value) == "ended"

            report = await center.report(begun - timedelta(seconds=1),
                                         datetime.now(UTC) + timedelta(seconds=1))
            ola = report.agents[center.agents["ola"]].tally
            assert (ola.outbound_placed, ola.outbound_connected) == (1, 1)
            assert ola.outbound_talk == pytest.approx(end.data["talk"], abs=0.01)
            assert ola.outbound_wrapup == pytest.approx(3.0, abs=0.5)
            assert (ola.answered, ola.handled) == (0, 0)
            assert center.stop() == 0
    finally:
        for rtp in (far, agent_rtp):
            rtp.close()
