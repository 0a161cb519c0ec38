"""The WebSocket feed: topics by role, tenants apart, agents see only themselves, sessions end."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from web_world import Person, World

from pbx_stasis.acd.model import AgentState
from pbx_stasis.acd.topics import AGENT_STATE, QUEUE_STATS, AgentStateChanged, QueueStatsChanged
from pbx_stasis.analytics.events import (
    INSIGHTS_READY,
    TRANSCRIPT_READY,
    InsightsReady,
    TranscriptReady,
)
from pbx_stasis.bus import EventTopic
from pbx_stasis.callbacks.events import CALLBACK_REQUESTED, CallbackRequested
from pbx_stasis.calls.events import (
    CALL_ENDED,
    CALL_INCOMING,
    CALL_STATE,
    CallEnded,
    CallRinging,
    CallUpdated,
)
from pbx_stasis.campaigns.events import CAMPAIGN_CHANGED, CampaignChanged
from pbx_stasis.crm.events import DISPOSITION_SET, DispositionSet
from pbx_stasis.evaluations.events import EVALUATION_SAVED, EvaluationSaved
from pbx_stasis.ivr.events import IVR_UPDATED, IvrUpdated
from pbx_stasis.plugins import TOPICS
from pbx_stasis.quality.events import QUALITY_POOR, CallQualityPoor
from pbx_stasis.recording.events import RECORDING_READY, RecordingReady
from pbx_stasis.store.tables import Direction, Role
from pbx_stasis.tickets.events import TICKET_CHANGED, TicketUpdated
from pbx_stasis.voicemail.events import VOICEMAIL_CHANGED, VoicemailChanged

ALL_TOPICS = list(TOPICS)
NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
# The field of each topic's event that carries a test's marker.
MARK_FIELD = {"call:incoming": "call_id", "call:state": "call_id", "call:ended": "call_id",
              "agent:state": "name", "queue:stats": "queue", "ivr:updated": "name",
              "ticket:changed": "subject", "quality:poor": "call_id",
              "crm:disposition": "call_id", "recording:ready": "recording_id",
              "transcript:ready": "recording_id", "insights:ready": "recording_id",
              "callback:requested": "callback_id", "evaluation:saved": "recording_id",
              "voicemail:changed": "voicemail_id", "campaign:changed": "change"}


def send(world: World, topic: str, tenant_id: int, payload: dict[str, Any]) -> None:
    """Publish a real event of `topic` carrying payload["mark"] (and the agent it is about:
    payload["user_id"] for agent:state, payload["agent_user_id"] for a call)."""
    own = "agent_user_id" if topic.startswith(("call:", "crm:")) else "user_id"
    user_id = payload.get(own, 0)
    kind, event = marked(topic, str(payload["mark"]), user_id)
    world.bus.publish(kind, tenant_id, event)


def marked(topic: str, mark: str, user_id: int) -> tuple[EventTopic[Any], object]:
    """A real event of `topic` carrying `mark` (and `user_id` as the agent it is about)."""
    call: dict[str, Any] = {
        "call_id": mark, "direction": Direction.INBOUND, "from_number": "+15550100",
        "to_number": "+15550001", "state": "ringing", "started_at": NOW, "agent_user_id": user_id,
    }
    events: dict[str, tuple[EventTopic[Any], object]] = {
        "call:incoming": (CALL_INCOMING, CallRinging(**call)),
        "call:state": (CALL_STATE, CallUpdated(**call)),
        "call:ended": (CALL_ENDED, CallEnded(**call | {"state": "ended"}, cause=16,
                                               by="caller", ended_at=NOW)),
        "agent:state": (AGENT_STATE, AgentStateChanged(user_id, mark, AgentState.AVAILABLE,
                                                       NOW)),
        "queue:stats": (QUEUE_STATS, QueueStatsChanged(mark, 0, None, 0, 0, 0, 0, 0, 0, 0.0)),
        "ivr:updated": (IVR_UPDATED, IvrUpdated(mark, 1, user_id, ("main.yaml",))),
        # A ticket whose audience (the agents who may read it) is this user.
        "ticket:changed": (TICKET_CHANGED, TicketUpdated(
            1, mark, "open", "high", "support", None, None, NOW, NOW, None, ("status",),
            audience=(user_id,))),
        "quality:poor": (QUALITY_POOR, CallQualityPoor(mark, "customer", 20.0, 25.0, 40.0,
                                                       "+15550100", user_id)),
        "crm:disposition": (DISPOSITION_SET, DispositionSet(
            call_id=mark, disposition="Sale", notes=None, follow_up_on=None,
            by_user_id=user_id, agent_user_id=user_id, at=NOW)),
        "recording:ready": (RECORDING_READY, RecordingReady(
            recording_id=mark, call_id=mark, kind="call", queue=None, agent_user_id=user_id,
            started_at=NOW, duration_seconds=1.0, size_bytes=44, format="wav")),
        "transcript:ready": (TRANSCRIPT_READY, TranscriptReady(
            mark, mark, "call", "done", "en", "pocketsphinx", 3, 6.0, user_id, "sales")),
        "insights:ready": (INSIGHTS_READY, InsightsReady(
            mark, mark, user_id, "sales", 60.0, True, ("buying",), 0.4, None)),
        "callback:requested": (CALLBACK_REQUESTED, CallbackRequested(
            mark, "sales", "+15550100", "", "api", NOW, None)),
        # An agent reads the evaluations of their own calls.
        "evaluation:saved": (EVALUATION_SAVED, EvaluationSaved(
            1, mark, mark, user_id, "sales", "Quality", 80.0, False, "submitted", user_id, NOW)),
        "voicemail:changed": (VOICEMAIL_CHANGED, VoicemailChanged(
            voicemail_id=mark, change="new", mailbox_kind="queue", mailbox="support",
            status="new", assigned_user_id=None, duration_seconds=4.0)),
        # A campaign's dashboard redraws: no lead, no number in it.
        "campaign:changed": (CAMPAIGN_CHANGED, CampaignChanged(
            campaign_id=1, change=mark, attempt_id=7, result="connected")),
    }
    return events[topic]


async def connect(world: World, who: Person, topics: list[str]) -> tuple[Any, dict[str, Any]]:
    socket = await world.client.ws_connect("/ws", headers=who.headers)
    hello = await socket.receive_json(timeout=5)
    assert hello["type"] == "hello"
    await socket.send_json({"subscribe": topics})
    subscribed = await socket.receive_json(timeout=5)
    assert subscribed["type"] == "subscribed"
    return socket, subscribed


async def events_until(socket: Any, stop: tuple[str, str]) -> list[tuple[str, Any]]:
    """Every event up to the sentinel (topic, marker in payload["mark"])."""
    seen = []
    while True:
        message = await socket.receive_json(timeout=5)
        if message["type"] != "event":
            continue
        mark = message["payload"].get(MARK_FIELD[message["topic"]])
        seen.append((message["topic"], mark))
        if (message["topic"], mark) == stop:
            return seen


async def test_topics_by_role(world: World) -> None:
    """Every topic as every role: granted and delivered, or refused as forbidden."""
    for role in Role:
        who = await world.log_in(world.person("acme", role))
        for topic in ALL_TOPICS:
            socket, subscribed = await connect(world, who, [topic])
            try:
                if role in TOPICS[topic].readers:
                    assert (subscribed["topics"], subscribed["refused"]) == ([topic], {}), role
                    mark = f"{role}-{topic}"
                    payload = {"mark": mark, "user_id": who.user_id, "agent_user_id": who.user_id}
                    send(world, topic, who.tenant_id, payload)
                    assert await events_until(socket, (topic, mark)) == [(topic, mark)]
                else:
                    assert subscribed["topics"] == [], (role, topic)
                    assert subscribed["refused"] == {topic: "forbidden"}, (role, topic)
            finally:
                await socket.close()


async def test_wildcard_and_unknown_topics(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    socket, subscribed = await connect(world, agent, ["call:*", "queue:stats", "weather"])
    await socket.close()
    assert subscribed["topics"] == ["call:incoming", "call:state", "call:ended"]
    assert subscribed["refused"] == {"queue:stats": "forbidden", "weather": "unknown"}


async def test_tenants_apart_and_agents_see_only_themselves(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    stranger = await world.log_in(world.person("globex", Role.ADMIN))
    colleague = world.person("acme", Role.SUPERVISOR)
    sockets = {
        "agent": (await connect(world, agent, ALL_TOPICS))[0],
        "manager": (await connect(world, manager, ALL_TOPICS))[0],
        "stranger": (await connect(world, stranger, ALL_TOPICS))[0],
    }
    acme, globex = world.tenant_ids["acme"], world.tenant_ids["globex"]
    def publish(topic: str, tenant_id: int, payload: dict[str, Any]) -> None:
        send(world, topic, tenant_id, payload)

    publish("agent:state", acme, {"mark": "colleague", "user_id": colleague.user_id})
    publish("call:incoming", acme, {"mark": "to-colleague", "agent_user_id": colleague.user_id})
    publish("call:incoming", acme, {"mark": "to-agent", "agent_user_id": agent.user_id})
    publish("queue:stats", acme, {"mark": "acme-queue"})
    publish("ivr:updated", acme, {"mark": "flow"})
    publish("ticket:changed", acme, {"mark": "colleague-ticket", "user_id": colleague.user_id})
    publish("ticket:changed", acme, {"mark": "agent-ticket", "user_id": agent.user_id})
    publish("evaluation:saved", acme, {"mark": "colleague-eval", "user_id": colleague.user_id})
    publish("evaluation:saved", acme, {"mark": "agent-eval", "user_id": agent.user_id})
    for topic in ALL_TOPICS:  # every topic of acme, none of which globex may see
        publish(
            topic,
            acme,
            {"mark": "acme", "user_id": stranger.user_id, "agent_user_id": stranger.user_id},
        )
    publish("queue:stats", globex, {"mark": "globex-queue"})
    publish("agent:state", acme, {"mark": "end", "user_id": agent.user_id})
    publish("queue:stats", globex, {"mark": "end"})
    try:
        seen_by_agent = await events_until(sockets["agent"], ("agent:state", "end"))
        seen_by_manager = await events_until(sockets["manager"], ("agent:state", "end"))
        seen_by_stranger = await events_until(sockets["stranger"], ("queue:stats", "end"))
    finally:
        for socket in sockets.values():
            await socket.close()
    # voicemail:changed names a mailbox and a count, no caller: every role of the tenant
    # reads it (an agent's inbox and My work refresh on it, and the API answers by its rules).
    assert seen_by_agent == [("call:incoming", "to-agent"), ("ticket:changed", "agent-ticket"),
                             ("evaluation:saved", "agent-eval"), ("voicemail:changed", "acme"),
                             ("agent:state", "end")]
    assert seen_by_manager == [
        ("agent:state", "colleague"),
        ("call:incoming", "to-colleague"),
        ("call:incoming", "to-agent"),
        ("queue:stats", "acme-queue"),
        ("ticket:changed", "colleague-ticket"),
        ("ticket:changed", "agent-ticket"),
        ("evaluation:saved", "colleague-eval"),
        ("evaluation:saved", "agent-eval"),
        *[(topic, "acme") for topic in ALL_TOPICS if topic != "ivr:updated"],
        ("agent:state", "end"),
    ]
    assert seen_by_stranger == [("queue:stats", "globex-queue"), ("queue:stats", "end")]


async def test_resubscribing_replaces_the_topics(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    socket, _ = await connect(world, admin, ["queue:stats"])
    try:
        await socket.send_json({"subscribe": ["ivr:updated"]})
        assert (await socket.receive_json(timeout=5))["topics"] == ["ivr:updated"]
        send(world, "queue:stats", admin.tenant_id, {"mark": "old"})
        send(world, "ivr:updated", admin.tenant_id, {"mark": "new"})
        assert await events_until(socket, ("ivr:updated", "new")) == [("ivr:updated", "new")]
    finally:
        await socket.close()


async def test_a_slow_client_is_told_to_resync(world: World) -> None:
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    socket, _ = await connect(world, manager, ["queue:stats"])
    try:
        for index in range(1100):  # more than a subscription holds, without yielding
            send(world, "queue:stats", manager.tenant_id, {"mark": index})
        message = await socket.receive_json(timeout=5)
        assert message == {"type": "lagged", "dropped": 100}
    finally:
        await socket.close()


async def test_logout_closes_the_feed(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    socket, _ = await connect(world, agent, ["agent:state"])
    response = await world.request(agent, "POST", "/logout")
    assert response.status == 303
    message = await socket.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert message.data == 4001


async def test_role_change_closes_the_feed(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    socket, _ = await connect(world, manager, ["queue:stats"])
    response = await world.request(
        admin, "PATCH", f"/api/users/{manager.user_id}", {"role": "agent"}
    )
    assert response.status == 200
    message = await socket.receive(timeout=5)
    assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 4001)
    socket, subscribed = await connect(world, manager, ["queue:stats"])
    await socket.close()
    assert subscribed["refused"] == {"queue:stats": "forbidden"}
    assert manager.user_id in world.center.synced_users


async def test_no_session_or_another_origin_is_refused(world: World) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await world.client.ws_connect("/ws")
    assert refused.value.status == 401
    agent = await world.log_in(world.person("acme", Role.AGENT))
    headers = {**agent.headers, "Origin": "https://evil.example"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await world.client.ws_connect("/ws", headers=headers)
    assert refused.value.status == 403


async def test_bad_messages_get_an_error_not_a_disconnect(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    socket = await world.client.ws_connect("/ws", headers=agent.headers)
    try:
        await socket.receive_json(timeout=5)
        for bad in ("not json", "[1, 2]", '{"subscribe": "call:*"}'):
            await socket.send_str(bad)
            assert (await socket.receive_json(timeout=5))["type"] == "error"
        await socket.send_json({"subscribe": ["agent:state"]})
        assert (await socket.receive_json(timeout=5))["type"] == "subscribed"
    finally:
        await socket.close()
