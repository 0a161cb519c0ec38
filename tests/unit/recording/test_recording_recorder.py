"""The recorder's bookkeeping without Asterisk: which calls it knows, what it refuses and why.

Everything here is decided before any ARI request (the ARI address refuses connections, so a
request would show as `unavailable`); recording itself runs against the sandbox Asterisk in
tests/integration/test_recording_live.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbx_stasis.acd.runner import Talk
from pbx_stasis.ari import AriClient
from pbx_stasis.recording import PolicyMode, RecordingPolicy, RecordingStore
from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.recording.recorder import CallRecorder, RecordingError, RecordingState
from pbx_stasis.store import CallJournal, Database, Directory

CALL = "f" * 32


def talk(tenant_id: int, agent_user_id: int, queue: str = "sales") -> Talk:
    return Talk(CALL, tenant_id, queue, f"q-{CALL}", "caller-chan", f"agent-{agent_user_id}",
                agent_user_id, "+14155550100")


@pytest.fixture
async def recorder(db: Database, tmp_path: Path) -> AsyncIterator[CallRecorder]:
    ari = AriClient("http://127.0.0.1:9/ari", "nobody", "nothing")
    try:
        yield CallRecorder(ari, db, RecordingStore(db, tmp_path / "recordings"))
    finally:
        await ari.close()


async def test_a_queue_without_a_policy_records_nothing_and_refuses_the_agent(
    recorder: CallRecorder, db: Database
) -> None:
    tenant = (await Directory(db).ensure_tenant("t")).id
    recorder.talk_started(talk(tenant, 7))
    await recorder.drain()
    state = await recorder.state(tenant, CALL)
    assert (state.state, state.policy, state.agent_may_start) == (RecordingState.OFF, "none",
                                                                   False)
    for request in (recorder.start, recorder.pause, recorder.resume):
        with pytest.raises(RecordingError) as refused:
            await request(tenant, CALL)
        assert refused.value.code == "conflict"
    for tenant_id, call_id in ((tenant + 1, CALL), (tenant, "0" * 32)):
        with pytest.raises(RecordingError) as unknown:
            await recorder.state(tenant_id, call_id)
        assert unknown.value.code == "not-found"
    recorder.talk_ended(talk(tenant, 7))
    await recorder.drain()
    with pytest.raises(RecordingError):
        await recorder.state(tenant, CALL)
    assert [e.event for e in await CallJournal(db).events_after(0)] == []


async def test_a_second_agent_in_the_same_bridge_keeps_the_calls_recording(
    recorder: CallRecorder, db: Database
) -> None:
    tenant = (await Directory(db).ensure_tenant("t")).id
    await RecordingPolicies(db).set_policy(tenant, "sales", RecordingPolicy(PolicyMode.ON_DEMAND))
    recorder.talk_started(talk(tenant, 7))
    await recorder.drain()
    recorder.talk_started(talk(tenant, 8, queue="support"))  # transferred to another agent
    await recorder.drain()
    assert (await recorder.talk(tenant, CALL)).agent_user_id == 8
    # still the policy the call was connected under: on-demand, so the agent's request goes
    # to Asterisk (which refuses connections here)
    assert (await recorder.state(tenant, CALL)).policy == "on-demand"
    with pytest.raises(RecordingError) as unreachable:
        await recorder.start(tenant, CALL)
    assert unreachable.value.code == "unavailable"
    assert (await recorder.state(tenant, CALL)).state is RecordingState.OFF


async def test_a_policy_read_a_moment_ago_decides_the_next_talk_at_once(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The second call of a queue is decided without a task or a read (the policy is a moment
    old), and the sampling draw is still made once a call."""
    tenant = (await Directory(db).ensure_tenant("t")).id
    await RecordingPolicies(db).set_policy(tenant, "support",
                                           RecordingPolicy(PolicyMode.SAMPLE, 50.0))
    draws = iter([0.9, 0.9, 0.9, 0.9, 0.1])  # above 50%: not sampled; below: sampled
    drawn: list[float] = []

    def draw() -> float:
        drawn.append(next(draws))
        return drawn[-1]

    ari = AriClient("http://127.0.0.1:9/ari", "nobody", "nothing")
    recorder = CallRecorder(ari, db, RecordingStore(db, tmp_path / "recordings"), draw=draw)
    try:
        def one(n: int, queue: str) -> Talk:
            call = f"{n:032x}"
            return Talk(call, tenant, queue, f"q-{call}", f"caller-{n}", f"agent-{n}", 7,
                        "+14155550100")

        first = one(1, "sales")  # no policy: records nothing; read once
        recorder.talk_started(first)
        await recorder.drain()
        recorder.talk_ended(first)
        second = one(2, "sales")
        recorder.talk_started(second)
        assert not recorder._tasks  # decided at once: nothing to start
        assert (await recorder.state(tenant, second.call_id)).policy == "none"
        recorder.talk_ended(second)
        assert not recorder._tasks  # nothing recorded: nothing to stop or file

        for n in (3, 4, 5):  # sampled: the first read, then decided at once, a draw each
            recorder.talk_started(one(n, "support"))
            await recorder.drain()
        assert drawn == [0.9, 0.9, 0.9, 0.9, 0.1]  # once a call, known policy or not
        # only the last was sampled: its start went to Asterisk, which refuses connections here
        assert [r.getMessage() for r in caplog.records if "did not start" in r.getMessage()
                ] == [f"call {one(5, 'support').call_id}: recording did not start"]
    finally:
        await ari.close()
