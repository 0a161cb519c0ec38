"""Property: any sequence of keys, timeouts and answers on the example flow ends a call cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ivr_testing import EXAMPLE, flows

from pbx_stasis.ivr.core import (
    TERMINAL_ACTIONS,
    Action,
    CallbackRefused,
    CallbackTaken,
    CallContext,
    CallerHungUp,
    DtmfReceived,
    Enqueue,
    FlowJournalRow,
    Hangup,
    Interpreter,
    IvrInput,
    LookupFailed,
    LookupResult,
    Outcome,
    Play,
    PlaybackFinished,
    QueueAnswered,
    QueueExited,
    StartTimer,
    TimerExpired,
    Transfer,
    TransferCompleted,
    TransferFailed,
    VoicemailFailed,
    VoicemailRecorded,
    Wait,
)
from pbx_stasis.ivr.model import FlowSet

TEXT = EXAMPLE.read_text(encoding="utf-8")
FLOWSETS = {
    "example": flows(TEXT),
    # The same flows with a tight step limit, so that runaway walks hit it often.
    "tight": flows(TEXT.replace("max_steps: 100", "max_steps: 7")),
}
KEYS = "0123456789*#"
NOISE: list[IvrInput] = [
    DtmfReceived("A"),
    PlaybackFinished(10_000),
    TimerExpired(10_000),
    LookupResult(200, {}),
    QueueExited("stale"),
    TransferCompleted(),
    VoicemailRecorded("stale", 1.0),
]


def _event(interp: Interpreter, choice: int, play: int, timer: int) -> IvrInput:
    """Map one scripted number to an event: noise, a caller hang-up, or an answer to the wait."""
    if choice < len(NOISE):
        return NOISE[choice]
    if choice == len(NOISE):
        return CallerHungUp()
    k = choice - len(NOISE) - 1
    return _progress(interp.waiting, k, play, timer)


def _progress(wait: Wait, k: int, play: int, timer: int) -> IvrInput:
    if wait is Wait.PLAYBACK:
        return DtmfReceived(KEYS[k % 12]) if k % 3 == 0 else PlaybackFinished(play)
    if wait is Wait.DIGITS:
        return TimerExpired(timer) if k % 4 == 0 else DtmfReceived(KEYS[k % 12])
    if wait is Wait.LOOKUP:
        tier = ("gold", "basic", "suspended")[k % 3]
        return (
            LookupFailed("timeout"),
            LookupResult(500, None),
            LookupResult(200, {"customer": {"tier": tier}, "account": {"balance_due": k * 97}}),
            LookupResult(200, "not an object"),
        )[k % 4]
    if wait is Wait.QUEUE:
        return QueueAnswered("a1") if k % 2 else QueueExited("timeout")
    if wait is Wait.TRANSFER:
        return TransferCompleted() if k % 2 else TransferFailed("busy")
    if wait is Wait.CALLBACK:
        return CallbackTaken("cb-1") if k % 2 else CallbackRefused("not_allowed")
    assert wait is Wait.RECORDING
    return VoicemailRecorded("vm", 9.5) if k % 2 else VoicemailFailed("no audio")


def _walk(
    flowset: FlowSet, did: str, at: datetime, script: list[int]
) -> tuple[Interpreter, list[Action]]:
    interp = Interpreter(flowset, CallContext(caller="+971501234567", did=did, start=at))
    actions = interp.start()
    every: list[Action] = list(actions)
    play = timer = 0
    fallback = iter(range(10_000))
    for _ in range(5_000):
        for action in actions:
            if isinstance(action, Play):
                play = action.playback_id
            elif isinstance(action, StartTimer):
                timer = action.timer_id
        if interp.done:
            break
        if script:
            event = _event(interp, script.pop(0), play, timer)
        else:
            # Script used up: answer the wait with timeouts and failures, which must still end.
            event = _progress(interp.waiting, 4 * next(fallback), play, timer)
        actions = interp.feed(event)
        every.extend(actions)
    return interp, every


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(FLOWSETS)),
    did=st.sampled_from(["+97145550100", "+97145550101", "+97145550200"]),
    at=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
    script=st.lists(st.integers(min_value=0, max_value=40), max_size=300),
)
def test_any_event_sequence_ends_the_call_cleanly(
    name: str, did: str, at: datetime, script: list[int]
) -> None:
    flowset = FLOWSETS[name]
    interp, actions = _walk(flowset, did, at, list(script))

    assert interp.done
    assert interp.outcome is not None
    max_steps = max(f.max_steps for f in flowset.flows.values())
    assert interp.steps <= max_steps

    journal = [a for a in actions if isinstance(a, FlowJournalRow)]
    assert journal[0].event == "ivr.start"
    assert [j.event for j in journal].count("ivr.end") == 1
    assert journal[-1].event == "ivr.end"
    assert journal[-1].data["outcome"] == interp.outcome.value
    # Every node entered is left before the next one is entered.
    open_node: object = None
    for j in journal:
        if j.event == "ivr.enter":
            assert open_node is None
            open_node = j.data["node"]
        elif j.event == "ivr.leave":
            assert j.data["node"] == open_node
            open_node = None
    assert open_node is None
    enters = sum(1 for j in journal if j.event == "ivr.enter")
    assert enters == interp.steps

    others = [a for a in actions if not isinstance(a, FlowJournalRow)]
    if interp.outcome is not Outcome.CALLER_HUNG_UP:
        last = others[-1]
        assert isinstance(last, TERMINAL_ACTIONS)
        expected = {
            Outcome.HUNG_UP: Hangup,
            Outcome.STEP_LIMIT_EXCEEDED: Hangup,
            Outcome.ENQUEUED: Enqueue,
            Outcome.TRANSFERRED: Transfer,
        }[interp.outcome]
        assert isinstance(last, expected)
    if interp.outcome is Outcome.STEP_LIMIT_EXCEEDED:
        assert any(j.event == "ivr.step_limit" for j in journal)

    plays = [a for a in actions if isinstance(a, Play)]
    assert all(p.media for p in plays)
    assert all(m.split(":")[0] in ("sound", "digits", "number") for p in plays for m in p.media)
    ids = [a.playback_id for a in plays] + [
        a.timer_id for a in actions if isinstance(a, StartTimer)
    ]
    assert len(ids) == len(set(ids))

    for late in (*NOISE, CallerHungUp(), DtmfReceived("1")):
        assert interp.feed(late) == []


@pytest.mark.parametrize("name", sorted(FLOWSETS))
def test_only_timeouts_and_failures_still_end(name: str) -> None:
    interp, _ = _walk(FLOWSETS[name], "+97145550100", datetime(2026, 11, 20, 6, tzinfo=UTC), [])
    assert interp.done
