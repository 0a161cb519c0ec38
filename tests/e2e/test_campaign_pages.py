"""The campaigns page and the compliance settings in Chromium at a phone's width and a
desktop's: an admin makes a predictive campaign with the form, opens its dashboard (the tiles)
and starts it; sets calling hours and a callback cap, which read back after a reload. An agent
works a preview campaign on their page: sees the lead, skips it with a reason, calls the next.
A dashboard is redrawn by the feed (campaign:changed), not by polling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
import screenshots
from opened import log_in, opened
from playwright.async_api import Browser, Page, expect
from web_world import PASSWORD, World

from pbx_stasis.campaigns.core import CampaignSettings, Mode, Result
from pbx_stasis.campaigns.service import Campaigns
from pbx_stasis.leads.service import LEADS
from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()


@pytest_asyncio.fixture(loop_scope="module", params=[390, 1440], ids=["390px", "1440px"])
async def sized(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with opened(browser, int(request.param)) as page:
        yield page


async def test_an_admin_makes_starts_and_watches_a_campaign_and_sets_compliance(
    sized: Page, world: World
) -> None:
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    tenant_id = world.tenant_ids["acme"]
    await world.app[LEADS].lists.import_csv(
        tenant_id, f"phone\n+1415555{width:04d}\n", by="test", region="US",
        name=f"Spring list {width}")
    base = await log_in(page, world, Role.ADMIN)

    await page.goto(f"{base}/campaigns")
    form = page.get_by_test_id("campaign-form")
    await form.locator("#cp-name").fill(f"Spring {width}")
    await form.locator("#cp-list").select_option(label=f"Spring list {width} (1)")
    await form.locator("#cp-queue").select_option("support")
    await form.locator("#cp-mode").select_option("predictive")
    await form.locator("#cp-target").fill("2")
    await page.get_by_test_id("campaign-save").click()
    row = page.get_by_test_id("campaign-row").filter(has_text=f"Spring {width}")
    await expect(row).to_contain_text("draft")
    await expect(page.get_by_test_id("tile-leads")).to_contain_text("1")
    await expect(page.get_by_test_id("dash-state")).to_contain_text("target 2.0%")
    await page.get_by_test_id("dash-start").click()
    await expect(row).to_contain_text("running")
    await expect(page.get_by_test_id("dash-state")).to_contain_text("running · predictive")
    await page.screenshot(path=str(SCREENSHOTS / f"campaigns-{width}.png"), full_page=False)
    # A bad field is named, nothing saved.
    await form.locator("#cp-abandon").fill("http://evil")
    await page.get_by_test_id("campaign-save").click()
    await expect(page.get_by_test_id("campaign-errors")).to_contain_text("abandon_message")

    await page.goto(f"{base}/admin/compliance")
    # The fields are enabled once filled in (check() reads the box's state before it waits).
    await expect(page.get_by_test_id("hours-on")).to_be_enabled()
    await page.get_by_test_id("hours-on").check()
    await page.get_by_test_id("hours-start").fill("09:00")
    await page.get_by_test_id("hours-end").fill("20:00")
    await page.get_by_test_id("day-sun").uncheck()
    await page.get_by_test_id("callback-cap").fill("3")
    await page.get_by_test_id("compliance-save").click()
    # Saved before the reload (the errors' box is empty before the answer comes, too).
    await expect(page.get_by_text("Compliance settings saved")).to_be_visible()
    await expect(page.get_by_test_id("compliance-errors")).to_have_text("")
    await page.reload()
    await expect(page.get_by_test_id("hours-end")).to_have_value("20:00")
    await expect(page.get_by_test_id("callback-cap")).to_have_value("3")
    await expect(page.get_by_test_id("day-sun")).not_to_be_checked()
    await page.screenshot(path=str(SCREENSHOTS / f"compliance-{width}.png"), full_page=False)


async def test_an_agent_previews_skips_and_calls_campaign_leads(sized: Page, world: World
                                                                ) -> None:
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    tenant_id = world.tenant_ids["acme"]
    agent = world.person("acme", Role.AGENT)
    record = world.center.agent_records[(tenant_id, agent.user_id)]
    record.state = record.state.__class__("offline")  # idle: each width places a call
    listed, _ = await world.app[LEADS].lists.import_csv(
        tenant_id, f"name,phone\nAda {width},+1415556{width:04d}\n"
        f"Bob {width},+1415557{width:04d}\n", by="test", region="US",
        name=f"Preview list {width}")
    store = Campaigns(world.db)
    made = await store.create(tenant_id, CampaignSettings(
        name=f"Preview {width}", list_id=listed.id, queue="support", mode=Mode.PREVIEW),
        by="test")
    await store.command(tenant_id, made.id, "start")
    base = str(world.client.make_url("/")).rstrip("/")
    await page.goto(f"{base}/login")
    await page.fill("#tenant", "acme")
    await page.fill("#username", "agent")
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_load_state("load")
    await page.goto(f"{base}/agent")
    panel = page.get_by_test_id("campaign-preview")
    await expect(panel).to_be_visible()
    await panel.get_by_test_id("preview-campaign").select_option(label=f"Preview {width}")
    await panel.get_by_test_id("preview-next").click()
    await expect(panel.get_by_test_id("preview-name")).to_have_text(f"Ada {width}")
    await panel.get_by_test_id("preview-skip").click()
    await expect(panel.get_by_test_id("preview-error")).to_have_text(
        "Say why you skip this lead")
    await panel.get_by_test_id("preview-reason").fill("asked for next week")
    await panel.get_by_test_id("preview-skip").click()
    await expect(panel.get_by_test_id("preview-name")).to_have_text(f"Bob {width}")
    await expect(panel).not_to_contain_text("attempt 2")  # its first
    await panel.scroll_into_view_if_needed()
    await page.screenshot(path=str(SCREENSHOTS / f"campaign-preview-{width}.png"),
                          full_page=False)
    await panel.get_by_test_id("preview-call").click()
    await expect(panel.get_by_test_id("preview-calling")).to_contain_text(f"Bob {width}")
    assert ("dial", tenant_id, agent.user_id, f"+1415557{width:04d}") in world.center.asked
    results = [(a.number, a.result) for a in await store.attempts(tenant_id, made.id)]
    assert results == [(f"+1415556{width:04d}", "skipped"), (f"+1415557{width:04d}", "called")]


async def test_the_dashboard_is_redrawn_by_the_feed_not_by_polling(sized: Page, world: World
                                                                   ) -> None:
    """The dashboard follows campaign:changed: no request while nothing happens (the page used
    to poll every 2 s), a call placed and its outcome redraw the tiles and the attempts."""
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    tenant_id = world.tenant_ids["acme"]
    listed, _ = await world.app[LEADS].lists.import_csv(
        tenant_id, f"phone\n+1415558{width:04d}\n+1415559{width:04d}\n", by="test",
        region="US", name=f"Live list {width}")
    store = Campaigns(world.db, world.bus)  # as the dialler's: it publishes on the bus
    made = await store.create(tenant_id, CampaignSettings(
        name=f"Live {width}", list_id=listed.id, queue="support", mode=Mode.PROGRESSIVE),
        by="test")
    base = await log_in(page, world, Role.ADMIN)
    await page.goto(f"{base}/campaigns")
    await expect(page.get_by_test_id("feed-status")).to_have_text("Live")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/dashboard" in r.url else None)
    row = page.get_by_test_id("campaign-row").filter(has_text=f"Live {width}")
    await row.get_by_role("button", name="Dashboard").click()
    tile = page.get_by_test_id
    await expect(tile("tile-leads").locator("strong")).to_have_text("2")
    # The feed's first sync may reload the list (and so the dashboard) once more just after
    # the click: once no request came for 0.7 s, nothing is asked while nothing happens.
    settled = -1
    while settled != len(asked):
        settled = len(asked)
        await page.wait_for_timeout(700)
    assert 1 <= settled <= 3, asked
    await page.wait_for_timeout(2500)  # longer than the old poll: nothing asked meanwhile
    assert len(asked) == settled, asked

    await store.command(tenant_id, made.id, "start")  # state: the list redraws too
    await expect(row).to_contain_text("running")
    [pick] = await store.claim(made, 1, now=datetime.now(UTC))
    await expect(tile("tile-dialling").locator("strong")).to_have_text("1")
    await store.end(made, pick.attempt_id, Result.CONNECTED, now=datetime.now(UTC),
                    talk_s=12.0)
    await expect(tile("tile-connected").locator("strong")).to_have_text("1")
    await expect(tile("tile-dialling").locator("strong")).to_have_text("0")
    attempts = page.get_by_test_id("attempts")
    await expect(attempts).to_contain_text("connected")
    await expect(attempts).to_contain_text("12 s")
    # A redraw per change at most (a burst folds into one more): start, placed, ended.
    assert len(asked) - settled <= 6, asked
