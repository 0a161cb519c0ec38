"""Queued callbacks on a real Asterisk: a waiting caller presses the queue's callback key and
hangs up; a caller who arrived later is not served first; the agent (a sipp desk phone) is
reserved for the callback, then the customer (a sipp UAS on the trunk port) rings, answers and
talks with them (recorded by the queue's policy). Pending callbacks resume after a restart; the
IVR's callback node's request is judged by the dialling policy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from callcenter import CallCenter, call_center, enqueue_into
from polling import eventually
from sandbox import Sandbox, SippAgent, caller_dtmf_scenario, free_media_port, run_sipp_async

from pbx_stasis.callbacks.store import CallbackStore
from pbx_stasis.callbacks.tables import CallbackSource, CallbackStatus
from pbx_stasis.calls.handoff import CallbackRefused
from pbx_stasis.calls.inbound import Call, CallScript
from pbx_stasis.store import Directory

pytestmark = pytest.mark.integration

CUSTOMER = "+14155550123"  # the first caller, who asks to be called back
LATER = "+14155550177"  # arrives after them, and waits


async def test_a_queued_callback_keeps_its_place_and_rings_the_customer_after_the_agent(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    queues = {"sales": {"callback_key": "1", "callback_retry_delay": 0}}
    async with call_center(private_sandbox, tmp_path, queues,
                           script=enqueue_into("sales")) as center:
        target = private_sandbox.sip_target
        # What the agent's page and the wallboard are told (the feed's events).
        feed = center.app.bus.subscribe(["call:incoming", "queue:stats"])
        requested = center.app.bus.subscribe(["callback:requested"])  # the webhooks' event
        # The queue records every talk: the callback's too.
        recordings = await center.record()
        presses_one = caller_dtmf_scenario("1", tmp_path / "scenarios", first_delay_ms=1500)
        first = asyncio.create_task(run_sipp_async(
            presses_one, target, caller=CUSTOMER, timeout=30, workdir=tmp_path))
        [asked] = await center.wait_for("CALLBACKREQ")
        said = (await asyncio.wait_for(requested.get(), 5)).payload
        assert (said.source, said.origin_call_id, said.number, said.queue) == (
            "queue", asked.call_id, CUSTOMER, "sales")
        requested.close()
        later = asyncio.create_task(run_sipp_async(
            "caller-waits-bye.xml", target, caller=LATER, timeout=40, workdir=tmp_path))
        await center.wait_for("ENTERQUEUE", 2)
        customer = await asyncio.to_thread(
            SippAgent, "agent-answer.xml", sip_port=private_sandbox.trunk_port,
            media_port=free_media_port(), keys={"ring_ms": "300"}, workdir=tmp_path,
            lifetime=60)
        try:
            # Only now an agent: both callers wait, the callback in the first caller's place.
            alice = await center.add_agent("alice", 410, scenario="agent-answer-hangs-up.xml",
                                           keys={"talk_ms": "4000"})
            await center.wait_for("CONNECT", within=30)  # the later caller, after the callback
            done_first, done_later = await asyncio.gather(first, later)
            await center.idle()
        finally:
            far = await asyncio.to_thread(customer.stop)
        assert done_first.ok, done_first.describe()  # thanked, then hung up by the flow
        assert done_later.ok, done_later.describe()
        assert far.created == 1 and far.successful == 1, far.describe()
        callback_id = str(asked.data["callback"])
        assert asked.data["position"] == 1 and asked.data["number"] == CUSTOMER
        rows = await center.journal("ENTERQUEUE", "CALLBACKREQ", "OFFER", "CALLBACKDIAL",
                                    "CALLBACKCONNECT", "CONNECT", "COMPLETEAGENT",
                                    "COMPLETECALLER", "ABANDON")
        story = [(row.event, row.call_id) for row in rows if row.event != "ENTERQUEUE"]
        later_call = [row.call_id for row in rows if row.event == "ENTERQUEUE"][1]
        # Reserved first (the offer, the agent's answer), then the customer rang and answered;
        # the later caller was offered only once the callback's talk was over.
        assert story[:5] == [
            ("CALLBACKREQ", asked.call_id), ("OFFER", callback_id),
            ("CALLBACKDIAL", callback_id), ("CALLBACKCONNECT", callback_id),
            ("COMPLETEAGENT", callback_id),
        ]
        assert ("OFFER", later_call) in story[5:] and ("CONNECT", later_call) in story[5:]
        assert not [row for row in rows if row.event == "ABANDON"]  # a callback is no abandon
        events = []
        while (event := feed.get_nowait()) is not None:
            events.append(event.payload)
        # The wallboard showed the callback as waiting work; the agent saw whom they would call.
        assert any(getattr(e, "callbacks_waiting", 0) == 1 for e in events)
        [ringing] = [e for e in events if getattr(e, "call_id", None) == callback_id]
        assert (ringing.callback, ringing.to_number, ringing.agent_user_id) == (
            CUSTOMER, CUSTOMER, alice.user_id)
        tenant = await Directory(center.db).ensure_tenant("default")
        record = await CallbackStore(center.db).get(tenant.id, callback_id)
        assert record is not None
        assert (record.status, record.attempts, record.number, record.source) == (
            CallbackStatus.DONE, 1, CUSTOMER, CallbackSource.QUEUE)
        await center.app.recorder.drain()
        [kept] = await recordings.for_call(callback_id)
        assert (kept.queue, kept.agent_user_id) == ("sales", alice.user_id)


async def test_pending_callbacks_resume_after_a_restart(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """The table says what the ACD held (a callback waiting since a while, one in its retry
    delay) and one that is due now: a start puts them all in the queue, in arrival order."""
    url = f"sqlite+aiosqlite:///{tmp_path}/pbx.db"
    queues: dict[str, dict[str, object]] = {"sales": {}}
    async with call_center(private_sandbox, tmp_path, queues) as center:
        tenant = await Directory(center.db).ensure_tenant("default")
        store = CallbackStore(center.db)
        now = datetime.now(UTC)
        waiting = await store.create(
            tenant_id=tenant.id, queue="sales", number=CUSTOMER, contact="", due_at=now
            - timedelta(minutes=5), source=CallbackSource.QUEUE, status=CallbackStatus.QUEUED)
        resting = await store.create(
            tenant_id=tenant.id, queue="sales", number=LATER, contact="Ann",
            due_at=now - timedelta(minutes=3), source=CallbackSource.API,
            status=CallbackStatus.DIALLING)
    async with call_center(private_sandbox, tmp_path, queues, database_url=url) as center:
        due = await CallbackStore(center.db).create(
            tenant_id=tenant.id, queue="sales", number=CUSTOMER, contact="",
            due_at=datetime.now(UTC), source=CallbackSource.API)
        rows = await center.wait_for("CALLBACKQUEUED", 3)
        key = f"{tenant.id}:sales"
        assert center.app.acd.core.waiting(key) == [waiting.id, resting.id, due.id]
        adopted = {row.call_id: row.data["adopted"] for row in rows}
        assert adopted == {waiting.id: True, resting.id: True, due.id: False}

        async def status() -> str | None:
            record = await CallbackStore(center.db).get(tenant.id, due.id)
            return None if record is None else record.status

        await eventually(status, until=lambda s: s == CallbackStatus.QUEUED, within=5)


async def test_a_flow_asks_a_callback_for_the_callers_number_and_it_joins_the_queue(
    private_sandbox: Sandbox, tmp_path: Path
) -> None:
    """What the IVR's callback node asks (CallbackLine.ask): the caller's number judged by the
    policy (a premium-rate caller is refused, journaled), then due now: in the queue at once."""
    outcomes: list[str] = []

    def script(center: CallCenter) -> CallScript:
        async def ask(call: Call) -> None:
            await call.answer()
            try:
                outcomes.append(await center.app.callbacks.ask(call, "sales", 0.0))
            except CallbackRefused as refused:
                outcomes.append(refused.reason)

        return ask

    async with call_center(private_sandbox, tmp_path, {"sales": {}}, script=script) as center:
        requested = center.app.bus.subscribe(["callback:requested"])
        for caller in (CUSTOMER, "+19005550123"):
            done = await run_sipp_async("caller-waits-bye.xml", private_sandbox.sip_target,
                                        caller=caller, timeout=20, workdir=tmp_path)
            assert done.ok, done.describe()
        [queued] = await center.wait_for("CALLBACKQUEUED")
        callback_id = outcomes[0]
        assert outcomes[1:] == ["not_allowed"]
        assert queued.call_id == callback_id and queued.data["number"] == CUSTOMER
        [refused] = await center.journal("DIAL_REFUSED")
        assert refused.data["number"] == "+19005550123"
        tenant = await Directory(center.db).ensure_tenant("default")
        record = await CallbackStore(center.db).get(tenant.id, callback_id)
        assert record is not None and record.source == CallbackSource.IVR
        assert center.app.acd.core.waiting(f"{tenant.id}:sales") == [callback_id]
        said = requested.get_nowait()  # once: the refused caller asked none
        assert said is not None and requested.get_nowait() is None
        assert (said.payload.callback_id, said.payload.source) == (callback_id, "ivr")
