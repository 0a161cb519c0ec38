"""The dialling policy's API: an admin reads, sets and tries their own tenant's policy only."""

from __future__ import annotations

from typing import Any

import pytest
from web_world import World

from pbx_stasis.store.tables import Role

ROUTE = "/api/dialing/policy"


async def test_an_admin_sets_their_tenants_policy_and_the_other_tenant_keeps_the_default(
    world: World,
) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, "GET", ROUTE)
    assert response.status == 200
    assert (await response.json())["policy"] == {
        "countries": ["US"], "allow": [], "block": [], "roles": ["agent", "supervisor"]}

    body = {"countries": ["us", "CA"], "allow": ["+1900555"], "block": ["+1876"],
            "roles": ["supervisor"]}
    response = await world.request(admin, "PUT", ROUTE, body)
    assert response.status == 200, await response.text()
    expected = {"countries": ["CA", "US"], "allow": ["+1900555"], "block": ["+1876"],
                "roles": ["supervisor"]}
    assert (await response.json())["policy"] == expected
    assert (await (await world.request(admin, "GET", ROUTE)).json())["policy"] == expected

    stranger = await world.log_in(world.person("globex", Role.ADMIN))
    theirs = await (await world.request(stranger, "GET", ROUTE)).json()
    assert theirs["policy"]["countries"] == ["US"] and theirs["policy"]["allow"] == []


async def test_check_says_why_a_number_is_refused(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, "GET", "/api/dialing/check?number=%2B19005550123")
    verdict = await response.json()
    assert verdict["allowed"] is False and verdict["reason"] == "premium-rate"
    assert verdict["message"] == "+19005550123 is a premium-rate number"
    response = await world.request(admin, "GET",
                                   "/api/dialing/check?number=4155550199&role=manager")
    assert (await response.json())["reason"] == "role"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"countries": "is required"}),
        ({"countries": ["USA"]}, {"countries.0": "must be at most 2 characters"}),
        ({"countries": ["XX"]}, {"countries": "unknown country code(s): XX"}),
        ({"countries": ["US"], "allow": ["1900"]},
         {"allow.0": "must be a prefix: + then 1 to 15 digits, not starting with 0"}),
        ({"countries": ["US"], "allow": ["+1900"], "block": ["+1900"]},
         {"block": "+1900 is in both allow and block"}),
        ({"countries": ["US"], "roles": ["boss"]},
         {"roles.0": "must be one of agent, supervisor, manager, admin"}),
        ({"countries": "US"}, {"countries": "must be a list"}),
    ],
)
async def test_a_bad_policy_gets_400_naming_the_field(
    world: World, body: dict[str, Any], fields: dict[str, str]
) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    response = await world.request(admin, "PUT", ROUTE, body)
    reply = await response.json()
    assert response.status == 400, reply
    assert reply["fields"] == fields
