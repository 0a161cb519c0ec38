"""The typed bus: a topic carries its one dataclass, tenants stay apart, each event's JSON is what
the pages read (the views of acd/service.py through web.contract.to_json), and the relay's
encoding rebuilds the very object."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import pytest

from pbx_stasis.acd.model import AgentState
from pbx_stasis.acd.service import AgentView, CallState, LiveCall, QueueStats
from pbx_stasis.acd.topics import AGENT_STATE, QUEUE_STATS, AgentStateChanged, QueueStatsChanged
from pbx_stasis.bus import Bus, EventTopic, encode
from pbx_stasis.calls.events import (
    CALL_ENDED,
    CALL_INCOMING,
    CALL_STATE,
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    CallUpdated,
)
from pbx_stasis.ivr.events import IVR_UPDATED, IvrUpdated
from pbx_stasis.store import Direction, NewEvent
from pbx_stasis.web.contract import to_json

T0 = datetime(2026, 1, 5, 9, 30, 0, 250_001, tzinfo=UTC)
T1 = datetime(2026, 1, 5, 9, 30, 7, tzinfo=UTC)
CALL = LiveCall(call_id="c-1", direction=Direction.INBOUND, from_number="+15550100",
                to_number="+15550001", state=CallState.TALKING, started_at=T0,
                answered_at=T1, queue="sales", agent_user_id=7, held=True)
AGENT = AgentView(7, "alice", AgentState.WRAP_UP, T1, reason=None, call_id="c-1",
                  wrapup_ends_at=T1, calls_today=3, registered=True, queues=("sales", "vip"))
QUEUE = QueueStats("sales", 2, T0, 3, 1, 10, 8, 1, 6, 431.5, handled_today=7,
                   service_level_today=0.75)


def _fields(value: object) -> dict[str, Any]:
    return {spec.name: getattr(value, spec.name) for spec in fields(value)}  # type: ignore[arg-type]


STARTED = CallStarted(**_fields(CALL) | {"state": "ivr"}, channel_id="1717.42",
                      data={"did": "main", "language": "fr"})
ENDED = CallEnded(**_fields(CALL) | {"state": "ended"}, cause=16, by="agent",
                  cause_text="Normal Clearing", ended_at=T1, data={"recording": "r1"})
# Every topic with a sample of each of its classes.
SAMPLES: list[tuple[EventTopic[Any], object]] = [
    (CALL_STATE, CallUpdated(**_fields(CALL))),
    (CALL_STATE, STARTED),
    (CALL_STATE, CallAnswered(**_fields(CALL) | {"state": "ivr"})),
    (CALL_INCOMING, CallRinging(**_fields(CALL) | {"state": "ringing"})),
    (CALL_ENDED, ENDED),
    (AGENT_STATE, AgentStateChanged(**_fields(AGENT))),
    (QUEUE_STATS, QueueStatsChanged(**_fields(QUEUE))),
    (IVR_UPDATED, IvrUpdated("main", 4, 2, ("main.yaml", "hours.yaml"))),
]


def test_a_topic_carries_only_its_dataclass() -> None:
    bus = Bus()
    with pytest.raises(TypeError, match="call:state carries CallUpdated, not dict"):
        bus.publish(CALL_STATE, 1, {"call_id": "c-1"})  # type: ignore[misc]
    with pytest.raises(TypeError, match="agent:state carries AgentStateChanged, not CallUpdated"):
        bus.publish(AGENT_STATE, 1, CallUpdated(**_fields(CALL)))  # type: ignore[misc]
    with pytest.raises(TypeError, match="agent:state carries AgentStateChanged, not AgentView"):
        bus.publish(AGENT_STATE, 1, AGENT)  # type: ignore[misc]  # a view, no event
    with pytest.raises(TypeError, match="call:state carries CallUpdated, not CallEnded"):
        bus.publish(CALL_STATE, 1, ENDED)  # type: ignore[misc]

    @dataclass
    class Loose:
        name: str

    with pytest.raises(TypeError, match="not a frozen dataclass"):
        EventTopic("loose:event", Loose)
    with pytest.raises(ValueError, match="call:state already carries CallUpdated"):
        EventTopic("call:state", IvrUpdated)
    with pytest.raises(ValueError, match="CallUpdated has no field agent_id"):
        EventTopic("call:other", CallUpdated, own_key="agent_id")
    assert set(CALL_STATE.kinds()) == {"CallUpdated", "CallStarted", "CallAnswered"}


def test_subscribers_get_their_topics_of_their_tenant() -> None:
    bus = Bus()
    calls = bus.subscribe(["call:*"], tenant_id=1)
    agents = bus.subscribe([AGENT_STATE])  # by the topic object, every tenant
    for topic, event in SAMPLES:
        bus.publish(topic, 1, event)
        bus.publish(topic, 2, event)

    def drain(subscription: Any) -> list[tuple[str, int, object]]:
        seen = []
        while (event := subscription.get_nowait()) is not None:
            seen.append((event.topic, event.tenant_id, event.payload))
        return seen

    assert drain(calls) == [(t.name, 1, e) for t, e in SAMPLES if t.name.startswith("call:")]
    assert bus.listened(CALL_ENDED, 1) and not bus.listened(CALL_ENDED, 2)
    assert bus.listened(AGENT_STATE, 2) and not bus.listened(QUEUE_STATS, 1)
    agent = SAMPLES[5][1]
    assert drain(agents) == [("agent:state", 1, agent), ("agent:state", 2, agent)]


@pytest.mark.parametrize(
    ("event", "view"),
    [
        (CallUpdated(**_fields(CALL)), CALL),
        (CallRinging(**_fields(CALL)), CALL),
        (AgentStateChanged(**_fields(AGENT)), AGENT),
        (QueueStatsChanged(**_fields(QUEUE)), QUEUE),
    ],
    ids=["call:state", "call:incoming", "agent:state", "queue:stats"],
)
def test_an_event_is_the_json_of_the_view_the_pages_read(event: object, view: object) -> None:
    assert encode(event) == to_json(view)


def test_journal_only_fields_stay_out_of_the_feed() -> None:
    call = to_json(CALL)
    assert encode(STARTED) == call | {"state": "ivr"}
    assert encode(ENDED) == call | {"state": "ended", "cause": 16, "by": "agent"}
    assert encode(IvrUpdated("main", 4, None, ("main.yaml",))) == {
        "name": "main", "version": 4, "user_id": None, "files": ["main.yaml"]}
    # ... and go to the journal, from the same object.
    assert STARTED.line(1) == NewEvent(
        tenant_id=1, event="CALLSTART", call_id="c-1", agent_user_id=7, at=T0,
        data={"channel": "1717.42", "from": "+15550100", "to": "+15550001",
              "direction": "inbound", "did": "main", "language": "fr"})
    assert ENDED.line(1) == NewEvent(
        tenant_id=1, event="CALLEND", call_id="c-1", at=T1,
        data={"cause": 16, "cause_text": "Normal Clearing", "by": "agent", "recording": "r1"})


@pytest.mark.parametrize(("topic", "event"), SAMPLES,
                         ids=[type(event).__name__ for _, event in SAMPLES])
def test_the_relay_encoding_rebuilds_the_very_event(topic: EventTopic[Any], event: object) -> None:
    wire = json.loads(json.dumps(encode(event, everything=True)))
    rebuilt = topic.decode(type(event).__name__, wire)
    assert rebuilt == event and type(rebuilt) is type(event)


def test_the_relay_refuses_what_a_topic_does_not_carry() -> None:
    with pytest.raises(ValueError, match="call:state carries no CallEnded"):
        CALL_STATE.decode("CallEnded", encode(ENDED, everything=True))
    with pytest.raises(ValueError, match="version"):
        IVR_UPDATED.decode("IvrUpdated", {"name": "main", "version": "four", "user_id": None,
                                          "files": []})
