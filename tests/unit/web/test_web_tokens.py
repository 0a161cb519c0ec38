"""API tokens: an admin makes one (shown once, stored hashed), a machine client uses it as
`Authorization: Bearer` on any route with the same role and tenant checks and no CSRF, and it
stops at once when revoked (its feed socket too)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import select, update
from web_world import Person, World

from pbx_stasis.cli.main import main as pbx
from pbx_stasis.store.tables import Role, User
from pbx_stasis.web.tables import ApiToken


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_token(world: World, admin: Person, role: str, name: str = "CRM sync"
                     ) -> dict[str, Any]:
    response = await world.request(admin, "POST", "/api/tokens", {"name": name, "role": role})
    assert response.status == 201, await response.text()
    made: dict[str, Any] = await response.json()
    return made


async def test_a_token_works_as_bearer_with_its_role_and_stops_when_revoked(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    made = await make_token(world, admin, "supervisor")
    token = made["token"]
    assert token.startswith("pbx_") and len(token) > 40
    async with world.db.session() as session:
        row = await session.get(ApiToken, made["id"])
    assert row is not None
    assert row.hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is stored
    listed = await (await world.request(admin, "GET", "/api/tokens")).json()
    assert token not in str(listed)
    assert listed["tokens"][0]["last_used_at"] is None

    me = await world.client.get("/api/me", headers=bearer(token))
    assert me.status == 200, await me.text()
    assert (await me.json())["user"]["role"] == "supervisor"
    assert (await me.json())["token"] == {"id": made["id"], "expires_at": None}  # never
    # Its role, not its maker's: an admin's route is refused.
    assert (await world.client.get("/api/users", headers=bearer(token))).status == 403
    # A change without any CSRF header: a Bearer token needs none.
    contact = await world.client.post("/api/contacts", headers=bearer(token),
                                      json={"name": "Grace Hopper", "phones": []})
    assert contact.status == 201, await contact.text()
    listed = await (await world.request(admin, "GET", "/api/tokens")).json()
    assert listed["tokens"][0]["last_used_at"] is not None

    revoked = await world.request(admin, "DELETE", f"/api/tokens/{made['id']}")
    assert revoked.status == 204
    assert (await world.client.get("/api/me", headers=bearer(token))).status == 401
    listed = await (await world.request(admin, "GET", "/api/tokens")).json()
    assert listed["tokens"][0]["active"] is False


async def test_a_bad_token_is_nobody_even_with_a_session_cookie(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    for header in ("Bearer pbx_not-a-token", "Bearer ", "bearer nonsense"):
        response = await world.request(admin, "GET", "/api/me", headers={"Authorization": header})
        assert response.status == 401, header


async def test_tokens_keep_to_their_tenant_and_cannot_make_tokens(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    stranger = await world.log_in(world.person("globex", Role.ADMIN))
    token = (await make_token(world, admin, "admin"))["token"]
    theirs = await make_token(world, stranger, "agent", "their sync")
    # The other tenant's token is not found, and its contact list is this tenant's own.
    gone = await world.client.delete(f"/api/tokens/{theirs['id']}", headers=bearer(token))
    assert gone.status == 403  # a token never manages tokens...
    listed = await (await world.client.get("/api/tokens", headers=bearer(token))).json()
    assert [item["name"] for item in listed["tokens"]] == ["CRM sync"]
    minted = await world.client.post("/api/tokens", headers=bearer(token),
                                     json={"name": "successor", "role": "admin"})
    assert minted.status == 403  # ... so a leaked one cannot outlive its revocation
    own_gone = await world.request(admin, "DELETE", f"/api/tokens/{theirs['id']}")
    assert own_gone.status == 404  # and an admin only revokes their own tenant's


async def test_a_token_shrinks_with_its_maker(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    token = (await make_token(world, admin, "admin"))["token"]
    async with world.db.transaction() as tx:
        await tx.execute(update(User).where(User.id == admin.user_id).values(role=Role.AGENT))
    me = await (await world.client.get("/api/me", headers=bearer(token))).json()
    assert me["user"]["role"] == "agent"
    async with world.db.transaction() as tx:
        await tx.execute(update(User).where(User.id == admin.user_id).values(disabled=True))
    assert (await world.client.get("/api/me", headers=bearer(token))).status == 401


async def test_bad_input_names_the_field(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    for body, field in (({"name": "", "role": "agent"}, "name"),
                        ({"name": "x", "role": "root"}, "role"),
                        ({"name": "x"}, "role")):
        response = await world.request(admin, "POST", "/api/tokens", body)
        assert response.status == 400
        assert field in (await response.json())["fields"], body


async def test_the_feed_takes_a_token_and_closes_on_revocation(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    made = await make_token(world, admin, "manager")
    socket = await world.client.ws_connect("/ws", headers=bearer(made["token"]))
    hello = await socket.receive_json(timeout=5)
    assert (hello["type"], hello["role"]) == ("hello", "manager")
    await world.request(admin, "DELETE", f"/api/tokens/{made['id']}")
    closing = await socket.receive(timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert socket.close_code == 4001


async def test_pbx_token_add_list_revoke(world: World, capsys: Any, monkeypatch: Any) -> None:
    url = str(world.db.engine.url)
    monkeypatch.setenv("PBX_DATABASE_URL", url)
    monkeypatch.setenv("PBX_CONFIG", "/dev/null")
    assert await _cli(["token", "add", "nightly export", "--user", "manager", "--role",
                       "admin", "--tenant", "acme"]) == 2
    assert "above" in capsys.readouterr().err
    assert await _cli(["token", "add", "nightly export", "--user", "manager", "--role",
                       "supervisor", "--tenant", "acme"]) == 0
    token = capsys.readouterr().out.strip()
    me = await world.client.get("/api/me", headers=bearer(token))
    assert (await me.json())["user"]["role"] == "supervisor"
    assert await _cli(["token", "list", "--tenant", "acme"]) == 0
    listing = capsys.readouterr().out
    assert "nightly export" in listing and token not in listing
    async with world.db.session() as session:
        token_id = await session.scalar(select(ApiToken.id).where(
            ApiToken.name == "nightly export"))
    assert await _cli(["token", "revoke", str(token_id), "--tenant", "globex"]) == 1
    assert await _cli(["token", "revoke", str(token_id), "--tenant", "acme"]) == 0
    assert (await world.client.get("/api/me", headers=bearer(token))).status == 401


async def _cli(argv: list[str]) -> int:
    # The command runs its own event loop (asyncio.run): in a thread, beside the test's.
    import asyncio

    return await asyncio.to_thread(pbx, argv)


async def test_a_token_expires_at_the_end_of_its_day_with_a_clear_401(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    today = world.clock().date()  # 2026-11-23, 09:00 UTC
    response = await world.request(admin, "POST", "/api/tokens", {
        "name": "Old", "role": "agent", "expires_on": (today - timedelta(days=1)).isoformat()})
    assert response.status == 400
    assert (await response.json())["fields"] == {"expires_on": "must be today or later"}
    response = await world.request(admin, "POST", "/api/tokens", {
        "name": "Day pass", "role": "agent", "expires_on": today.isoformat()})
    assert response.status == 201, await response.text()
    made = await response.json()
    assert made["expires_at"] == "2026-11-24T00:00:00+00:00" and made["state"] == "active"
    me = await world.client.get("/api/me", headers=bearer(made["token"]))
    assert me.status == 200
    # The integrator reads when the token ends (no browser session speaks).
    assert (await me.json())["token"] == {"id": made["id"],
                                          "expires_at": "2026-11-24T00:00:00+00:00"}
    assert (await me.json())["session_expires_at"] is None
    world.clock.advance(hours=15)  # midnight UTC
    refused = await world.client.get("/api/me", headers=bearer(made["token"]))
    assert refused.status == 401
    body = await refused.json()
    assert body["error"] == "token-expired" and "expired at 2026-11-24T00:00" in body["message"]
    # Listed as expired; an expired token is not rotated back to life.
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    listed = await (await world.request(admin, "GET", "/api/tokens")).json()
    [item] = [t for t in listed["tokens"] if t["id"] == made["id"]]
    assert (item["state"], item["active"]) == ("expired", False)
    rotate = await world.request(admin, "POST", f"/api/tokens/{made['id']}/rotate", {})
    assert rotate.status == 404


async def test_a_rotated_token_keeps_its_old_secret_for_the_overlap(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    made = await make_token(world, admin, "supervisor", name="Rotating")
    old = made["token"]
    response = await world.request(admin, "POST", f"/api/tokens/{made['id']}/rotate",
                                   {"overlap_s": 600})
    assert response.status == 200, await response.text()
    rotated = await response.json()
    new = rotated["token"]
    assert new != old and new.startswith("pbx_") and rotated["id"] == made["id"]
    assert rotated["old_valid_until"] == "2026-11-23T09:10:00+00:00"
    assert rotated["prefix"] == new[:12]
    # Both work during the overlap, as the same token (its role).
    for secret in (old, new):
        me = await world.client.get("/api/me", headers=bearer(secret))
        assert me.status == 200 and (await me.json())["user"]["role"] == "supervisor"
    world.clock.advance(minutes=10)
    refused = await world.client.get("/api/me", headers=bearer(old))
    assert refused.status == 401
    assert (await refused.json())["error"] == "token-rotated"
    assert (await world.client.get("/api/me", headers=bearer(new))).status == 200
    # A token rotates nothing (a leaked one must not renew itself); revoked: nothing to rotate.
    by_token = await world.client.post(f"/api/tokens/{made['id']}/rotate", json={},
                                       headers=bearer(new))
    assert by_token.status == 403
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    assert (await world.request(admin, "DELETE", f"/api/tokens/{made['id']}")).status == 204
    assert (await world.request(admin, "POST", f"/api/tokens/{made['id']}/rotate",
                                {})).status == 404
    assert (await world.client.get("/api/me", headers=bearer(new))).status == 401
    # Rotated with no overlap: the old secret stops at once.
    again = await make_token(world, admin, "agent", name="Instant")
    response = await world.request(admin, "POST", f"/api/tokens/{again['id']}/rotate",
                                   {"overlap_s": 0})
    assert (await response.json())["old_valid_until"] is None
    refused = await world.client.get("/api/me", headers=bearer(again["token"]))
    assert refused.status == 401
