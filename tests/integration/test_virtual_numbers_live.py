"""Masked two-party calls through a virtual number, on the sandbox (issue 15 part 7): a rider
and a driver call each other through the tenant's virtual number, each phone (a sipp party)
seeing only the virtual number (From and P-Asserted-Identity of what it receives, and the
other's number nowhere); a mapping past its expiry is refused with an announcement, and so is
one revoked by hand (`DELETE /api/masked-calls/{id}`); every step is on the journal. A customer
who was shown the number and calls it back reaches the queue behind it, then (having talked
with an agent) that agent first; the tenant masks numbers for agents, so the agent's phone is
rung with the customer's number masked and the virtual number (its INVITE's From), and never
receives the whole number."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest
from callcenter import CallCenter, call_center, session_headers, web_client
from polling import eventually
from sandbox import Sandbox, run_sipp_async
from sqlalchemy import select
from test_caller_id_live import Carrier, presented

from pbx_stasis.crm.phones import mask_number
from pbx_stasis.masking.core import MaskRules
from pbx_stasis.masking.service import Masking
from pbx_stasis.store import Directory, utc_now
from pbx_stasis.store.tables import Call, Role
from pbx_stasis.virtualnumbers.service import PoolNumber, VirtualNumbers

pytestmark = pytest.mark.integration

VIRTUAL = "+14155550160"
RIDER, DRIVER = "+14155552001", "+14155552002"  # party A and party B
LATE_RIDER, LATE_DRIVER = "+14155552011", "+14155552012"  # a mapping that has expired
GONE_RIDER, GONE_DRIVER = "+14155552031", "+14155552032"  # a mapping revoked by hand
CUSTOMER = "+14155552021"  # no mapping: calls back the number it was shown


async def ended(center: CallCenter, call_id: str) -> bool:
    await center.app.db.writes.settle()
    async with center.db.session() as session:
        call = await session.get(Call, call_id)
    return call is not None and call.ended_at is not None


def received(log: Path) -> str:
    """Every SIP message a sipp party received (its -message_file), one after another."""
    text = log.read_text(errors="replace") if log.exists() else ""
    blocks = re.split(r"\n-{20,}[^\n]*\n", text)
    return "\n".join(block for block in blocks if "message received" in block)


async def test_a_masked_call_shows_only_the_virtual_number_and_an_expired_mapping_is_refused(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    async with call_center(private_sandbox, tmp_path, {"sales": {"wrapup": 0}}) as center:
        tenant = await Directory(center.db).ensure_tenant("default")
        manager = await Directory(center.db).add_user("default", "dispatch", "manager")
        store = VirtualNumbers(center.db)
        assert await store.set_pool(tenant.id, [PoolNumber(VIRTUAL, "Rides", "sales")]) == []
        await Masking(center.db).save(tenant.id, MaskRules(frozenset({Role.AGENT})), "test")
        desk_log = tmp_path / "alice-phone.log"
        alice = await center.add_agent(
            "alice", 415, queues={"sales": 0}, scenario="agent-answer-hangs-up.xml",
            keys={"talk_ms": "3000"}, phone_args=["-trace_msg", "-message_file", str(desk_log)])
        await eventually(lambda: center.app.masked_agents.masks(alice.user_id), until=bool,
                         within=10, what="numbers masked for alice's phone")
        # An expired mapping on the same number: made a second long, then let expire.
        late = await store.create_mapping(tenant.id, LATE_RIDER, LATE_DRIVER,
                                          ttl=timedelta(seconds=1), virtual=None,
                                          reference="ride 41", by="test")
        carrier = await asyncio.to_thread(Carrier, private_sandbox, tmp_path)
        try:
            async with web_client(center) as client:
                headers = await session_headers(client, manager.id, tenant.id)
                response = await client.post("/api/masked-calls", headers=headers, json={
                    "party_a": RIDER, "party_b": DRIVER, "ttl_seconds": 600,
                    "reference": "ride 42"})
                assert response.status == 201, await response.text()
                mapping = (await response.json())["mapping"]
                assert (mapping["virtual"], mapping["live"]) == (VIRTUAL, True)
                response = await client.post("/api/masked-calls", headers=headers, json={
                    "party_a": GONE_RIDER, "party_b": GONE_DRIVER, "reference": "ride 43"})
                assert response.status == 201, await response.text()
                gone = (await response.json())["mapping"]
                response = await client.delete(f"/api/masked-calls/{gone['id']}",
                                               headers=headers)
                assert response.status == 200, await response.text()
            await eventually(lambda: center.app.masked.tenant_of(VIRTUAL),
                             until=lambda owner: owner == tenant.id, within=10,
                             what="the virtual number known to the Stasis side")
            logs = {}
            for caller in (RIDER, DRIVER):  # A calls B, then B calls A back
                logs[caller] = tmp_path / f"party-{caller[1:]}.log"
                result = await run_sipp_async(
                    "caller-hangs-up.xml", private_sandbox.sip_target, service=VIRTUAL,
                    caller=caller, keys={"talk_ms": "1500"}, timeout=25, workdir=tmp_path,
                    extra_args=["-trace_msg", "-message_file", str(logs[caller])])
                assert result.ok, result.describe()
                await center.idle()
            for _ in range(2):  # the customer calls the number back, twice
                back = await run_sipp_async(
                    "caller-hangs-up.xml", private_sandbox.sip_target, service=VIRTUAL,
                    caller=CUSTOMER, keys={"talk_ms": "1000"}, timeout=25, workdir=tmp_path)
                assert back.ok, back.describe()
                await center.idle()
            # Alice calls the customer back by contact: her phone rings first, then the
            # customer is dialled presenting the contact's (sticky) virtual number.
            async with web_client(center) as client:
                headers = await session_headers(client, alice.user_id, tenant.id)
                response = await client.post("/api/contacts", headers=headers, json={
                    "name": "Rita Rider", "phones": [CUSTOMER]})
                assert response.status == 201, await response.text()
                contact = (await response.json())["contact"]["id"]
                response = await client.post("/api/calls/dial-by", headers=headers,
                                             json={"contact_id": contact})
                assert response.status == 201, await response.text()
                dialled = (await response.json())["call_id"]
            await eventually(lambda: ended(center, dialled), until=bool, within=20,
                             what="alice's call to the customer over")
            await center.idle()
            await eventually(lambda: utc_now() > late.expires_at, until=bool, within=5,
                             what="the late mapping's expiry")
            for caller in (LATE_DRIVER, GONE_RIDER):  # expired, then revoked
                refused = await run_sipp_async(
                    "caller-waits-bye.xml", private_sandbox.sip_target, service=VIRTUAL,
                    caller=caller, timeout=20, workdir=tmp_path)
                assert refused.ok, refused.describe()
                await center.idle()
        finally:
            far = await asyncio.to_thread(carrier.sipp.stop)
        # The far side of each call: rung at the other party's number, shown the virtual one.
        assert far.successful == 3, far.describe()
        invites = carrier.invites()
        assert [invite["request"].split()[1].split("@")[0] for invite in invites] == [
            f"sip:{DRIVER}", f"sip:{RIDER}", f"sip:{CUSTOMER}"]
        assert [presented(invite) for invite in invites] == [
            ((VIRTUAL, VIRTUAL), (VIRTUAL, VIRTUAL))] * 3
        assert RIDER not in str(invites[0]) and DRIVER not in str(invites[1])
        # The calling side never received the other party's number either.
        assert received(logs[RIDER]) and DRIVER not in received(logs[RIDER])
        assert received(logs[DRIVER]) and RIDER not in received(logs[DRIVER])
        # The journal: the mappings, each call connected or refused, and how it ended.
        made = [row.data for row in await center.journal("masked.mapping")]
        assert [(d["party_a"], d["party_b"], d["reference"]) for d in made] == [
            (LATE_RIDER, LATE_DRIVER, "ride 41"), (RIDER, DRIVER, "ride 42"),
            (GONE_RIDER, GONE_DRIVER, "ride 43")]
        [revoked] = [row.data for row in await center.journal("masked.revoked")]
        assert (revoked["mapping"], revoked["by"]) == (gone["id"], "dispatch")
        connects = await center.journal("masked.connect")
        assert [row.data["mapping"] for row in connects] == [mapping["id"]] * 2
        ends = [row.data for row in await center.journal("masked.end")]
        assert [(d["talked"], d["reason"]) for d in ends] == [(True, "caller_hangup")] * 2
        refusals = [row.data for row in await center.journal("masked.refused")]
        assert [(d["reason"], d["mapping"]) for d in refusals] == [
            ("expired", late.id), ("revoked", gone["id"])]
        # The customer's return calls: the queue, then their last agent first; both answered.
        returns = [row.data["steps"] for row in await center.journal("virtual.return_call")]
        assert returns == [[{"queue": "sales"}], [{"agent": "alice"}, {"queue": "sales"}]]
        async with center.db.session() as session:
            agents = list(await session.scalars(select(Call.agent_user_id).where(
                Call.from_number == CUSTOMER).order_by(Call.started_at)))
        assert agents == [alice.user_id] * 2
        # Alice's phone: rung with the customer masked and the virtual number (the one they
        # dialled; for her own call, the one presented to them), never the whole number (nor
        # after the answer: no update carries it either).
        phone = received(desk_log)
        froms = [line for block in phone.split("message received")
                 if re.search(r"^INVITE sip:", block, re.MULTILINE)
                 for line in re.findall(r"^From:(.*)$", block, re.MULTILINE)]
        assert len(froms) >= 3, phone  # the three calls (and any re-INVITE)
        assert all(f'"{mask_number(CUSTOMER)}"' in line and f"<sip:{VIRTUAL}@" in line
                   for line in froms), froms
        assert CUSTOMER not in phone and CUSTOMER[1:] not in phone, phone
        dials = [row.data for row in await center.journal("transfer.dial")]
        assert [(d["number"], d["caller_id"], d["caller_id_from"]) for d in dials[:2]] == [
            (DRIVER, VIRTUAL, "virtual"), (RIDER, VIRTUAL, "virtual")]
        assert [(d["number"], d["caller_id"]) for d in dials[2:]] == [(CUSTOMER, VIRTUAL)]
