"""Quick checks that the app serves its API over a real database."""

from __future__ import annotations

from web_world import World

from pbx_stasis.store.tables import Role


async def test_me_and_contact_card(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(agent, "GET", "/api/me")
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["user"]["role"] == "agent"
    response = await world.request(agent, "GET", "/api/contacts/by-phone?number=(415) 555-0100")
    body = await response.json()
    assert response.status == 200, body
    assert body["e164"] == "+14155550100"
    assert [c["name"] for c in body["contacts"]] == ["Ada Lovelace (acme)"]
    assert {c["call_id"][0] for c in body["history"]} == {"a", "b"}
