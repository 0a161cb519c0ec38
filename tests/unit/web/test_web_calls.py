"""Calls from the agent's side: only their own calls, and the wrap-up that needs a disposition."""

from __future__ import annotations

from web_world import World

from pbx_stasis.store.tables import Role

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
