"""The transcript beside the recordings page's player, in a real Chromium: the line being heard
is highlighted as the audio plays, a click on a line seeks there, the call's insights show above
it, and a search across transcripts opens the recording at the line found.

Screenshots: build/screenshots/transcript-{1440,390}.png.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import screenshots
from playwright.async_api import Page, expect
from polling import eventually
from test_supervisor_pages import log_in, tone_wav
from web_world import World

from pbx_stasis.analytics.insights import CategoryRule, LeadRules, Line, insights_of
from pbx_stasis.analytics.speech import Interval
from pbx_stasis.analytics.store import DONE, AnalyticsStore
from pbx_stasis.config import RecordingSettings
from pbx_stasis.recording import RecordingKind, RecordingStore
from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()
LINES = [Line("agent", 0.4, 1.8, "good morning how can I help you"),
         Line("customer", 2.4, 3.6, "we would like to buy it"),
         Line("agent", 4.4, 5.6, "can you call me tomorrow")]


async def test_the_transcript_follows_the_player_and_seeks_on_click(
    page: Page, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory: Path = tmp_path_factory.mktemp("recordings")
    ctx = world.site.ctx
    ctx.settings = replace(ctx.settings, recordings=RecordingSettings(dir=str(directory)))
    tenant_id = world.tenant_ids["acme"]
    record = await RecordingStore(world.db, directory).keep(
        tone_wav(6.0), name="e2e-transcript", fmt="wav", tenant_id=tenant_id,
        call_id="a" * 32, kind=RecordingKind.CALL,
        started_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC), queue="sales")
    speech = {"agent": [Interval(0.4, 1.8), Interval(4.4, 5.6)],
              "customer": [Interval(2.4, 3.6)]}
    await AnalyticsStore(world.db).save(
        record, status=DONE, language="en", engine="pocketsphinx", audio_seconds=6.0,
        lines=LINES, insights=insights_of(speech, 6.0, LINES,
                                          [CategoryRule("buying", ("buy",))],
                                          LeadRules({"buying": 60.0}, threshold=50.0)))

    await log_in(page, world, Role.MANAGER, "/recordings")
    await page.get_by_test_id(f"rec-{record.id}").get_by_test_id("play").click()
    lines = page.get_by_test_id("transcript-lines")
    await expect(lines.locator(".line")).to_have_count(3)
    await expect(page.get_by_test_id("line-1")).to_contain_text("Customer")
    await expect(page.get_by_test_id("lead")).to_contain_text("hot lead (60")
    await expect(page.get_by_test_id("insights")).to_contain_text("buying")

    async def duration() -> float:
        seconds = await page.evaluate("document.querySelector('#player').duration")
        return float(seconds) if isinstance(seconds, int | float) else 0.0

    await eventually(duration, until=lambda seconds: seconds > 5.9)
    await page.evaluate("() => { const p = document.querySelector('#player'); p.pause(); "
                        "p.currentTime = 2.6; }")
    await expect(page.get_by_test_id("line-1")).to_have_class(re.compile(r"\bcurrent\b"))
    await expect(page.get_by_test_id("line-0")).not_to_have_class(re.compile(r"\bcurrent\b"))

    await page.get_by_test_id("line-2").click()  # seeks to its start (4.4 s)
    await expect(page.get_by_test_id("line-2")).to_have_class(re.compile(r"\bcurrent\b"))
    at = await page.evaluate("document.querySelector('#player').currentTime")
    assert 4.3 <= at < 5.6, at
    await page.evaluate("document.querySelector('#player').pause()")
    await page.screenshot(path=str(SCREENSHOTS / "transcript-1440.png"), full_page=True)

    # Search across the tenant's transcripts: a result opens its recording at the line.
    await page.fill("#t-q", "tomorrow")
    await page.get_by_test_id("transcript-search").get_by_role("button").click()
    hit = page.get_by_test_id("transcript-results").get_by_role("button")
    await expect(hit).to_have_count(1)
    await expect(hit).to_contain_text("Agent at 0:04: can you call me tomorrow")
    await page.evaluate("document.querySelector('#player').currentTime = 0")
    await hit.click()
    await expect(page.get_by_test_id("line-2")).to_have_class(re.compile(r"\bcurrent\b"))

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.get_by_test_id("transcript-panel").scroll_into_view_if_needed()
    await page.evaluate("document.querySelector('#player').pause()")
    await page.screenshot(path=str(SCREENSHOTS / "transcript-390.png"), full_page=True)
