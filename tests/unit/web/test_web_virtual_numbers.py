"""Virtual numbers over the API: the pool, a contact's sticky number (its caller ID when an
agent calls it back by id, whole even for a masked role), and masked two-party mappings."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from web_world import World

from pbx_stasis.crm.contacts import ContactDraft
from pbx_stasis.store import utc_now
from pbx_stasis.store.tables import CallEvent, Role
from pbx_stasis.virtualnumbers.core import Connect, MaskedPair, Refuse
from pbx_stasis.virtualnumbers.service import PoolNumber, VirtualNumbers

V1, V2 = "+14155550160", "+14155550161"
RIDER, DRIVER = "+14155552001", "+14155552002"


async def as_(world: World, role: Role, method: str, path: str, body: Any = None,
              tenant: str = "acme") -> tuple[int, Any]:
    who = await world.log_in(world.person(tenant, role))
    response = await world.request(who, method, path, body)
    return response.status, json.loads(await response.text())


async def test_the_pool_and_a_contacts_sticky_number(world: World) -> None:
    status, body = await as_(world, Role.ADMIN, "PUT", "/api/virtual-numbers", {"numbers": [
        {"number": "+1 415 555 0160", "label": "Rides"}, {"number": V2}]})
    assert status == 200, body
    assert body["numbers"] == [{"number": V1, "label": "Rides", "queue": None},
                               {"number": V2, "label": "", "queue": None}]
    for bad, field in (({"numbers": [{"number": V1}, {"number": V1}]}, "body"),
                       ({"numbers": [{"number": "0160"}]}, "numbers.0.number")):
        status, body = await as_(world, Role.ADMIN, "PUT", "/api/virtual-numbers", bad)
        assert status == 400 and field in body["fields"], body
    # A number is one tenant's: another cannot take it.
    status, body = await as_(world, Role.ADMIN, "PUT", "/api/virtual-numbers",
                             {"numbers": [{"number": V1}]}, tenant="globex")
    assert status == 400 and "another tenant" in body["fields"]["numbers"], body

    ada = world.contact_ids["acme"]
    grace = (await world.crm.contacts.create(world.tenant_ids["acme"], ContactDraft(
        name="Grace Hopper (acme)", phones=("+14155550142",)))).id
    seen = [(await as_(world, Role.AGENT, "GET", f"/api/contacts/{c}/virtual-number"))[1]
            ["virtual"] for c in (ada, grace, ada, grace)]
    assert seen == [V1, V2, V1, V2]  # spread over the pool, then always the same
    status, _ = await as_(world, Role.AGENT, "GET", f"/api/contacts/{ada}/virtual-number",
                          tenant="globex")
    assert status == 404

    # Called back by id, the contact is shown its own virtual number; a masked agent sees it
    # whole (it is the tenant's, not a customer's).
    status, body = await as_(world, Role.ADMIN, "PUT", "/api/masking", {"roles": ["agent"]})
    assert status == 200, body
    status, body = await as_(world, Role.AGENT, "POST", "/api/calls/dial-by",
                             {"contact_id": grace})
    assert status == 201, body
    agent = world.person("acme", Role.AGENT)
    assert world.center.asked[-1] == ("dial", agent.tenant_id, agent.user_id, "+14155550142",
                                      V2)
    status, body = await as_(world, Role.AGENT, "GET", f"/api/contacts/{grace}/virtual-number")
    assert body["virtual"] == V2


async def test_masked_mappings_take_a_free_number_and_refuse_what_is_not_clear(
        world: World) -> None:
    status, body = await as_(world, Role.ADMIN, "PUT", "/api/virtual-numbers",
                             {"numbers": [{"number": V1}]})
    assert status == 200, body
    ride = {"party_a": RIDER, "party_b": DRIVER, "ttl_seconds": 900, "reference": "ride 7"}
    status, body = await as_(world, Role.MANAGER, "POST", "/api/masked-calls", ride)
    assert status == 201, body
    mapping = body["mapping"]
    assert (mapping["virtual"], mapping["party_a"], mapping["party_b"], mapping["live"]) == (
        V1, RIDER, DRIVER, True)
    # The rider already has a live mapping on the pool's only number: a call would be unclear.
    status, body = await as_(world, Role.MANAGER, "POST", "/api/masked-calls",
                             {**ride, "party_b": "+14155552003"})
    assert status == 400 and "no virtual number" in body["fields"]["party_a"], body
    for bad, field in (({**ride, "party_b": RIDER}, "body"), ({**ride, "ttl_seconds": 5},
                       "ttl_seconds"), ({**ride, "virtual": V2}, "virtual")):
        status, body = await as_(world, Role.MANAGER, "POST", "/api/masked-calls", bad)
        assert status == 400 and field in body["fields"], (bad, body)
    status, body = await as_(world, Role.MANAGER, "GET", "/api/masked-calls?live=true")
    assert [m["id"] for m in body["mappings"]] == [mapping["id"]]
    status, body = await as_(world, Role.ADMIN, "GET", "/api/masked-calls", tenant="globex")
    assert body["mappings"] == []
    status, _ = await as_(world, Role.AGENT, "POST", "/api/masked-calls", ride)
    assert status == 403


async def test_a_callers_last_agent_is_the_one_of_their_latest_call_in_the_tenant(
        world: World) -> None:
    store = VirtualNumbers(world.db)
    agent = world.person("acme", Role.AGENT)
    assert await store.last_agent(world.tenant_ids["acme"], "+14155550100") == agent.user_id
    # globex's call from the same number had no agent; a stranger has none either.
    assert await store.last_agent(world.tenant_ids["globex"], "+14155550100") is None
    assert await store.last_agent(world.tenant_ids["acme"], "+14155559999") is None


async def test_a_call_finds_the_callers_mapping_in_the_database(world: World) -> None:
    store = VirtualNumbers(world.db)
    acme = world.tenant_ids["acme"]
    assert await store.set_pool(acme, [PoolNumber(V1, "Rides")]) == []
    ride = await store.create_mapping(acme, RIDER, DRIVER, ttl=timedelta(minutes=5),
                                      virtual=None, reference="", by="test")
    now = utc_now()
    assert await store.route(acme, DRIVER, V1, now) == Connect(
        MaskedPair(ride.id, V1, RIDER, DRIVER, ride.expires_at), RIDER)
    assert await store.route(acme, "+14155552009", V1, now) == Refuse("unknown")
    later = ride.expires_at + timedelta(seconds=1)
    refused = await store.route(acme, RIDER, V1, later)
    assert isinstance(refused, Refuse) and refused.reason == "expired"
    assert await store.route(world.tenant_ids["globex"], RIDER, V1, now) == Refuse("unknown")


async def test_a_manager_revokes_a_live_mapping_once_and_it_is_journaled(world: World) -> None:
    status, body = await as_(world, Role.ADMIN, "PUT", "/api/virtual-numbers",
                             {"numbers": [{"number": V1}]})
    assert status == 200, body
    status, body = await as_(world, Role.MANAGER, "POST", "/api/masked-calls", {
        "party_a": RIDER, "party_b": DRIVER, "ttl_seconds": 900, "reference": "ride 8"})
    assert status == 201, body
    path = f"/api/masked-calls/{body['mapping']['id']}"
    # Another tenant's admin, an agent, an unknown or malformed id: nothing revoked.
    for role, tenant, where, expected in ((Role.ADMIN, "globex", path, 404),
                                          (Role.AGENT, "acme", path, 403),
                                          (Role.MANAGER, "acme", "/api/masked-calls/999999", 404),
                                          (Role.MANAGER, "acme", "/api/masked-calls/x", 404)):
        status, _ = await as_(world, role, "DELETE", where, tenant=tenant)
        assert status == expected, (role, tenant, where)
    status, body = await as_(world, Role.MANAGER, "DELETE", path)
    assert status == 200, body
    revoked = body["mapping"]
    assert (revoked["live"], revoked["revoked_by"]) == (False, "manager")
    assert revoked["revoked_at"] is not None
    status, body = await as_(world, Role.MANAGER, "DELETE", path)
    assert status == 409 and body["error"] == "ended", body
    status, body = await as_(world, Role.MANAGER, "GET", "/api/masked-calls?live=true")
    assert body["mappings"] == []
    # The parties' next call is refused as revoked; the number is free for them again.
    store = VirtualNumbers(world.db)
    acme = world.tenant_ids["acme"]
    refused = await store.route(acme, RIDER, V1, utc_now())
    assert isinstance(refused, Refuse) and refused.reason == "revoked"
    again = await store.create_mapping(acme, RIDER, DRIVER, ttl=timedelta(minutes=5),
                                       virtual=None, reference="ride 9", by="test")
    assert again.virtual == V1
    await world.db.writes.settle()
    async with world.db.session() as session:
        [line] = (await session.scalars(select(CallEvent).where(
            CallEvent.event == "masked.revoked"))).all()
    assert (line.data["mapping"], line.data["by"], line.data["reference"]) == (
        revoked["id"], "manager", "ride 8")
