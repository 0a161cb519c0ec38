"""The campaigns page and the compliance settings in Chromium at a phone's width and a
desktop's: an admin makes a predictive campaign with the form, opens its dashboard (the tiles)
and starts it; sets calling hours and a callback cap, which read back after a reload."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import screenshots
from opened import opened
from playwright.async_api import Browser, Page, expect
from web_world import PASSWORD, World

from pbx_stasis.leads.service import LEADS
from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()


@pytest_asyncio.fixture(loop_scope="module", params=[390, 1440], ids=["390px", "1440px"])
async def sized(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with opened(browser, int(request.param)) as page:
        yield page


async def _log_in(page: Page, world: World) -> str:
    base = str(world.client.make_url("/")).rstrip("/")
    await page.goto(f"{base}/login")
    await page.fill("#tenant", "acme")
    await page.fill("#username", Role.ADMIN.value)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_load_state("load")
    return base


async def test_an_admin_makes_starts_and_watches_a_campaign_and_sets_compliance(
    sized: Page, world: World
) -> None:
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    tenant_id = world.tenant_ids["acme"]
    await world.app[LEADS].lists.import_csv(
        tenant_id, f"phone\n+1415555{width:04d}\n", by="test", region="US",
        name=f"Spring list {width}")
    base = await _log_in(page, world)

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
    await page.get_by_test_id("hours-on").check()
    await page.get_by_test_id("hours-start").fill("09:00")
    await page.get_by_test_id("hours-end").fill("20:00")
    await page.get_by_test_id("day-sun").uncheck()
    await page.get_by_test_id("callback-cap").fill("3")
    await page.get_by_test_id("compliance-save").click()
    await expect(page.get_by_test_id("compliance-errors")).to_have_text("")
    await page.reload()
    await expect(page.get_by_test_id("hours-end")).to_have_value("20:00")
    await expect(page.get_by_test_id("callback-cap")).to_have_value("3")
    await expect(page.get_by_test_id("day-sun")).not_to_be_checked()
    await page.screenshot(path=str(SCREENSHOTS / f"compliance-{width}.png"), full_page=False)
