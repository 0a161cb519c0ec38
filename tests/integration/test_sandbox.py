"""The sandbox Asterisk works as the project expects: ARI, the trunk, Stasis entry, sipp roles."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sandbox import Sandbox, caller_dtmf_scenario, desk_phones, run_sipp_async

pytestmark = pytest.mark.integration

Event = dict[str, Any]

# An app name of our own where the dialplan allows it (originated calls), so a pbx app running
# against the shared instance is not displaced; trunk calls can only enter `pbx`
# (dialplan/extensions.conf), so those tests use the private_sandbox instance.
TEST_APP = "sandbox-test"
EVENT_WAIT = 10.0


def _auth(sandbox: Sandbox) -> dict[str, str]:
    token = base64.b64encode(f"{sandbox.user}:{sandbox.password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@asynccontextmanager
async def ari_session(
    sandbox: Sandbox, app: str
) -> AsyncIterator[tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]]:
    """A REST session and the events WebSocket of `app`, both with basic auth."""
    async with aiohttp.ClientSession(headers=_auth(sandbox)) as http:
        async with http.ws_connect(f"{sandbox.events_url}?app={app}") as events:
            yield http, events


async def next_event(
    events: aiohttp.ClientWebSocketResponse,
    wanted: Callable[[Event], bool],
) -> Event:
    """The next event satisfying `wanted` (others are skipped), within EVENT_WAIT seconds."""
    async with asyncio.timeout(EVENT_WAIT):
        while True:
            message = await events.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"events socket closed: {message.type}")
            event: Event = json.loads(message.data)
            if wanted(event):
                return event


def _number() -> str:
    return "07" + "".join(random.choices("0123456789", k=8))


async def test_ari_answers_with_asterisk_22(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(headers=_auth(sandbox)) as http:
        async with http.get(f"{sandbox.ari_url}/ari/asterisk/info") as response:
            assert response.status == 200
            info = await response.json()
    assert info["system"]["version"].startswith("22."), info["system"]


async def test_trunk_endpoint_is_configured(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(headers=_auth(sandbox)) as http:
        async with http.get(f"{sandbox.ari_url}/ari/endpoints/PJSIP/trunk") as response:
            assert response.status == 200
            endpoint = await response.json()
    assert endpoint["technology"] == "PJSIP"
    assert endpoint["resource"] == "trunk"


async def test_trunk_call_enters_stasis_pbx_as_inbound(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox = private_sandbox
    caller, dialled = _number(), "+33100200300"
    async with ari_session(sandbox, "pbx") as (http, events):
        call = asyncio.create_task(
            run_sipp_async(
                "caller-waits-bye.xml",
                sandbox.sip_target,
                service=dialled,
                caller=caller,
                timeout=20,
                workdir=tmp_path,
            )
        )
        start = await next_event(
            events,
            lambda e: e["type"] == "StasisStart" and e["channel"]["caller"]["number"] == caller,
        )
        channel = start["channel"]
        assert start["args"] == ["inbound"]
        assert channel["name"].startswith("PJSIP/trunk-")
        assert channel["dialplan"]["exten"] == dialled
        assert channel["dialplan"]["context"] == "from-trunk"
        url = f"{sandbox.ari_url}/ari/channels/{channel['id']}"
        async with http.post(f"{url}/answer") as answered:
            assert answered.status == 204
        async with http.delete(url) as hung_up:
            assert hung_up.status == 204
        result = await call
    assert result.ok, result.describe()


async def test_caller_dtmf_arrives_as_ari_events(private_sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox = private_sandbox
    caller = _number()
    scenario = caller_dtmf_scenario("4#", tmp_path, first_delay_ms=300, gap_ms=250)
    async with ari_session(sandbox, "pbx") as (http, events):
        call = asyncio.create_task(
            run_sipp_async(
                scenario, sandbox.sip_target, caller=caller, timeout=20, workdir=tmp_path
            )
        )
        start = await next_event(
            events,
            lambda e: e["type"] == "StasisStart" and e["channel"]["caller"]["number"] == caller,
        )
        channel_id = start["channel"]["id"]
        url = f"{sandbox.ari_url}/ari/channels/{channel_id}"
        async with http.post(f"{url}/answer") as answered:
            assert answered.status == 204
        digits = ""
        while len(digits) < 2:
            dtmf = await next_event(
                events,
                lambda e: e["type"] == "ChannelDtmfReceived" and e["channel"]["id"] == channel_id,
            )
            digits += dtmf["digit"]
        async with http.delete(url):
            pass
        result = await call
    assert digits == "4#"
    assert result.ok, result.describe()


async def test_desk_phone_answers_a_call_originated_over_ari(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # indexes near the top of the range: other tests' desk phones start at 0
    with desk_phones(
        sandbox, 1, prefix="sandbox-test-desk", first_index=990, workdir=tmp_path
    ) as phones:
        endpoint, agent = phones[0]
        async with ari_session(sandbox, TEST_APP) as (http, events):
            async with http.post(
                f"{sandbox.ari_url}/ari/channels",
                params={"endpoint": f"PJSIP/{endpoint}", "app": TEST_APP},
            ) as response:
                assert response.status == 200
                channel_id = (await response.json())["id"]
            # an originated channel enters Stasis once the phone answers
            start = await next_event(
                events,
                lambda e: e["type"] == "StasisStart" and e["channel"]["id"] == channel_id,
            )
            assert start["channel"]["state"] == "Up"
            async with http.delete(f"{sandbox.ari_url}/ari/channels/{channel_id}") as gone:
                assert gone.status == 204
            await next_event(
                events,
                lambda e: e["type"] == "StasisEnd" and e["channel"]["id"] == channel_id,
            )
        result = agent.stop()
    assert result.successful == 1 and result.failed == 0, result.describe()
