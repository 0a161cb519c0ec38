"""Fixtures of the browser tests: the web app on a free port, and the system Chromium.

Playwright drives Debian's /usr/bin/chromium (never a downloaded browser). Until the lead's
e2e runs against the sandbox Asterisk, the telephony side here is the in-memory
MemoryContactCenter of the web unit tests, so these tests check the pages, not calls.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

# The web world (database, tenants, users, fake telephony) lives with the web unit tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "web"))

from opened import opened
from playwright.async_api import Browser, Page, async_playwright
from web_world import World, build_world, close_world

CHROMIUM = os.environ.get("PBX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
WEB = Path(__file__).resolve().parents[2] / "web"


def closed_port() -> int:
    """A local port nothing listens on: the softphone's SIP WebSocket, refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def page_bundles() -> Path:
    """web/static/build, with the bundle of every page entry (web/src/pages/*.js)."""
    build = WEB / "static" / "build"
    missing = [entry.name for entry in sorted((WEB / "src" / "pages").glob("*.js"))
               if not (build / entry.name).is_file()]
    if missing:
        pytest.fail(f"{build} lacks {', '.join(missing)}: run `npm ci && npm run build` in web/")
    return build


@pytest.fixture(scope="session")
def chromium() -> str:
    if not os.path.isfile(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (or set PBX_TEST_CHROMIUM)")
    return CHROMIUM


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, page_bundles: Path
) -> AsyncIterator[World]:
    built = await build_world(sqlite_template, tmp_path_factory.mktemp("e2e"))
    built.center.sip_ws_url = f"ws://127.0.0.1:{closed_port()}/ws"
    try:
        yield built
    finally:
        await close_world(built)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh desktop-sized page (1440 x 900); any JavaScript error on it fails the test."""
    async with opened(browser) as fresh:
        yield fresh
