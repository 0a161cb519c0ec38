"""Logging in and staying logged in: the login form, throttling, sessions, CSRF, logout."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from datetime import timedelta

import pytest
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestClient, TestServer
from web_world import PASSWORD, Person, World
from yarl import URL

from pbx_stasis.plugins import web_app
from pbx_stasis.store.tables import Role, User
from pbx_stasis.web.app import CONTEXT
from pbx_stasis.web.auth import LoginPolicy, LoginRefused, hash_password
from pbx_stasis.web.pages import safe_next
from pbx_stasis.web.sessions import COOKIE, session_id
from pbx_stasis.web.tables import WebSession

LAST_SET_COOKIES: list[str] = []
LAST_RETRY_AFTER: list[str] = [""]


async def login_client(world: World) -> ClientSession:
    # A browser-like client with its own cookie jar (unsafe=True: the test server is an IP).
    return ClientSession(base_url=world.client.make_url("/"), cookie_jar=CookieJar(unsafe=True))


async def submit_login(
    client: ClientSession,
    username: str,
    password: str,
    tenant: str = "acme",
    next_: str = "",
    token: str | None = None,
) -> tuple[int, str, str]:
    """GET the form (cookie + hidden token), POST it; returns status, Location, page text."""
    page = await client.get("/login")
    html = await page.text()
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    form = {
        "tenant": tenant,
        "username": username,
        "password": password,
        "csrf_token": found.group(1) if token is None else token,
        "next": next_,
    }
    response = await client.post("/login", data=form, allow_redirects=False)
    LAST_SET_COOKIES[:] = response.headers.getall("Set-Cookie", [])
    LAST_RETRY_AFTER[0] = response.headers.get("Retry-After", "")
    return response.status, response.headers.get("Location", ""), await response.text()


async def test_login_sends_each_role_home_with_a_safe_cookie(world: World) -> None:
    homes = {
        Role.AGENT: "/agent",
        Role.SUPERVISOR: "/wallboard",
        Role.MANAGER: "/wallboard",
        Role.ADMIN: "/admin/users",
    }
    for role, home in homes.items():
        client = await login_client(world)
        try:
            status, location, _ = await submit_login(client, role.value, PASSWORD)
            assert (status, location) == (303, home)
            cookie = next(c for c in LAST_SET_COOKIES if c.startswith(f"{COOKIE}="))
            flags = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert {"httponly", "samesite=lax", "path=/"} <= flags
            assert "secure" not in flags  # plain http in the test; https sets it
            me = await (await client.get("/api/me")).json()
            assert me["user"]["role"] == role.value
            assert me["tenant"]["slug"] == "acme"
            assert me["session_expires_at"] is not None and me["token"] is None
        finally:
            await client.close()


async def test_login_is_case_insensitive_and_tenant_scoped(world: World) -> None:
    client = await login_client(world)
    try:
        status, location, _ = await submit_login(client, "Agent", PASSWORD, tenant="GLOBEX")
        assert (status, location) == (303, "/agent")
        me = await (await client.get("/api/me")).json()
        assert me["tenant"]["slug"] == "globex"
    finally:
        await client.close()


async def test_next_only_goes_to_this_site(world: World) -> None:
    client = await login_client(world)
    try:
        _, location, _ = await submit_login(client, "admin", PASSWORD, next_="/admin/ivr")
        assert location == "/admin/ivr"
        await client.post("/logout", data={"csrf_token": await _csrf(client)})
        _, location, _ = await submit_login(client, "admin", PASSWORD, next_="//evil.example/")
        assert location == "/admin/users"
    finally:
        await client.close()


HOSTILE_NEXT = [
    "/\t/evil.example/phish",  # the finding: /%09/evil... left as //evil...
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    "\t//evil.example/",
    " /evil",
    "/ evil",
    "/evil\x00",
    "/\u200b/evil.example/",  # zero-width space
    "/\u3000/evil.example/",  # ideographic space
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/path\\to",
    "/%2F/evil.example/",
    "/%2fevil.example/",
    "/%5Cevil.example/",
    "/%09/evil.example/",
    "/%252F%252Fevil.example/",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "admin/users",
    "/login",
    "/logout",
    "/" + "a" * 600,
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_safe_next_refuses_anything_but_a_plain_path(target: str) -> None:
    assert safe_next(target) is None


def test_safe_next_keeps_paths_of_this_site() -> None:
    for target in ("/admin/ivr", "/wallboard?x=1&y=%20z", "/reports#today", "/recordings/%C3%A9"):
        assert safe_next(target) == target


async def test_login_never_redirects_off_site(world: World) -> None:
    client = await login_client(world)
    try:
        for target in HOSTILE_NEXT:
            # Through the login page's link, as the finding did: the page must not keep it.
            page = await client.get("/login", params={"next": target})
            assert 'name="next" value=""' in await page.text(), target
            status, location, _ = await submit_login(client, "agent", PASSWORD, next_=target)
            assert (status, location) == (303, "/agent"), target
            await client.post("/logout", data={"csrf_token": await _csrf(client)})
    finally:
        await client.close()


async def test_login_redirect_of_the_finding(world: World) -> None:
    client = await login_client(world)
    try:
        page = await client.get("/login?next=/%09/evil.example/phish")
        html = await page.text()
        assert 'name="next" value=""' in html
        status, location, _ = await submit_login(
            client, "admin", PASSWORD, next_="/\t/evil.example/phish"
        )
        assert (status, location) == (303, "/admin/users")
    finally:
        await client.close()


async def _csrf(client: ClientSession) -> str:
    return str((await (await client.get("/api/me")).json())["csrf_token"])


async def test_login_form_needs_its_csrf_token(world: World) -> None:
    client = await login_client(world)
    try:
        status, _, text = await submit_login(client, "agent", PASSWORD, token="forged")
        assert status == 400
        assert "expired" in text
        assert COOKIE not in {c.key for c in client.cookie_jar}
    finally:
        await client.close()


async def test_wrong_passwords_lock_the_user_out_from_that_address(world: World) -> None:
    client = await login_client(world)
    try:
        for left in (4, 3, 2, 1):
            status, _, text = await submit_login(client, "agent", "wrong password!")
            assert status == 401
            assert "Wrong organisation, username or password" in text
            assert f"{left} more tr" in text
        status, _, text = await submit_login(client, "agent", "wrong password!")
        assert status == 429
        assert "locked from your address for 15 minutes" in text
        # Even the right password is refused while locked.
        status, _, text = await submit_login(client, "agent", PASSWORD)
        assert status == 429
        assert "14 minutes more" in text or "15 minutes more" in text
        # Another user from the same address is not locked.
        other = await login_client(world)
        status, location, _ = await submit_login(other, "manager", PASSWORD)
        await other.close()
        assert (status, location) == (303, "/wallboard")
        world.clock.advance(minutes=15, seconds=1)
        status, location, _ = await submit_login(client, "agent", PASSWORD)
        assert (status, location) == (303, "/agent")
    finally:
        await client.close()


async def _attempt(world: World, username: str, password: str, tenant: str = "acme"
                   ) -> tuple[int, str, str]:
    """One login from a fresh browser; (status, Location, Retry-After)."""
    client = await login_client(world)
    try:
        status, location, _ = await submit_login(client, username, password, tenant=tenant)
        return status, location, LAST_RETRY_AFTER[0]
    finally:
        await client.close()


async def test_many_failures_from_one_address_slow_it_down_and_lock_nobody_out(
    world: World,
) -> None:
    # The finding: 50 failed logins from one address locked out everyone behind it for
    # 15 minutes, the right password of another tenant's user too.
    assert (await _attempt(world, "manager", PASSWORD, tenant="globex"))[0] == 303  # yesterday
    world.clock.advance(hours=20)
    checked = []
    for n in range(50):  # someone behind the same address tries many accounts, once a second
        status, _, retry_after = await _attempt(world, f"user{n}", "guess number one")
        if status == 401:
            checked.append(n)
        else:
            assert status == 429 and 1 <= int(retry_after) <= 60
        world.clock.advance(seconds=1)
    # Ten tries at full speed, then each failure doubles the wait: 1, 2, 4, 8, 16 s...
    assert checked == [*range(10), 10, 12, 16, 24, 40]
    # A user who logged in from here before is not slowed at all, whatever the tenant.
    assert (await _attempt(world, "manager", PASSWORD, tenant="globex"))[:2] == (303, "/wallboard")
    # A first login from here waits seconds, not a lockout, and no longer than a minute.
    status, _, retry_after = await _attempt(world, "supervisor", PASSWORD)
    assert status == 429 and 1 <= int(retry_after) <= 60
    world.clock.advance(seconds=int(retry_after))
    assert (await _attempt(world, "supervisor", PASSWORD))[:2] == (303, "/wallboard")


def test_the_wait_doubles_up_to_a_minute() -> None:
    policy = LoginPolicy()
    waits = [policy.delay(n, policy.slow_after_per_ip).total_seconds() for n in range(18)]
    assert waits == [0] * 10 + [1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.delay(10**6, 20) == timedelta(minutes=1)


async def test_guessing_one_account_from_many_addresses_is_slowed_too(world: World) -> None:
    assert (await _attempt(world, "agent", PASSWORD))[0] == 303  # the owner, from here
    desk = world.site.login_desk
    for n in range(20):  # five wrong passwords each from four addresses
        with pytest.raises(LoginRefused):
            await desk.login("acme", "agent", "guess", f"192.0.2.{n // 5}")
    for n in range(40, 46):  # the next addresses meet the wait...
        with pytest.raises(LoginRefused, match="try again in") as refused:
            await desk.login("acme", "AGENT", PASSWORD, f"192.0.2.{n}")
        assert refused.value.retry_after is not None
        assert refused.value.retry_after <= timedelta(seconds=1)
    world.clock.advance(seconds=1)
    with pytest.raises(LoginRefused, match="Wrong organisation"):
        await desk.login("acme", "agent", "guess", "192.0.2.50")  # ...a guess once it is over
    with pytest.raises(LoginRefused, match="try again in 2 seconds"):
        await desk.login("acme", "agent", PASSWORD, "192.0.2.51")
    # The owner, where they logged in before, is not slowed; nor is anyone else's account.
    assert (await _attempt(world, "agent", PASSWORD))[:2] == (303, "/agent")
    who = await desk.login("acme", "supervisor", PASSWORD, "192.0.2.52")
    assert who.user_id == world.person("acme", Role.SUPERVISOR).user_id


async def test_a_known_account_is_still_locked_after_guessing_its_password(world: World) -> None:
    # Logging in from an address before spares an account the address's slow-down, not the
    # limit on guessing its own password from there.
    assert (await _attempt(world, "agent", PASSWORD))[0] == 303
    for _ in range(4):
        assert (await _attempt(world, "agent", "not the password"))[0] == 401
    status, _, retry_after = await _attempt(world, "agent", "not the password")
    assert (status, retry_after) == (429, "900")
    assert (await _attempt(world, "agent", PASSWORD))[0] == 429
    assert (await _attempt(world, "agent", PASSWORD, tenant="globex"))[0] == 303


async def test_unknown_user_reads_like_a_wrong_password(world: World) -> None:
    client = await login_client(world)
    try:
        status, _, unknown = await submit_login(client, "nobody", PASSWORD)
        assert status == 401
        status, _, wrong = await submit_login(client, "agent", "not the password")
        assert status == 401
        message = re.compile(r'data-testid="login-error">([^<]*)<')
        assert message.search(unknown).group(1) == message.search(wrong).group(1)  # type: ignore[union-attr]
    finally:
        await client.close()


async def test_disabled_user_cannot_log_in_and_loses_sessions(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(
        admin, "PATCH", f"/api/users/{agent.user_id}", {"disabled": True}
    )
    assert response.status == 200
    assert (await world.request(agent, "GET", "/api/me")).status == 401
    client = await login_client(world)
    try:
        status, _, _ = await submit_login(client, "agent", PASSWORD)
        assert status == 401
    finally:
        await client.close()


async def test_sessions_end_after_idle_time_and_absolute_time(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    world.clock.advance(hours=1, minutes=59)
    assert (await world.request(agent, "GET", "/api/me")).status == 200
    world.clock.advance(hours=1, minutes=59)  # active within the idle limit: still valid
    assert (await world.request(agent, "GET", "/api/me")).status == 200
    world.clock.advance(hours=2)
    assert (await world.request(agent, "GET", "/api/me")).status == 401
    async with world.db.session() as session:
        assert await session.get(WebSession, session_id(agent.token)) is None

    agent = await world.log_in(world.person("acme", Role.AGENT))
    for _ in range(6):  # busy all day, but a login lasts 12 hours at most
        world.clock.advance(hours=1, minutes=50)
        assert (await world.request(agent, "GET", "/api/me")).status == 200
    world.clock.advance(hours=1, minutes=50)
    assert (await world.request(agent, "GET", "/api/me")).status == 401


async def test_a_stop_lets_the_purge_under_way_finish(world: World, caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    """A stop right after a start, the database busy (flaky in the full suite): the first purge
    was cancelled mid-query and SQLAlchemy logged an ERROR with a traceback; it now finishes."""
    agent = await world.log_in(world.person("acme", Role.AGENT))
    world.clock.advance(hours=13)  # past the absolute limit: the purge's to remove
    database = world.db.engine.url.database
    assert database
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another writer: the purge waits for it
    second = TestClient(TestServer(web_app(world.app[CONTEXT], [])))
    await second.start_server()  # its housekeeping's first purge starts now, and waits
    asyncio.get_running_loop().call_later(0.5, writer.execute, "ROLLBACK")
    await second.close()
    writer.close()
    async with world.db.session() as session:
        assert await session.get(WebSession, session_id(agent.token)) is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_changes_need_the_csrf_token(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    body = {"state": "available"}
    cookie_only = {"Cookie": f"{COOKIE}={agent.token}"}
    response = await world.client.put("/api/me/agent/state", json=body, headers=cookie_only)
    assert response.status == 403
    assert (await response.json())["error"] == "csrf"
    wrong = {**cookie_only, "X-CSRF-Token": "x" * 43}
    response = await world.client.put("/api/me/agent/state", json=body, headers=wrong)
    assert response.status == 403
    response = await world.request(agent, "PUT", "/api/me/agent/state", body)
    assert response.status == 200


async def test_logout_and_logout_everywhere(world: World) -> None:
    agent = world.person("acme", Role.AGENT)
    first = await world.log_in(agent)
    second = Person(**{**first.__dict__})
    await world.log_in(second)
    other = await world.log_in(world.person("acme", Role.MANAGER))

    response = await world.request(first, "POST", "/logout")
    assert (response.status, response.headers["Location"]) == (303, "/login?bye=1")
    assert (await world.request(first, "GET", "/api/me")).status == 401
    assert (await world.request(second, "GET", "/api/me")).status == 200

    third = Person(**{**second.__dict__})
    await world.log_in(third)
    response = await world.request(second, "POST", "/logout/everywhere")
    assert response.status == 303
    assert (await world.request(second, "GET", "/api/me")).status == 401
    assert (await world.request(third, "GET", "/api/me")).status == 401
    assert (await world.request(other, "GET", "/api/me")).status == 200


async def test_password_change_ends_sessions_and_new_password_works(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    agent = await world.log_in(world.person("acme", Role.AGENT))
    short = await world.request(
        admin, "PATCH", f"/api/users/{agent.user_id}", {"password": "short"}
    )
    assert short.status == 400
    assert (await short.json())["fields"] == {"password": "must be at least 8 characters"}
    response = await world.request(
        admin, "PATCH", f"/api/users/{agent.user_id}", {"password": "a brand new secret"}
    )
    assert response.status == 200
    assert (await world.request(agent, "GET", "/api/me")).status == 401
    async with world.db.session() as session:
        row = await session.get(User, agent.user_id)
        assert row is not None and row.password_hash and row.password_hash.startswith("$argon2id$")
    client = await login_client(world)
    try:
        status, location, _ = await submit_login(client, "agent", "a brand new secret")
        assert (status, location) == (303, "/agent")
    finally:
        await client.close()


async def test_admins_cannot_lock_themselves_out(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    for change in ({"disabled": True}, {"role": "manager"}):
        response = await world.request(admin, "PATCH", f"/api/users/{admin.user_id}", change)
        assert response.status == 409


async def test_pages_send_visitors_to_login_and_wrong_roles_get_a_page(world: World) -> None:
    response = await world.request(None, "GET", "/wallboard?x=1")
    assert response.status == 303
    location = URL(response.headers["Location"])
    assert (location.path, location.query["next"]) == ("/login", "/wallboard?x=1")
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(agent, "GET", "/admin/users")
    assert response.status == 403
    assert "not available to your role" in await response.text()


async def test_pages_carry_security_headers(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    response = await world.request(agent, "GET", "/agent")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    html = await response.text()
    assert f'name="csrf-token" content="{agent.csrf}"' in html


async def test_hash_password_for_the_cli_logs_in(world: World) -> None:
    with pytest.raises(ValueError, match="at least 8 characters"):
        hash_password("short")
    stored = hash_password("seeded by the demo")
    assert stored.startswith("$argon2id$")
    async with world.db.transaction() as tx:
        row = await tx.get(User, world.person("acme", Role.SUPERVISOR).user_id)
        assert row is not None
        row.password_hash = stored
    client = await login_client(world)
    try:
        status, location, _ = await submit_login(client, "supervisor", "seeded by the demo")
        assert (status, location) == (303, "/wallboard")
    finally:
        await client.close()


async def test_users_change_their_own_password(world: World) -> None:
    agent = world.person("acme", Role.AGENT)
    here = await world.log_in(agent)
    elsewhere = await world.log_in(Person(**{**agent.__dict__}))
    path = "/api/me/password"
    new = "my own new secret"

    async def change(who: Person | None, current: str, wanted: str, **kwargs: object) -> object:
        body = {"current_password": current, "new_password": wanted}
        return await world.request(who, "POST", path, body, **kwargs)

    assert (await change(None, PASSWORD, new)).status == 401
    no_csrf = await change(None, PASSWORD, new, headers={"Cookie": f"{COOKIE}={here.token}"})
    assert no_csrf.status == 403
    refused = {
        ("wrong password", new): {"current_password": "is not your current password"},
        (PASSWORD, "short"): {"new_password": "must be at least 8 characters"},
        (PASSWORD, PASSWORD): {"new_password": "must differ from your current password"},
        ("wrong password", "x"): {"current_password": "is not your current password",
                                  "new_password": "must be at least 8 characters"},
    }
    for (current, wanted), fields in refused.items():
        response = await change(here, current, wanted)
        assert response.status == 400
        assert (await response.json())["fields"] == fields
    response = await change(here, PASSWORD, new)
    assert response.status == 200
    assert await response.json() == {"other_sessions_ended": 1}
    assert (await world.request(here, "GET", "/api/me")).status == 200  # this session stays
    assert (await world.request(elsewhere, "GET", "/api/me")).status == 401
    client = await login_client(world)
    try:
        assert (await submit_login(client, "agent", PASSWORD))[0] == 401
        assert (await submit_login(client, "agent", new))[:2] == (303, "/agent")
    finally:
        await client.close()


async def test_guessing_the_current_password_meets_the_login_throttle(world: World) -> None:
    # A session left open must not let someone guess its password faster than the login page.
    agent = await world.log_in(world.person("acme", Role.AGENT))
    body = {"current_password": "a guess at it", "new_password": "taken over now"}
    statuses = [(await world.request(agent, "POST", "/api/me/password", body)).status
                for _ in range(6)]
    assert statuses == [400, 400, 400, 400, 429, 429]
    body["current_password"] = PASSWORD
    response = await world.request(agent, "POST", "/api/me/password", body)
    assert response.status == 429
    assert "locked from your address" in (await response.json())["message"]
