"""Contacts over the API: the caller's card by any written form of the number, and edits."""

from __future__ import annotations

from web_world import World

from pbx_stasis.store.tables import Role


async def test_caller_card_matches_any_written_form(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(agent, "GET", "/api/contacts/by-phone?number=(415) 555-0100")
    card = await response.json()
    assert response.status == 200, card
    assert card["e164"] == "+14155550100"
    assert [c["name"] for c in card["contacts"]] == ["Ada Lovelace (acme)"]
    assert card["contacts"][0]["custom_fields"] == {"account": "A-1001", "tier": "gold"}
    # One call was logged as +14155550100, the other as the trunk wrote it: 4155550100.
    history = card["history"]
    assert [(c["call_id"][0], c["number"], c["duration"]) for c in history] == [
        ("a", "+14155550100", 95),
        ("b", "4155550100", 95),
    ]
    assert (history[0]["disposition"], history[0]["agent_name"]) == ("Sale", "Agent of Acme")

    unknown = await (
        await world.request(agent, "GET", "/api/contacts/by-phone?number=%2B12025550199")
    ).json()
    assert (unknown["contacts"], unknown["history"]) == ([], [])


async def test_create_edit_search_delete(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    body = {
        "name": "Grace Hopper",
        "company": "Navy",
        "phones": ["(202) 555-0111", "+44 20 7946 0958"],
        "tags": ["cobol"],
        "custom_fields": {"rank": "Rear Admiral", "since": 1943, "vip": True},
    }
    response = await world.request(agent, "POST", "/api/contacts", body)
    created = (await response.json())["contact"]
    assert response.status == 201
    assert created["phones"] == ["+12025550111", "+442079460958"]
    found = await (await world.request(agent, "GET", "/api/contacts?q=cobol")).json()
    assert [c["name"] for c in found["contacts"]] == ["Grace Hopper"]

    body["name"] = "Grace Brewster Hopper"
    body["phones"] = ["+12025550111"]
    response = await world.request(agent, "PUT", f"/api/contacts/{created['id']}", body)
    assert (await response.json())["contact"]["phones"] == ["+12025550111"]
    card = await (
        await world.request(agent, "GET", "/api/contacts/by-phone?number=2025550111")
    ).json()
    assert [c["name"] for c in card["contacts"]] == ["Grace Brewster Hopper"]

    assert (await world.request(agent, "DELETE", f"/api/contacts/{created['id']}")).status == 403
    assert (await world.request(manager, "DELETE", f"/api/contacts/{created['id']}")).status == 204
    response = await world.request(agent, "GET", f"/api/contacts/{created['id']}")
    assert response.status == 404
