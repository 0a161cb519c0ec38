"""The integrations page's forms in a real Chromium. At 1440 px, the settings: what the admin
types is never overwritten by the page's own load of the saved settings arriving late. The page
sends a handful of requests at once (tokens, webhooks, CRM, masking, virtual numbers); under load
the settings' answer came after the admin had typed, reset the field, and the CRM form saved the
old value without its error (test_crm_link_live's "#crm-errors stayed empty"). Here the
settings' answers are held back by the browser for a second (the server's real answer, late).
At 390 px, virtual numbers: the admin sets the pool, maps two parties, and revokes the mapping by
hand; the page never scrolls sideways.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from opened import opened
from playwright.async_api import Browser, Page, Route, expect
from test_e2e_pages import log_in
from web_world import World

from pbx_stasis.store import utc_now
from pbx_stasis.store.tables import Role
from pbx_stasis.virtualnumbers.service import VIRTUAL_NUMBERS

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
LATE_S = 1.0
SETTINGS = ("/api/crm-link", "/api/masking", "/api/virtual-numbers")


@pytest_asyncio.fixture(loop_scope="module")
async def desk(browser: Browser) -> AsyncIterator[Page]:
    async with opened(browser, 1440) as page:
        yield page


@pytest_asyncio.fixture(loop_scope="module")
async def phone(browser: Browser) -> AsyncIterator[Page]:
    async with opened(browser, 390) as page:
        yield page


async def late(route: Route) -> None:
    """The settings' GET answered by the server, a second late; anything else at once."""
    if route.request.method == "GET" and route.request.url.split("?")[0].endswith(SETTINGS):
        await asyncio.sleep(LATE_S)
    await route.continue_()


async def test_typing_before_the_settings_arrive_is_kept(desk: Page, world: World) -> None:
    page = desk
    await log_in(page, world, Role.ADMIN)
    await page.route("**/api/**", late)
    await page.goto(str(world.client.make_url("/admin/integrations")))
    # fill waits until the form is editable, that is, filled from the server; the page then
    # goes quiet (every answer in) before the admin saves what they typed.
    await page.fill("#crm-lookup-url", "http://crm.example.com/people?phone={name}")
    await page.get_by_test_id("masking-form").locator("input[value=supervisor]").check()
    await page.fill("#vnum-pool", "+14155550160, Rides")
    await page.wait_for_load_state("networkidle")
    await page.get_by_test_id("crm-save").click()
    await expect(page.locator("#crm-errors")).to_contain_text("{name}")
    await expect(page.locator("#crm-lookup-url")).to_have_value(
        "http://crm.example.com/people?phone={name}")
    await page.get_by_test_id("masking-save").click()
    await expect(page.locator("#toasts")).to_contain_text("Masking saved")
    await expect(page.get_by_test_id("masking-form").locator(
        "input[value=supervisor]")).to_be_checked()
    await page.get_by_test_id("vnum-save").click()
    await expect(page.locator("#toasts")).to_contain_text("Virtual numbers saved")
    await expect(page.locator("#vnum-pool")).to_have_value("+14155550160, Rides")


async def test_an_admin_revokes_a_masked_mapping_by_hand(phone: Page, world: World) -> None:
    page = phone
    await log_in(page, world, Role.ADMIN)
    await page.goto(str(world.client.make_url("/admin/integrations")))
    await page.fill("#vnum-pool", "+14155550161, Deliveries")
    await page.get_by_test_id("vnum-save").click()
    await expect(page.locator("#toasts")).to_contain_text("Virtual numbers saved")
    await page.fill("#vnum-party-a", "+14155552101")
    await page.fill("#vnum-party-b", "+14155552102")
    await page.fill("#vnum-minutes", "30")
    await page.fill("#vnum-reference", "order 77")
    await page.get_by_test_id("vnum-map").click()
    await expect(page.locator("#toasts")).to_contain_text("Mapping made")
    row = page.get_by_test_id("vnum-mappings").locator("tr", has_text="order 77")
    await expect(row).to_contain_text("+14155552101")
    assert await sideways(page) == 0
    await row.get_by_test_id("vnum-revoke").click()
    await expect(page.locator("#toasts")).to_contain_text("Mapping order 77 revoked")
    await expect(row).to_have_count(0)
    store = world.app[VIRTUAL_NUMBERS]
    [mapping] = [m for m in await store.mappings(world.tenant_ids["acme"])
                 if m.reference == "order 77"]
    assert (mapping.revoked_by, mapping.expires_at <= utc_now()) == ("admin", True)


async def sideways(page: Page) -> int:
    extra: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return extra
