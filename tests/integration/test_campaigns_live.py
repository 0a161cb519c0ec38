"""Campaigns on a real Asterisk: the customers are one sipp UAS on the trunk port that answers
as a person (a short "hello"), as an answering machine (a long greeting), busy, or not at all,
by the number dialled (scripts/sipp/customer.xml); the agents are sipp desk phones.

One stack for the file: a private sandbox, the app, the customers. Each test runs a campaign
of its own over its own queue and agents: progressive (one call per free agent; the machine is
detected by AMD and hung up; the busy number is retried), preview (the agent skips a lead,
then calls the next from their phone: the call's outcome, talk and disposition come back to the
attempt as the dialler's calls' do; a busy lead is retried), predictive with too few agents
(the answered customer finds no agent within 2 s: the abandon message plays, the abandon is
counted). A campaign's calls count in no queue's inbound figures (docs/figures.md)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
import pytest_asyncio
from callcenter import CallCenter, call_center, session_headers, web_client
from polling import eventually
from sandbox import Sandbox, SippAgent, customer_scenario, free_media_port

from pbx_stasis.acd.directory import queue_key
from pbx_stasis.campaigns.core import CampaignSettings, MachineAction, Mode, Result
from pbx_stasis.campaigns.service import AttemptView, Campaigns, CampaignView
from pbx_stasis.crm.dispositions import Dispositions
from pbx_stasis.leads.service import LeadLists
from pbx_stasis.leads.tables import Lead
from pbx_stasis.store import Directory
from pbx_stasis.testcall.greetings import MACHINE_LINES, spoken

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PERSON, MACHINE, BUSY, NO_ANSWER = "01", "02", "03", "04"  # the customers' number endings
QUEUES = {"prog": {"wrapup": 0}, "preview": {"wrapup": 0}, "pred": {"wrapup": 0}}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def center(private_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[CallCenter]:
    workdir = tmp_path_factory.mktemp("campaigns")
    scenario = customer_scenario(workdir / "customers", person=spoken("Hello?", tail=5.0),
                                 machine=spoken(MACHINE_LINES[0], tail=2.0))
    customers = SippAgent(scenario, sip_port=private_sandbox.trunk_port,
                          media_port=free_media_port(), keys={"ring_ms": "800"},
                          workdir=workdir, lifetime=120)
    try:
        async with call_center(private_sandbox, workdir, QUEUES) as made:
            yield made
    finally:
        customers.stop()


async def _campaign(center: CallCenter, name: str, numbers: list[str], **settings: object
                    ) -> CampaignView:
    tenant = await Directory(center.db).ensure_tenant("default")
    listed, _ = await LeadLists(center.db).import_csv(
        tenant.id, "phone\n" + "\n".join(numbers) + "\n", by="test", region="US", name=name)
    store = Campaigns(center.db)
    made = await store.create(tenant.id, CampaignSettings.model_validate(
        {"name": name, "list_id": listed.id, **settings}), by="test")
    return made


async def _finished(center: CallCenter, campaign: CampaignView, count: int,
                    within: float = 30.0) -> list[AttemptView]:
    """The campaign's attempts once `count` of them have ended."""

    async def ended() -> list[AttemptView]:
        found = await Campaigns(center.db).attempts(campaign.tenant_id, campaign.id)
        return [a for a in found if a.result is not None]

    return await eventually(ended, until=lambda found: len(found) >= count, within=within,
                            every=0.2, what=f"{count} attempts of {campaign.name}")


def _overlap(attempts: list[AttemptView]) -> int:
    """The most attempts under way at once."""
    edges = sorted([(a.placed_at, 1) for a in attempts] +
                   [(a.ended_at or datetime.max.replace(tzinfo=a.placed_at.tzinfo), -1)
                    for a in attempts], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


async def test_progressive_places_one_call_per_free_agent_detects_the_machine_and_retries_busy(
    center: CallCenter,
) -> None:
    for index, name in enumerate(("pat", "quinn")):
        await center.add_agent(name, 70 + index, queues={"prog": 0},
                               scenario="agent-answer-hangs-up.xml",
                               keys={"ring_ms": "100", "talk_ms": "1500"})
    numbers = [f"+141555502{end}" for end in (PERSON, MACHINE, BUSY, NO_ANSWER)]
    campaign = await _campaign(
        center, "Progressive", numbers, queue="prog", mode=Mode.PROGRESSIVE.value,
        machine_action=MachineAction.HANGUP.value, retry_busy=0, max_attempts=2,
        ring_seconds=5)
    await Campaigns(center.db).command(campaign.tenant_id, campaign.id, "start")
    # person, machine, no answer: one attempt each; busy: twice (retried at once, then done).
    attempts = await _finished(center, campaign, 5, within=40)
    by_number: dict[str, list[str | None]] = {}
    for attempt in attempts:
        by_number.setdefault(attempt.number, []).append(attempt.result)
    assert by_number == {
        numbers[0]: [Result.CONNECTED], numbers[1]: [Result.MACHINE],
        numbers[2]: [Result.BUSY, Result.BUSY], numbers[3]: [Result.NO_ANSWER]}
    amd = {a.number: a.amd for a in attempts}
    assert (amd[numbers[0]], amd[numbers[1]]) == ("HUMAN", "MACHINE")
    assert _overlap(attempts) <= 2  # never more calls than free agents
    [connected] = [a for a in attempts if a.result == Result.CONNECTED]
    assert connected.agent_user_id is not None and connected.call_id
    figures = await Campaigns(center.db).figures(campaign.tenant_id, campaign.id)
    assert (figures.dialled, figures.connected, figures.machines, figures.busy,
            figures.no_answer, figures.abandoned) == (5, 1, 1, 2, 1, 0)
    await Campaigns(center.db).command(campaign.tenant_id, campaign.id, "stop")
    # The connected customer was the queue's for a moment, as outbound work: in no inbound
    # figure of the queue; the agent's outbound figures have it.
    rows = [row for row in await center.journal() if row.call_id == connected.call_id]
    assert {"ENTERQUEUE", "CONNECT"} <= {row.event for row in rows}
    assert all(row.data.get("campaign") == campaign.id for row in rows
               if row.event in ("ENTERQUEUE", "OFFER", "CONNECT", "COMPLETEAGENT",
                                "COMPLETECALLER"))
    [end] = [row for row in rows if row.event in ("COMPLETEAGENT", "COMPLETECALLER")]
    assert end.queue is None and end.data["outbound"] is True
    board = center.app.acd.stats.queue(queue_key(campaign.tenant_id, "prog"), time.time())
    assert (board.offered, board.answered, board.handled, board.figures.unanswered) == (
        0, 0, 0, 0)


async def test_preview_the_agent_skips_a_lead_then_calls_the_next_from_their_phone(
    center: CallCenter,
) -> None:
    agent = await center.add_agent("rae", 72, queues={"preview": 0},
                                   scenario="agent-answer-hangs-up.xml",
                                   keys={"ring_ms": "100", "talk_ms": "3000"})
    numbers = [f"+141555503{PERSON}", f"+141555504{PERSON}", f"+141555506{BUSY}"]
    campaign = await _campaign(center, "Preview", numbers, queue="preview",
                               mode=Mode.PREVIEW.value)
    await Campaigns(center.db).command(campaign.tenant_id, campaign.id, "start")
    async with web_client(center) as client:
        headers = await session_headers(client, agent.user_id, agent.tenant_id)
        base = f"/api/campaigns/{campaign.id}/preview"
        first = await (await client.post(f"{base}/next", headers=headers)).json()
        skipped = await client.post(f"{base}/{first['lead']['attempt_id']}/skip",
                                    json={"reason": "asked not to be called today"},
                                    headers=headers)
        assert skipped.status == 200, await skipped.text()
        second = await (await client.post(f"{base}/next", headers=headers)).json()
        assert second["lead"]["number"] != first["lead"]["number"]
        called = await client.post(f"{base}/{second['lead']['attempt_id']}/call",
                                   headers=headers)
        assert called.status == 201, await called.text()
        call_id = (await called.json())["call_id"]
        connects = await center.wait_for("OUTCONNECT", within=20)  # the lead answered
        assert [row.call_id for row in connects] == [call_id]
        await center.idle(within=20)
        store = Campaigns(center.db)

        async def ended() -> list[AttemptView]:
            return await store.attempts(campaign.tenant_id, campaign.id)

        # The call's outcome on the attempt, as the dialler's calls get theirs.
        attempts = await eventually(ended, until=lambda found: found[1].result != Result.CALLED,
                                    within=10, every=0.1, what="the preview call's outcome")
        assert [(a.number, a.result, a.reason) for a in attempts] == [
            (first["lead"]["number"], Result.SKIPPED, "asked not to be called today"),
            (second["lead"]["number"], Result.CONNECTED, None)]
        connected = attempts[1]
        assert connected.call_id == call_id and connected.agent_user_id == agent.user_id
        assert connected.answered_at is not None and connected.talk_s is not None
        assert 0.5 < connected.talk_s < 5.0
        # The agent's disposition goes on the attempt too (the CRM's outcome hook).
        sale = await Dispositions(center.db).create(campaign.tenant_id, "Sale")
        try:
            saved = await client.put(f"/api/calls/{call_id}/disposition",
                                     json={"disposition": "Sale"}, headers=headers)
            assert saved.status == 200, await saved.text()
        finally:
            await Dispositions(center.db).retire(campaign.tenant_id, sale.id)
        assert (await store.attempt(campaign.tenant_id, campaign.id,
                                    connected.id)).disposition == "Sale"  # type: ignore[union-attr]

        # A busy lead: busy on the attempt, the lead retried after the busy delay.
        third = await (await client.post(f"{base}/next", headers=headers)).json()
        assert third["lead"]["number"] == numbers[2]
        called = await client.post(f"{base}/{third['lead']['attempt_id']}/call",
                                   headers=headers)
        assert called.status == 201, await called.text()
    attempts = await eventually(ended, until=lambda found: found[2].result not in (
        None, Result.CALLED), within=20, every=0.1, what="the busy call's outcome")
    busy = attempts[2]
    assert (busy.result, busy.answered_at, busy.talk_s) == (Result.BUSY, None, None)
    assert busy.reason is not None and "17" in busy.reason
    async with center.db.session() as session:
        lead = await session.get(Lead, busy.lead_id)
        assert lead is not None and (lead.status, lead.last_outcome) == ("open", "busy")
    figures = await store.figures(campaign.tenant_id, campaign.id)
    assert (figures.dialled, figures.answered, figures.connected, figures.busy,
            figures.skipped, figures.called) == (2, 1, 1, 1, 1, 0)
    await center.idle(within=20)


async def test_predictive_with_too_few_agents_plays_the_abandon_message_and_counts_it(
    center: CallCenter,
) -> None:
    agent = await center.add_agent("sol", 73, queues={"pred": 0})
    campaign = await _campaign(center, "Predictive", [f"+141555505{PERSON}"], queue="pred",
                               mode=Mode.PREDICTIVE.value, amd=False,
                               abandon_message="sound:vm-goodbye")
    await Campaigns(center.db).command(campaign.tenant_id, campaign.id, "start")
    dialer = center.app.campaigns
    # Dialled for the one free agent; while the customer's phone rings, the agent goes away.
    await eventually(lambda: dialer.running.get(campaign.id) and
                     dialer.running[campaign.id].ringing, within=10, every=0.05,
                     what="a call placed")
    center.app.acd.pause(agent.agent_id, "break")
    [attempt] = await _finished(center, campaign, 1, within=20)
    assert attempt.result == Result.ABANDONED
    [abandon] = await center.wait_for("CAMPAIGN_ABANDON")
    assert abandon.data["message"] == "sound:vm-goodbye" and abandon.data["played"] == "done"
    figures = await Campaigns(center.db).figures(campaign.tenant_id, campaign.id)
    assert (figures.answered, figures.abandoned, figures.abandon_rate) == (1, 1, 1.0)
    # The campaign's abandon is its own figure, not the queue's: no offer, no timed-out wait.
    board = center.app.acd.stats.queue(queue_key(campaign.tenant_id, "pred"), time.time())
    assert (board.offered, board.abandoned, board.left, board.figures.unanswered) == (
        0, 0, 0, 0)
    assert dialer.running[campaign.id].pacer.rates(dialer.clock()).abandoned == 1
