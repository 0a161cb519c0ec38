"""Behind a reverse proxy: X-Forwarded-For / -Proto are believed only from trusted proxies."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import ClientSession, CookieJar
from sqlalchemy import select
from test_web_auth import submit_login
from web_world import PASSWORD, World, build_world, close_world

from pbx_stasis.config import ConfigError, WebSettings, load_settings
from pbx_stasis.web.forwarded import forwarded, parse_networks
from pbx_stasis.web.tables import WebSession

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(("peer", "xff", "proto", "expected"), [
    # a trusted proxy: the rightmost address that is not a proxy, the nearest proxy's scheme
    ("127.0.0.1", "203.0.113.9", "https", ("203.0.113.9", "https")),
    ("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", "http,https", ("203.0.113.9", "https")),
    ("10.9.9.9", "10.1.1.1, 10.2.2.2", None, ("10.1.1.1", None)),  # only proxies: the first
    ("::1", "2001:db8::7", "HTTPS", ("2001:db8::7", "https")),
    ("127.0.0.1", None, "gopher", (None, None)),
    # anyone else: the headers are ignored, whatever they say
    ("198.51.100.1", "203.0.113.9", "https", (None, None)),
    (None, "203.0.113.9", "https", (None, None)),
])
def test_only_trusted_proxies_are_believed(
    peer: str | None, xff: str | None, proto: str | None,
    expected: tuple[str | None, str | None],
) -> None:
    assert forwarded(peer, xff, proto, PROXIES) == expected
    assert forwarded(peer, xff, proto, ()) == (None, None)


def test_a_proxy_that_is_not_an_address_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "pbx.toml"
    config.write_text("")
    with pytest.raises(ConfigError) as bad:
        load_settings(config, {"PBX_TRUSTED_PROXIES": "127.0.0.1,proxy.lan"})
    assert "PBX_TRUSTED_PROXIES" in str(bad.value) and "proxy.lan" in str(bad.value)
    settings = load_settings(config, {"PBX_TRUSTED_PROXIES": "127.0.0.1, ::1"})
    assert settings.web.trusted_proxies == ("127.0.0.1", "::1")


async def _login_ip_and_secure(world: World) -> tuple[str, bool]:
    """The address a login's session records, and whether the cookies are Secure, for a
    request that says it came from 198.51.100.7 (and, for the cookie, over HTTPS)."""
    url = world.client.make_url("/")
    client = ClientSession(base_url=url, cookie_jar=CookieJar(unsafe=True),
                           headers={"X-Forwarded-For": "198.51.100.7"})
    try:
        page = await client.get("/login", headers={"X-Forwarded-Proto": "https"})
        cookie = page.headers.getone("Set-Cookie")
        client.cookie_jar.clear()
        status, _, _ = await submit_login(client, "agent", PASSWORD)
        assert status == 303
    finally:
        await client.close()
    secure = "secure" in {part.strip().lower() for part in cookie.split(";")[1:]}
    async with world.db.session() as session:
        [ip] = (await session.scalars(select(WebSession.ip))).all()
    return ip, secure


async def test_the_session_records_the_client_behind_a_trusted_proxy(
    sqlite_template: Path, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    trusting = await build_world(sqlite_template, tmp_path / "a",
                                 web_settings=WebSettings(trusted_proxies=("127.0.0.1",)))
    try:
        assert await _login_ip_and_secure(trusting) == ("198.51.100.7", True)
    finally:
        await close_world(trusting)
    plain = await build_world(sqlite_template, tmp_path / "b")
    try:
        assert await _login_ip_and_secure(plain) == ("127.0.0.1", False)
    finally:
        await close_world(plain)
