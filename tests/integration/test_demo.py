"""The front door: `scripts/demo`, as the README tells a new user to run it, on an instance of its
own. It must seed, start, serve the agent's page to a demo login, and take a call from the phone
network through the support IVR's sales line into the sales queue."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from pbxproc import PbxProcess, read_calls
from polling import eventually
from sandbox import Sandbox, run_sipp_async

from pbx_stasis.crm.dispositions import Dispositions
from pbx_stasis.store import Database

REPO = Path(__file__).resolve().parents[2]
SALES_LINE = "+97145550200"  # examples/ivr/support.yaml: greeting, then the sales queue


def _free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def demo(tmp_path: Path) -> Iterator[tuple[PbxProcess, Sandbox, dict[str, str]]]:
    instance = Sandbox.private("demo")
    env = {
        **instance.script_env,
        "PBX_WEB_ENABLED": "true",
        "PBX_WEB_PORT": str(_free_tcp_port()),
        "PBX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
    }
    process = PbxProcess(env, tmp_path / "demo.log", command=[str(REPO / "scripts" / "demo")])
    try:
        yield process, instance, env
    finally:
        process.terminate(20, how=signal.SIGINT)
        instance.discard()


async def _agent_page(base: str, password: str) -> tuple[int, str]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        form_page = await (await client.get(f"{base}/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form_page)
        assert token, form_page
        form = {"tenant": "default", "username": "alice", "password": password,
                "csrf_token": token.group(1), "next": ""}
        login = await client.post(f"{base}/login", data=form, allow_redirects=False)
        assert (login.status, login.headers.get("Location")) == (303, "/agent"), login.status
        page = await client.get(f"{base}/agent")
        return page.status, await page.text()


async def test_the_demo_starts_serves_an_agent_and_queues_a_call(
    demo: tuple[PbxProcess, Sandbox, dict[str, str]],
) -> None:
    process, instance, env = demo
    await asyncio.to_thread(process.wait_for_log, "web pages at http://", 300)
    await asyncio.to_thread(process.wait_for_log, "ARI events connected", 30)
    output = process.log()
    for step in ("==> sandbox Asterisk", "==> database", "Demo logins", "pbx-stasis is starting"):
        assert step in output, output
    assert re.search(r"agent\s+alice\s+password \S+", output), output

    logins = json.loads((REPO / "var" / "demo-logins.json").read_text())
    status, html = await _agent_page(f"http://127.0.0.1:{env['PBX_WEB_PORT']}", logins["alice"])
    assert status == 200 and "Alice Agent" in html, html[:500]

    # Nobody is available (the agents' softphones are not registered): one caller hangs up
    # during the 5.2 s greeting, and leaves in it (never queued: before, the prompt's end made
    # the flow queue a caller who was gone); the next hears it, waits in the sales queue, and
    # hangs up 9 s after being answered.
    for number, talk_ms in (("+971501234560", 2000), ("+971501234567", 9000)):
        result = await run_sipp_async(
            "caller-hangs-up.xml", instance.sip_target, service=SALES_LINE, caller=number,
            keys={"talk_ms": str(talk_ms)}, timeout=30)
        assert result.ok, result.describe()
    calls = await eventually(
        lambda: read_calls(env["PBX_DATABASE_URL"]),
        until=lambda calls: any(e.event == "ABANDON" for _, lines in calls for e in lines),
        within=10, every=0.2)
    # (the demo's seeded history, voicemails and scored calls are calls of their own: "demo-")
    calls = [(record, lines) for record, lines in calls
             if not record.channel_id.startswith("demo-")]
    assert len(calls) == 2, calls
    (gone, left), (record, lines) = calls
    assert gone.to_number == record.to_number == SALES_LINE, record
    assert [e.data["outcome"] for e in left if e.event == "ivr.end"] == ["caller_hung_up"], left
    assert not [e for e in left if e.event in ("ENTERQUEUE", "ABANDON")], left
    events = [e.event for e in lines]
    assert [e for e in ("ENTERQUEUE", "ABANDON") if e in events] == ["ENTERQUEUE", "ABANDON"], (
        events
    )

    # The demo's data has the outcomes an agent picks in wrap-up (a tenant without any once
    # trapped agents in wrap-up: issue 13).
    db = Database.connect(env["PBX_DATABASE_URL"])
    try:
        [tenant_id] = await Dispositions(db).tenants_in_use()
        names = [d.name for d in await Dispositions(db).for_tenant(tenant_id)]
    finally:
        await db.dispose()
    assert {"Resolved", "Call back", "Sale", "Not interested"} <= set(names), names

    # Ctrl-C, as the demo's banner says, stops it cleanly.
    code = await asyncio.to_thread(process.terminate, 20, signal.SIGINT)
    assert code == 0, process.log()[-2000:]
