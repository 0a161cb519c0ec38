"""The supervisor's pages in a real Chromium: live calls pushed over /ws with listen / whisper /
barge, and the recordings library with its seeking player.

The telephony side is the in-memory MemoryContactCenter, so the web process has no Supervision
object: the supervision API answers 503 there, and the page must say so plainly. The recordings
are real WAV files with rows in the database, played through the audited stream route.
Screenshots go to build/screenshots/{supervise,recordings}.png (see scripts/screenshots).
"""

from __future__ import annotations

import io
import math
import struct
import wave
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import screenshots
from opened import log_in
from playwright.async_api import Page, expect
from polling import eventually
from web_world import World

from pbx_stasis.config import RecordingSettings
from pbx_stasis.recording import RecordingKind, RecordingStore
from pbx_stasis.recording.library import RecordingLibrary
from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()


def tone_wav(seconds: float, hz: float = 440.0) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"".join(
            struct.pack("<h", round(6000 * math.sin(2 * math.pi * hz * n / 8000)))
            for n in range(int(seconds * 8000))
        ))
    return buffer.getvalue()



async def test_supervisor_sees_live_calls_and_a_clear_error_without_supervision(
    page: Page, world: World
) -> None:
    tenant_id = world.tenant_ids["acme"]
    agent = world.person("acme", Role.AGENT)
    manager = world.person("acme", Role.MANAGER)
    await log_in(page, world, Role.SUPERVISOR, "/supervise")
    nav_link = page.get_by_role("link", name="Live calls")
    await expect(nav_link).to_have_attribute("aria-current", "page")
    await expect(page.get_by_test_id("feed-status")).to_have_text("Live")
    await expect(page.locator("#live-empty")).to_be_visible()
    # The same softphone bundle as the agent page; no Asterisk here, so it is not registered.
    assert await page.evaluate("typeof window.PbxSoftphone") == "function"
    assert await page.evaluate("window.pbxSoftphone.registered") is False
    await expect(page.get_by_test_id("sv-available")).to_have_text("Supervision: unavailable")

    # Calls published on the bus reach the open page, with no polling.
    call_id = world.center.ring(tenant_id, agent.user_id, "+14155550123", queue="support")
    row = page.get_by_test_id(f"live-{call_id}")
    await expect(row).to_have_attribute("data-state", "ringing", timeout=1000)
    await expect(row.get_by_test_id("caller")).to_have_text("+14155550123")
    await expect(row.get_by_test_id("agent")).to_have_text("agent (acme)")
    await expect(row).to_contain_text("support")
    listen = page.get_by_test_id(f"listen-{call_id}")
    await expect(listen).to_be_disabled()  # not connected to the agent yet
    world.center.answer(call_id)
    await expect(row).to_have_attribute("data-state", "talking", timeout=1000)
    await expect(listen).to_be_enabled()
    await expect(page.get_by_test_id(f"stop-{call_id}")).to_be_disabled()
    other = world.center.ring(tenant_id, manager.user_id, "+442071838750", queue="sales")
    world.center.answer(other)
    await expect(page.get_by_test_id(f"live-{other}")).to_be_visible(timeout=1000)
    # The duration ticks in the page.
    first = await row.get_by_test_id("duration").text_content()
    await expect(row.get_by_test_id("duration")).not_to_have_text(first or "", timeout=2500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "supervise.png"))

    # Listen asks the supervision API; this process has no Supervision: 503, said plainly.
    async with page.expect_response(
        lambda r: r.url.endswith(f"/api/supervision/calls/{call_id}/listen")
    ) as asked:
        await listen.click()
    response = await asked.value
    assert response.request.method == "POST"
    assert response.status == 503
    error = page.get_by_test_id("supervise-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("Supervision is not available")
    await expect(page.get_by_test_id("sv-mode")).to_have_text("")
    await expect(listen).to_be_enabled()  # the page is still usable

    # A call that ends leaves the list.
    world.center.end(call_id)
    await expect(row).to_have_count(0, timeout=1000)
    world.center.end(other)
    await expect(page.locator("#live-empty")).to_be_visible()


async def test_who_may_open_the_pages(world: World) -> None:
    # /recordings is open to agents: the API decides by the tenant's rules (see the last test).
    allowed = {"/supervise": {Role.SUPERVISOR, Role.MANAGER, Role.ADMIN}, "/recordings": set(Role)}
    for path, roles in allowed.items():
        anonymous = await world.request(None, "GET", path)
        assert anonymous.status == 303, path
        for role in Role:
            who = await world.log_in(world.person("acme", role))
            response = await world.request(who, "GET", path)
            assert response.status == (200 if role in roles else 403), (path, role)


@pytest.fixture
def recordings_dir(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web process reads recordings from settings.recordings.dir: a folder of this test."""
    directory = tmp_path_factory.mktemp("recordings")
    ctx = world.site.ctx
    ctx.settings = replace(ctx.settings, recordings=RecordingSettings(dir=str(directory)))
    return directory


async def test_manager_filters_plays_and_downloads_a_recording(
    page: Page, world: World, recordings_dir: Path
) -> None:
    tenant_id = world.tenant_ids["acme"]
    agent = world.person("acme", Role.AGENT)
    store = RecordingStore(world.db, recordings_dir)
    # The seeded call "a"*32: the agent's, disposition Sale, from +14155550100.
    record = await store.keep(
        tone_wav(3.0),
        name="e2e-recording",
        fmt="wav",
        tenant_id=tenant_id,
        call_id="a" * 32,
        kind=RecordingKind.CALL,
        started_at=datetime(2026, 11, 20, 14, 30, tzinfo=UTC),
        queue="support",
        agent_user_id=agent.user_id,
    )
    await log_in(page, world, Role.MANAGER, "/recordings")
    row = page.get_by_test_id(f"rec-{record.id}")
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("Sale")
    await expect(row).to_contain_text("0:03")
    await expect(row).to_contain_text("Agent of Acme")

    # Filters go to the API: another disposition hides it, its own shows it again.
    await page.select_option("#f-disposition", "Resolved")
    await page.click("#rec-search")
    await expect(row).to_have_count(0)
    await expect(page.locator("#rec-empty")).to_be_visible()
    await page.select_option("#f-disposition", "Sale")
    await page.select_option("#f-agent", str(agent.user_id))
    await page.fill("#f-from", "2026-11-20")
    await page.fill("#f-to", "2026-11-20")
    await page.click("#rec-search")
    await expect(row).to_be_visible()
    await page.fill("#f-from", "2026-11-21")
    await page.fill("#f-to", "2026-11-20")
    await page.click("#rec-search")
    await expect(page.get_by_test_id("rec-errors")).to_contain_text("to: must not be before from")
    await page.click("#rec-reset")
    await expect(row).to_be_visible()

    # Play: the player streams from the audited route and can seek (HTTP Range).
    await row.get_by_test_id("play").click()
    player = page.get_by_test_id("player")
    audio_url = f"/api/recordings/{record.id}/audio"
    src = await player.get_attribute("src")
    assert src == audio_url

    async def loaded() -> bool:
        # The player read the WAV header through the stream route: it knows the length.
        seconds = await page.evaluate("document.querySelector('#player').duration")
        return isinstance(seconds, int | float) and seconds > 2.9

    await eventually(loaded)
    await page.evaluate("document.querySelector('#player').currentTime = 2")
    await expect(page.get_by_test_id("player-download")).to_have_attribute(
        "href", f"/api/recordings/{record.id}/download"
    )
    await expect(row.get_by_test_id("download")).to_have_attribute(
        "href", f"/api/recordings/{record.id}/download"
    )
    library = RecordingLibrary(world.db, recordings_dir)

    async def played() -> bool:
        rows = await library.accesses(tenant_id, record.id)
        return any(a.action == "play" and (a.byte_range or "").startswith("bytes=") for a in rows)

    await eventually(played)
    await page.screenshot(path=str(SCREENSHOTS / "recordings.png"))

    # Downloading goes through the API too, and is audited.
    async with page.expect_download() as downloading:
        await row.get_by_test_id("download").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".wav")

    async def downloaded() -> bool:
        rows = await library.accesses(tenant_id, record.id)
        return any(a.action == "download" for a in rows)

    await eventually(downloaded)


async def test_agents_see_why_they_cannot_hear_recordings(page: Page, world: World) -> None:
    await log_in(page, world, Role.AGENT, "/recordings")
    await expect(page.get_by_test_id("rec-errors")).to_contain_text(
        "does not let agents hear recordings"
    )
    await expect(page.get_by_role("link", name="Recordings")).to_have_count(0)
