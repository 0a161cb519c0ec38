"""Evaluating a recorded call in a real Chromium: a supervisor (1440 px) plays a recording of the
agent's, sees its audio quality per leg beside the player, picks the demo's scorecard, finds the
questions the insights answer pre-filled (greeting and listening yes, closing no), changes the
closing answer, answers the rest with a comment, and saves; the agent (390 px, a phone) finds
the evaluation on their evaluations page with the comment, and disputes it.

Screenshots: build/screenshots/evaluation-{1440,390}.png.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import screenshots
from opened import opened
from playwright.async_api import Browser, Page, expect
from test_supervisor_pages import log_in, tone_wav
from web_world import World

from pbx_stasis.analytics.insights import CategoryRule, LeadRules, Line, insights_of
from pbx_stasis.analytics.speech import Interval
from pbx_stasis.analytics.store import DONE, AnalyticsStore
from pbx_stasis.config import RecordingSettings
from pbx_stasis.demo import SCORECARD
from pbx_stasis.evaluations.model import ScorecardFields
from pbx_stasis.evaluations.service import EVALUATIONS
from pbx_stasis.quality.tables import CallQualityRow
from pbx_stasis.recording import RecordingKind, RecordingStore
from pbx_stasis.store import utc_now
from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()
CALL_ID = "e" * 31 + "1"
LINES = [Line("agent", 0.4, 1.8, "good morning how can I help you"),
         Line("customer", 2.4, 3.6, "we would like to buy it"),
         Line("agent", 4.4, 5.6, "I will send the quote today")]


async def _recorded_call(world: World, directory: Path) -> str:
    """The agent's recorded call with its transcript, insights and quality; its recording id."""
    tenant_id = world.tenant_ids["acme"]
    agent = world.person("acme", Role.AGENT)
    await world.add_call("acme", call_id=CALL_ID, from_number="+14155550123",
                         agent=agent)
    record = await RecordingStore(world.db, directory).keep(
        tone_wav(6.0), name="e2e-evaluation", fmt="wav", tenant_id=tenant_id,
        call_id=CALL_ID, kind=RecordingKind.CALL, agent_user_id=agent.user_id,
        started_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC), queue="sales")
    speech = {"agent": [Interval(0.4, 1.8), Interval(4.4, 5.6)],
              "customer": [Interval(2.4, 3.6)]}
    rules = [CategoryRule("greeting", ("good morning",), "agent"),
             CategoryRule("closing", ("anything else",), "agent")]
    await AnalyticsStore(world.db).save(
        record, status=DONE, language="en", engine="pocketsphinx", audio_seconds=6.0,
        lines=LINES, insights=insights_of(speech, 6.0, LINES, rules, LeadRules()))
    async with world.db.transaction() as tx:
        tx.add_all(CallQualityRow(
            tenant_id=tenant_id, call_id=CALL_ID, leg=leg, mes=mes, min_mes=mes,
            jitter_ms=jitter, lost=lost, received=400, rtt_ms=0.0, at=utc_now())
            for leg, mes, jitter, lost in (("customer", 20.0, 38.5, 100), ("agent", 88.1, 1.2, 0)))
    await world.app[EVALUATIONS].save_scorecard(
        tenant_id, ScorecardFields.model_validate(SCORECARD), world.person("acme", Role.ADMIN)
        .user_id)
    return record.id


async def test_a_supervisor_scores_a_recording_and_the_agent_disputes_it(
    page: Page, browser: Browser, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("recordings")
    ctx = world.site.ctx
    ctx.settings = replace(ctx.settings, recordings=RecordingSettings(dir=str(directory)))
    recording_id = await _recorded_call(world, directory)

    await log_in(page, world, Role.SUPERVISOR, "/recordings")
    await page.get_by_test_id(f"rec-{recording_id}").get_by_test_id("play").click()
    await page.evaluate("document.querySelector('#player').pause()")
    quality = page.get_by_test_id("call-quality")
    await expect(quality).to_contain_text("Customer")
    await expect(quality).to_contain_text("20 (poor)")
    await expect(quality).to_contain_text("88.1")

    panel = page.get_by_test_id("evaluation-panel")
    await expect(panel).to_be_visible()
    await panel.get_by_test_id("eval-scorecard").select_option(label=SCORECARD["name"])
    await expect(panel.get_by_test_id("auto-greeting")).to_have_text("auto: yes")
    await expect(panel.get_by_test_id("auto-listening")).to_have_text("auto: yes")
    await expect(panel.get_by_test_id("auto-closing")).to_have_text("auto: no")
    await expect(panel.get_by_test_id("q-greeting-yes")).to_be_checked()
    await expect(panel.get_by_test_id("q-closing-no")).to_be_checked()
    await expect(panel.get_by_test_id("question-greeting")).to_contain_text(
        'category greeting found (agent: "good morning")')

    # Saving with questions left unanswered says which.
    await panel.get_by_test_id("eval-save").click()
    await expect(panel.get_by_test_id("eval-errors")).to_contain_text(
        "Verified the caller's identity")

    await panel.get_by_test_id("q-closing-yes").check()  # the supervisor overrides the insights
    await panel.get_by_test_id("q-verified-yes").check()
    await panel.get_by_test_id("q-tone").select_option("4")
    await panel.get_by_test_id("q-resolution").select_option("Resolved")
    await panel.get_by_test_id("question-tone").locator("textarea").fill(
        "Warm, but rushed the goodbye")
    await page.screenshot(path=str(SCREENSHOTS / "evaluation-1440.png"), full_page=True)
    await panel.get_by_test_id("eval-save").click()
    # 2 + 2 + 1 + 3 x 4/5 + 3 + 1 = 11.4 of 12 points.
    await expect(panel.get_by_test_id("eval-result")).to_have_text(
        "Saved: 95% (automatic answers changed: closing)")
    await expect(panel.get_by_test_id("eval-done")).to_contain_text(
        f"{SCORECARD['name']}: 95%")

    async with opened(browser, 390, 844) as phone:
        await log_in(phone, world, Role.AGENT, "/evaluations")
        row = phone.locator("#ev-rows tr")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("95%")
        await expect(row.get_by_test_id("ev-status")).to_have_text("submitted")
        await row.click()
        detail = phone.get_by_test_id("ev-detail")
        await expect(detail.get_by_test_id("ev-score")).to_have_text("95%")
        await expect(detail.get_by_test_id("ev-answer-tone")).to_have_text("4 / 5")
        await expect(detail.get_by_test_id("ev-comment-tone")).to_have_text(
            "Warm, but rushed the goodbye")
        await expect(detail).to_contain_text("auto, changed")
        # A dispute needs a comment.
        await phone.get_by_test_id("ev-dispute").click()
        await expect(phone.get_by_test_id("ev-reply-errors")).to_have_text(
            "say what you dispute")
        await phone.get_by_test_id("ev-reply-comment").fill("I did offer more help at 0:05")
        await phone.get_by_test_id("ev-dispute").click()
        await expect(row.get_by_test_id("ev-status")).to_have_text("disputed")
        await expect(detail.get_by_test_id("ev-agent-comment")).to_contain_text(
            "I did offer more help")
        await expect(phone.get_by_test_id("ev-reply")).to_be_hidden()
        await phone.screenshot(path=str(SCREENSHOTS / "evaluation-390.png"), full_page=True)

    # The supervisor sees the dispute in the agent's list, with the average per agent.
    await page.goto(page.url.replace("/recordings", "/evaluations"))
    await expect(page.get_by_test_id("ev-averages")).to_contain_text("95.0% over 1")
    await expect(page.locator("#ev-rows tr").get_by_test_id("ev-status")).to_have_text(
        "disputed")
