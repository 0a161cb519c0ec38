"""Calls from the agent's side: only their own calls, and the wrap-up that needs a disposition."""

from __future__ import annotations

from web_world import Person, World

from pbx_stasis.store.tables import CallStatus, Role

OWNER = "acme"


async def test_agents_only_control_their_own_calls(world: World) -> None:
    agent = await world.log_in(world.person(OWNER, Role.AGENT))
    supervisor = await world.log_in(world.person(OWNER, Role.SUPERVISOR))
    colleague = world.person(OWNER, Role.MANAGER)
    call = world.center.add_call(world.tenant_ids[OWNER], agent_user_id=colleague.user_id)
    response = await world.request(agent, "POST", f"/api/calls/{call.call_id}/hold")
    assert response.status == 404
    live = await (await world.request(agent, "GET", "/api/calls/live")).json()
    assert call.call_id not in [c["call_id"] for c in live["calls"]]
    response = await world.request(supervisor, "POST", f"/api/calls/{call.call_id}/hold")
    assert response.status == 204
    assert ("hold", world.tenant_ids[OWNER], call.call_id) in world.center.asked


async def test_agents_only_read_their_own_call_history(world: World) -> None:
    agent = await world.log_in(world.person(OWNER, Role.AGENT))
    manager = await world.log_in(world.person(OWNER, Role.MANAGER))
    await world.add_call(OWNER, call_id="d" * 32, from_number="+14155550177")
    mine = await (await world.request(agent, "GET", "/api/calls")).json()
    assert {c["call_id"] for c in mine["calls"]} == {"a" * 32, "b" * 32}
    response = await world.request(agent, "GET", f"/api/calls/{'d' * 32}")
    assert response.status == 404
    everything = await (await world.request(manager, "GET", "/api/calls")).json()
    assert {c["call_id"] for c in everything["calls"]} == {"a" * 32, "b" * 32, "d" * 32}


async def test_wrap_up_needs_a_disposition_then_the_agent_is_available(world: World) -> None:
    agent = await world.log_in(world.person(OWNER, Role.AGENT))
    tenant_id = world.tenant_ids[OWNER]
    response = await world.request(agent, "PUT", "/api/me/agent/state", {"state": "available"})
    assert (await response.json())["agent"]["state"] == "available"

    call_id = world.center.ring(tenant_id, agent.user_id, "+14155550100")
    # The Stasis side opens the call record; here the test does it.
    await world.add_call(
        OWNER,
        call_id=call_id,
        from_number="+14155550100",
        agent=agent,
        minutes_ago=0,
        status=CallStatus.LIVE,
    )
    world.center.answer(call_id)
    world.center.end(call_id)
    me = await (await world.request(agent, "GET", "/api/me/agent")).json()
    assert me["agent"]["state"] == "wrap-up"
    assert me["wrapup"] == {"call_id": call_id, "disposition_saved": False}

    response = await world.request(agent, "PUT", "/api/me/agent/state", {"state": "available"})
    assert response.status == 409
    assert (await response.json())["error"] == "disposition-required"

    path = f"/api/calls/{call_id}/disposition"
    cases = [
        ({"disposition": "Call back"}, {"follow_up_on": "is required for Call back"}),
        (
            {"disposition": "Call back", "follow_up_on": "2026-11-22"},
            {"follow_up_on": "must be today or later"},
        ),
        ({"disposition": "Nope"}, {"disposition": "is not one of your dispositions"}),
        (
            {"disposition": "Sale", "follow_up_on": "22/11/2026"},
            {"follow_up_on": "must be a date written YYYY-MM-DD"},
        ),
    ]
    for body, fields in cases:
        response = await world.request(agent, "PUT", path, body)
        assert response.status == 400, body
        assert (await response.json())["fields"] == fields
    assert not [a for a in world.center.asked if a[0] == "complete_wrapup"]

    body = {"disposition": "Call back", "notes": "Wants a quote", "follow_up_on": "2026-11-30"}
    response = await world.request(agent, "PUT", path, body)
    assert response.status == 200, await response.text()
    assert ("complete_wrapup", tenant_id, agent.user_id, call_id) in world.center.asked
    me = await (await world.request(agent, "GET", "/api/me/agent")).json()
    assert me["wrapup"] == {"call_id": call_id, "disposition_saved": True}

    response = await world.request(agent, "PUT", "/api/me/agent/state", {"state": "available"})
    assert response.status == 200
    assert (await response.json())["agent"]["state"] == "available"

    card = await (
        await world.request(agent, "GET", "/api/contacts/by-phone?number=%2B14155550100")
    ).json()
    latest = card["history"][0]
    assert latest["call_id"] == call_id
    assert (latest["disposition"], latest["notes"], latest["follow_up_on"]) == (
        "Call back",
        "Wants a quote",
        "2026-11-30",
    )


async def _talked_and_ended(world: World, agent: Person) -> str:
    """A call of the agent's that rang, was answered and ended: the agent is in wrap-up."""
    call_id = world.center.ring(world.tenant_ids[OWNER], agent.user_id, "+14155550100")
    await world.add_call(OWNER, call_id=call_id, from_number="+14155550100", agent=agent,
                         minutes_ago=0, status=CallStatus.LIVE)
    world.center.answer(call_id)
    world.center.end(call_id)
    return call_id


async def test_a_tenant_without_dispositions_lets_the_agent_leave_wrap_up(world: World) -> None:
    """Issue 13: with no disposition to choose, leaving wrap-up was refused for ever."""
    agent = await world.log_in(world.person(OWNER, Role.AGENT))
    tenant_id = world.tenant_ids[OWNER]
    for d in await world.crm.dispositions.for_tenant(tenant_id):
        await world.crm.dispositions.update(tenant_id, d.id, name=d.name, position=d.position,
                                            requires_follow_up=d.requires_follow_up,
                                            active=False)
    await world.request(agent, "PUT", "/api/me/agent/state", {"state": "available"})
    call_id = await _talked_and_ended(world, agent)
    me = await (await world.request(agent, "GET", "/api/me/agent")).json()
    assert me["wrapup"] == {"call_id": call_id, "disposition_saved": True}
    response = await world.request(agent, "PUT", "/api/me/agent/state", {"state": "available"})
    assert response.status == 200, await response.text()
    assert (await response.json())["agent"]["state"] == "available"


async def test_pausing_needs_a_known_reason(world: World) -> None:
    agent = await world.log_in(world.person(OWNER, Role.AGENT))
    for body, fields in [
        ({"state": "paused"}, {"reason": "is required to pause"}),
        ({"state": "paused", "reason": "nap"}, {"reason": "must be one of break, lunch, training"}),
        ({"state": "busy"}, {"state": "must be one of available, paused, offline"}),
    ]:
        response = await world.request(agent, "PUT", "/api/me/agent/state", body)
        assert response.status == 400
        assert (await response.json())["fields"] == fields
    response = await world.request(
        agent, "PUT", "/api/me/agent/state", {"state": "paused", "reason": "lunch"}
    )
    agent_view = (await response.json())["agent"]
    assert (agent_view["state"], agent_view["reason"]) == ("paused", "lunch")


async def test_call_control_reaches_the_contact_center(world: World) -> None:
    agent = await world.log_in(world.person(OWNER, Role.AGENT))
    tenant_id = world.tenant_ids[OWNER]
    call = world.center.add_call(tenant_id, agent_user_id=agent.user_id)
    base = f"/api/calls/{call.call_id}"
    for verb in ("hold", "unhold", "mute", "unmute"):
        assert (await world.request(agent, "POST", f"{base}/{verb}")).status == 204
    response = await world.request(agent, "POST", f"{base}/dtmf", {"digits": "12*#a"})
    assert response.status == 204
    colleague = world.person(OWNER, Role.SUPERVISOR)
    response = await world.request(
        agent,
        "POST",
        f"{base}/transfer",
        {"kind": "agent", "target": str(colleague.user_id), "attended": True},
    )
    assert response.status == 204
    assert (await world.request(agent, "POST", f"{base}/transfer/cancel")).status == 204
    assert (await world.request(agent, "POST", f"{base}/unhold")).status == 409
    asked = [a[0] for a in world.center.asked]
    assert asked == ["hold", "unhold", "mute", "unmute", "send_dtmf", "transfer", "cancel_transfer"]
    assert world.center.asked[4] == ("send_dtmf", tenant_id, call.call_id, "12*#A")
    response = await world.request(agent, "POST", "/api/calls/dial", {"number": "+1 415"})
    assert response.status == 400
    response = await world.request(agent, "POST", "/api/calls/dial", {"number": "+14155550123"})
    assert response.status == 201
    assert (await response.json())["call_id"]


async def test_the_agent_list_names_only_the_calls_one_may_see(world: World) -> None:
    tenant_id = world.tenant_ids["acme"]
    agent = await world.log_in(world.person("acme", Role.AGENT))
    colleague = world.person("acme", Role.MANAGER)  # taking calls as an agent too
    mine = world.center.ring(tenant_id, agent.user_id, "+14155550100")
    theirs = world.center.ring(tenant_id, colleague.user_id, "+14155550111")
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    for who, expected in ((agent, {agent.user_id: mine, colleague.user_id: None}),
                          (supervisor, {agent.user_id: mine, colleague.user_id: theirs})):
        listed = (await (await world.request(who, "GET", "/api/agents")).json())["agents"]
        calls = {row["user_id"]: row["call_id"] for row in listed}
        assert {uid: calls[uid] for uid in expected} == expected
        assert {row["state"] for row in listed if row["user_id"] in expected} == {"ringing"}


async def test_a_supervisor_frees_an_agent_stuck_in_wrap_up_and_logs_one_out(
    world: World,
) -> None:
    agent = await world.log_in(world.person(OWNER, Role.AGENT))
    supervisor = await world.log_in(world.person(OWNER, Role.SUPERVISOR))
    await world.request(agent, "PUT", "/api/me/agent/state", {"state": "available"})
    await _talked_and_ended(world, agent)
    path = f"/api/agents/{agent.user_id}/state"
    assert (await world.request(agent, "PUT", path, {"state": "available"})).status == 403
    refused = await world.request(supervisor, "PUT", path, {"state": "paused"})
    assert (refused.status, (await refused.json())["fields"]) == (
        400, {"reason": "is required to pause"})
    # No disposition saved: the supervisor's choice ends the wrap-up anyway.
    freed = await world.request(supervisor, "PUT", path, {"state": "available"})
    assert freed.status == 200, await freed.text()
    assert (await freed.json())["agent"]["state"] == "available"
    out = await world.request(supervisor, "PUT", path, {"state": "offline"})
    assert (await out.json())["agent"]["state"] == "offline"
