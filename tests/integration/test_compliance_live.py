"""Compliance on a real Asterisk: a desk phone's manual dial to a number on the tenant's
do-not-call list, and a click-to-call outside calling hours in the callee's time zone, are
refused before the carrier (a sipp UAS on the trunk port sees no INVITE) and logged with their
reason where the admin reads refusals; a call task is not finished without an outcome.

One call center for the module's story; the web API runs in-process over the live app, as
`pbx run` wires it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from callcenter import call_center, session_headers, web_client
from sandbox import Sandbox, SippAgent, desk_phone_ports, free_media_port, run_sipp_async

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.dialing import REFUSED
from pbx_stasis.dialing.compliance import DAYS
from pbx_stasis.store import Directory

pytestmark = pytest.mark.integration

LISTED = "+14155550123"  # on the tenant's do-not-call list
LATE = "+14155550199"  # San Francisco: America/Los_Angeles


def _carrier(sandbox: Sandbox, workdir: Path) -> SippAgent:
    return SippAgent("agent-answer.xml", sip_port=sandbox.trunk_port,
                     media_port=free_media_port(), keys={"ring_ms": "200"}, workdir=workdir,
                     lifetime=60)


async def test_do_not_call_and_calling_hours_stop_dials_before_the_carrier(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}}) as center:
        directory = Directory(center.db)
        tenant = await directory.ensure_tenant("default")
        sip_port, media_port = desk_phone_ports(330)
        user = await directory.add_user("default", "dora", "agent")
        admin = await directory.add_user("default", "ada", "admin")
        agent = await AcdDirectory(center.db).save_agent(
            user.id, queues={"sales": 0}, contact=f"sip:dora@127.0.0.1:{sip_port}")
        await center.app.acd.save_agent(agent)
        carrier = await asyncio.to_thread(_carrier, private_sandbox, tmp_path)
        try:
            async with web_client(center) as client:
                boss = await session_headers(client, admin.id, tenant.id)
                dora = await session_headers(client, user.id, tenant.id)
                added = await client.post("/api/dnc", headers=boss,
                                          json={"numbers": [LISTED], "reason": "asked us"})
                assert added.status == 201, await added.text()

                # 1. The desk phone dials the listed number itself: 403, nothing at the carrier.
                phone = await run_sipp_async(
                    "agent-dials-refused.xml", private_sandbox.sip_target, service=LISTED,
                    caller=agent.endpoint, local_port=sip_port, media_port=media_port,
                    extra_args=["-au", agent.endpoint, "-ap", agent.sip_password],
                    timeout=15, workdir=tmp_path)
                assert phone.ok, phone.describe()

                # 2. Calling hours that leave out today in San Francisco: click-to-call there
                # is refused, and the agent reads why.
                today = datetime.now(ZoneInfo("America/Los_Angeles")).weekday()
                hours = {"start": "00:00", "end": "23:59",
                         "days": [day for i, day in enumerate(DAYS) if i != today]}
                put = await client.put("/api/compliance/settings", headers=boss,
                                       json={"hours": hours})
                assert put.status == 200, await put.text()
                dial = await client.post("/api/calls/dial", headers=dora, json={"number": LATE})
                assert dial.status == 403
                refused = await dial.json()
                assert "in America/Los_Angeles" in refused["message"]
                assert refused["fields"] == {"number": refused["message"]}

                # 3. A task cannot be finished without its outcome.
                made = await client.post("/api/tasks", headers=dora, json={"number": LATE})
                task_id = (await made.json())["task"]["id"]
                done = await client.post(f"/api/tasks/{task_id}/done", headers=dora, json={})
                assert done.status == 400
                assert (await done.json())["fields"] == {"outcome": "is required"}
                # ... and its call is refused too (calling hours), with the reason.
                call = await client.post(f"/api/tasks/{task_id}/call", headers=dora, json={})
                assert call.status == 403 and (await call.json())["reason"] == "calling-hours"

                await center.idle()
                await center.app.db.writes.settle()
                log = await (await client.get("/api/compliance/refusals", headers=boss)).json()
        finally:
            far = await asyncio.to_thread(carrier.stop)
        assert far.created == 0, far.describe()  # no INVITE reached the carrier
        lines = await center.journal(REFUSED)
        assert [(line.data["number"], line.data["reason"], line.data["rule"])
                for line in lines] == [
            (LISTED, "do-not-call", "compliance"), (LATE, "calling-hours", "compliance"),
            (LATE, "calling-hours", "compliance")]
        assert all(line.agent_user_id == user.id for line in lines)
        assert lines[0].call_id is not None  # the desk phone's call, refused unanswered
        assert [(r["number"], r["reason"], r["by"]) for r in log["refusals"]] == [
            (LATE, "calling-hours", "dora"), (LATE, "calling-hours", "dora"),
            (LISTED, "do-not-call", "dora")]
        assert not await center.journal("transfer.dial")
