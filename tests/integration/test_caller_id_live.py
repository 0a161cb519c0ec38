"""The caller ID outside calls present, as the carrier receives it (a sipp UAS on the trunk port
logging every SIP message): From and P-Asserted-Identity carry the number chosen for the call,
the agent's queue's, or the trunk's default, and a transferred caller shows the queue's number
or their own; never the number being called (issue 13: the carrier got
`From: "+15559876543"` on a call to +15559876543).
"""

from __future__ import annotations

import asyncio
import re
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

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.acd.settings import queue_settings
from pbx_stasis.config import TrunkSettings
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import CallerIds, OutboundNumber
from pbx_stasis.store import Directory
from pbx_stasis.store.tables import Call

pytestmark = pytest.mark.integration

CALLED = "+14155550199"  # the customer the agent calls
SALES = "+14155550100"  # the tenant's numbers
SUPPORT = "+14155550111"
TRUNK = "+14155550177"  # the trunk's default (config trunk.caller_id)
NUMBERS = CallerIds((OutboundNumber(SALES, "Sales", default=True),
                     OutboundNumber(SUPPORT, "Support")))


class Carrier:
    """A sipp UAS on the trunk's port that answers and logs every message it gets."""

    def __init__(self, sandbox: Sandbox, workdir: Path) -> None:
        self.log = workdir / f"carrier-{free_media_port()}.log"
        self.sipp = SippAgent("agent-answer.xml", sip_port=sandbox.trunk_port,
                              media_port=free_media_port(), keys={"ring_ms": "200"},
                              workdir=workdir, lifetime=90,
                              extra_args=["-trace_msg", "-message_file", str(self.log)])

    def invites(self) -> list[dict[str, str]]:
        """The headers of each INVITE received, in order (lower-case names)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        found = []
        for block in re.split(r"\n-{20,}[^\n]*\n", text):
            message = block.split("\n\n", 1)[-1] if "bytes :" in block else block
            lines = message.strip().splitlines()
            if not lines or not lines[0].startswith("INVITE sip:"):
                continue
            headers = {"request": lines[0]}
            for line in lines[1:]:
                if not line.strip():
                    break
                name, _, value = line.partition(":")
                headers.setdefault(name.strip().lower(), value.strip())
            found.append(headers)
        return found


def identity(header: str) -> tuple[str, str]:
    """(display name, user) of a From or P-Asserted-Identity value."""
    match = re.match(r'\s*(?:"([^"]*)"\s*)?<sips?:([^@;>]+)', header)
    assert match, f"unreadable identity {header!r}"
    return match.group(1) or "", match.group(2)


def presented(invite: dict[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    assert "p-asserted-identity" in invite, f"no P-Asserted-Identity in {invite}"
    return identity(invite["from"]), identity(invite["p-asserted-identity"])


async def _ended(center: CallCenter, call_id: str, within: float = 20.0) -> Call:
    async def record() -> Call | None:
        await center.app.db.writes.settle()
        async with center.db.session() as session:
            return await session.get(Call, call_id)

    call = await eventually(record, until=lambda call: call is not None and call.ended_at,
                            within=within, every=0.1)
    assert call is not None
    return call


async def _set_queue_caller_id(center: CallCenter, tenant_id: int, caller_id: str | None
                               ) -> None:
    [config] = [c for c in await center.app.acd.directory.queues(tenant_id)
                if c[1].name == "sales"]
    await center.app.acd.save_queue(tenant_id, "sales",
                                    {**queue_settings(config[1]), "caller_id": caller_id})


async def test_click_to_call_presents_the_chosen_the_queues_or_the_trunks_number(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           trunk=TrunkSettings(caller_id=TRUNK)) as center:
        tenant = await Directory(center.db).ensure_tenant("default")
        store = CallerIdStore(center.db)
        await store.set_caller_ids(tenant.id, NUMBERS, by="test")
        await _set_queue_caller_id(center, tenant.id, SUPPORT)
        agent = await center.add_agent("dialer", 340, scenario="agent-answer-hangs-up.xml",
                                       keys={"talk_ms": "1000"})
        carrier = await asyncio.to_thread(Carrier, private_sandbox, tmp_path)
        calls: list[Call] = []
        try:
            async with web_client(center) as client:
                headers = await session_headers(client, agent.user_id, tenant.id)

                async def dial(**body: str) -> None:
                    response = await client.post("/api/calls/dial", headers=headers,
                                                 json={"number": CALLED, **body})
                    assert response.status == 201, await response.text()
                    calls.append(await _ended(center, (await response.json())["call_id"]))
                    await center.idle()

                # A number that is not the tenant's is refused, naming the field.
                response = await client.post("/api/calls/dial", headers=headers, json={
                    "number": CALLED, "caller_id": "+14155550122"})
                assert response.status == 400, await response.text()
                assert set((await response.json())["fields"]) == {"caller_id"}
                await dial(caller_id="+1 415 555 0100")  # chosen on the dial pad
                await dial()  # the agent's queue (sales) presents Support
                await store.set_caller_ids(tenant.id, CallerIds(), by="test")
                await dial()  # no number of the tenant's left: the trunk's
        finally:
            far = await asyncio.to_thread(carrier.sipp.stop)
        assert far.successful == 3, far.describe()
        invites = carrier.invites()
        assert [presented(invite) for invite in invites] == [
            ((SALES, SALES), (SALES, SALES)),
            ((SUPPORT, SUPPORT), (SUPPORT, SUPPORT)),
            ((TRUNK, TRUNK), (TRUNK, TRUNK)),
        ]
        assert all(CALLED in invite["request"] for invite in invites)
        assert not any(CALLED in invite["from"] or CALLED in invite["p-asserted-identity"]
                       for invite in invites)
        # The outbound call records say who called whom.
        assert [(c.from_number, c.to_number) for c in calls] == [
            (SALES, CALLED), (SUPPORT, CALLED), (TRUNK, CALLED)]
        dials = [r.data for r in await center.journal("transfer.dial")]
        assert [(d["caller_id"], d["caller_id_from"]) for d in dials] == [
            (SALES, "chosen"), (SUPPORT, "queue"), (TRUNK, "trunk")]


async def test_a_caller_transferred_out_shows_the_queues_number_else_their_own(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           script=enqueue_into("sales")) as center:
        tenant = await Directory(center.db).ensure_tenant("default")
        await CallerIdStore(center.db).set_caller_ids(tenant.id, NUMBERS, by="test")
        await _set_queue_caller_id(center, tenant.id, SUPPORT)
        agent = await center.add_agent("transferrer", 350)
        carrier = await asyncio.to_thread(Carrier, private_sandbox, tmp_path)
        try:
            async with web_client(center) as client:
                headers = await session_headers(client, agent.user_id, tenant.id)
                for caller_number in ("+14155550143", "+14155550144"):
                    caller = asyncio.create_task(run_sipp_async(
                        "caller-hangs-up.xml", private_sandbox.sip_target, caller=caller_number,
                        keys={"talk_ms": "4000"}, timeout=30, workdir=tmp_path))
                    call_id = await connected_call(center)
                    response = await client.post(
                        f"/api/calls/{call_id}/transfer", headers=headers,
                        json={"kind": "number", "target": CALLED})
                    assert response.status == 204, await response.text()
                    result = await caller
                    assert result.ok, result.describe()
                    await center.idle()
                    # The second caller passes their own number through.
                    await _set_queue_caller_id(center, tenant.id, None)
                # Attended: the agent consults the number first, with the queue's caller ID.
                await _set_queue_caller_id(center, tenant.id, SALES)
                caller = asyncio.create_task(run_sipp_async(
                    "caller-hangs-up.xml", private_sandbox.sip_target, caller="+14155550145",
                    keys={"talk_ms": "5000"}, timeout=30, workdir=tmp_path))
                call_id = await connected_call(center)
                response = await client.post(
                    f"/api/calls/{call_id}/transfer", headers=headers,
                    json={"kind": "number", "target": CALLED, "attended": True})
                assert response.status == 204, await response.text()
                consult = center.app.acd.live(call_id).consult
                assert consult is not None
                async with asyncio.timeout(10):
                    await consult.answered.wait()
                response = await client.post(f"/api/calls/{call_id}/transfer/complete",
                                             headers=headers)
                assert response.status == 204, await response.text()
                result = await caller
                assert result.ok, result.describe()
                await center.idle()
        finally:
            far = await asyncio.to_thread(carrier.sipp.stop)
        assert far.successful == 3, far.describe()
        assert [presented(invite) for invite in carrier.invites()] == [
            ((SUPPORT, SUPPORT), (SUPPORT, SUPPORT)),
            (("+14155550144", "+14155550144"), ("+14155550144", "+14155550144")),
            ((SALES, SALES), (SALES, SALES)),
        ]


async def test_a_desk_phone_dialling_out_presents_the_tenants_default_not_its_extension(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {}},
                           trunk=TrunkSettings(caller_id=TRUNK)) as center:
        tenant = await Directory(center.db).ensure_tenant("default")
        await CallerIdStore(center.db).set_caller_ids(tenant.id, NUMBERS, by="test")
        sip_port, media_port = desk_phone_ports(360)
        user = await Directory(center.db).add_user("default", "desmond", "agent")
        agent = await AcdDirectory(center.db).save_agent(
            user.id, contact=f"sip:desmond@127.0.0.1:{sip_port}")
        await center.app.acd.save_agent(agent)
        carrier = await asyncio.to_thread(Carrier, private_sandbox, tmp_path)
        try:
            # The phone itself dials (dialplan from-agents), with its own credentials.
            phone = await run_sipp_async(
                "agent-dials.xml", private_sandbox.sip_target, service=CALLED,
                caller=agent.endpoint, local_port=sip_port, media_port=media_port,
                keys={"talk_ms": "1500"},
                extra_args=["-au", agent.endpoint, "-ap", agent.sip_password], timeout=20,
                workdir=tmp_path)
            await center.idle()
        finally:
            far = await asyncio.to_thread(carrier.sipp.stop)
        assert phone.ok, phone.describe()
        assert far.successful == 1, far.describe()
        [invite] = carrier.invites()
        assert presented(invite) == ((SALES, SALES), (SALES, SALES))
        async with center.db.session() as session:
            [call] = list(await session.scalars(select(Call)))
        assert (call.from_number, call.to_number) == (SALES, CALLED)
