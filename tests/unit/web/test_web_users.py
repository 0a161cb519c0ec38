"""Creating users from the admin pages applies the rules `pbx user add` applies
(store/accounts.py): the same names, passwords and case-insensitive uniqueness."""

from __future__ import annotations

from sqlalchemy import select
from web_world import World

from pbx_stasis.store.tables import Role, User


async def test_a_new_user_follows_the_account_rules(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))

    async def create(username: str, password: str = "long enough", name: str = "Someone") -> tuple[
        int, dict[str, object]
    ]:
        response = await world.request(admin, "POST", "/api/users", {
            "username": username, "display_name": name, "role": "agent", "password": password})
        body: dict[str, object] = await response.json()
        return response.status, body

    status, body = await create("Throw2")
    assert status == 201, body
    assert body["user"]["username"] == "throw2"  # type: ignore[index]
    for username, password, name, fields in (
        ("THROW2", "long enough", "x", {"username": "is already taken"}),
        ("carol", "a", "x", {"password": "must be at least 8 characters"}),
        ("carol", "long\x07enough", "x", {"password": "must not contain control characters"}),
        ("-carol", "long enough", "x", {"username": "must be 1-64 letters, digits, . _ or -, "
                                                    "starting with a letter or digit"}),
        ("carol", "long enough", "evil\u202egpj.exe",
         {"display_name": "must not contain control characters"}),
    ):
        status, body = await create(username, password, name)
        assert (status, body.get("fields")) == (400, fields), (username, body)
    async with world.db.session() as session:
        names = list(await session.scalars(select(User.username).where(
            User.username.in_(["throw2", "carol", "-carol"]))))
    assert names == ["throw2"]


async def test_a_renamed_user_follows_the_display_name_rule(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    agent = world.person("acme", Role.AGENT)
    response = await world.request(admin, "PATCH", f"/api/users/{agent.user_id}",
                                   {"display_name": "red\x1b[31m"})
    assert response.status == 400
    assert (await response.json())["fields"] == {
        "display_name": "must not contain control characters"}
