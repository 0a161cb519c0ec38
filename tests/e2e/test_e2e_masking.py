"""Number masking in a real Chromium at a desktop's width (1440 px) and a phone's (390 px): the
admin masks numbers for agents on the integrations page; the agent's card and the contact's page
show the caller's number masked, no page carries it whole, and "Call" still dials it (the server
reads it from the contact). The admin's tokens get an expiry date and a rotation there too.

Screenshots go to build/screenshots/masking-*.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import screenshots
from opened import opened, signed_out
from playwright.async_api import Browser, Page, expect
from test_e2e_pages import log_in
from web_world import World

from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()
NUMBER = "+14155550100"  # the seeded contact's phone
MASKED = "+1 415 •••• 100"


@pytest_asyncio.fixture(loop_scope="module", params=[1440, 390], ids=["1440px", "390px"])
async def sized(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with opened(browser, int(request.param)) as page:
        yield page


async def sideways(page: Page) -> int:
    extra: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return extra


async def shown(page: Page) -> str:
    """The page's HTML without its forms' example placeholders (the template's own text)."""
    html: str = await page.evaluate("""() => {
        const copy = document.documentElement.cloneNode(true);
        copy.querySelectorAll("[placeholder]").forEach(
            (node) => node.removeAttribute("placeholder"));
        return copy.outerHTML; }""")
    return html


async def admin_masks_agents(page: Page, world: World, width: int) -> None:
    await log_in(page, world, Role.ADMIN)
    await page.goto(str(world.client.make_url("/admin/integrations")))
    form = page.get_by_test_id("masking-form")
    # The boxes are filled from the server first (check() reads a box's state before it waits
    # for the box to be enabled, and the second width finds agents masked already).
    await page.wait_for_load_state("networkidle")
    await form.locator("input[value=agent]").check()
    await page.get_by_test_id("masking-save").click()
    await expect(page.locator("#toasts")).to_contain_text("Masking saved")
    # A token that expires, then rotated: its new secret shown once, the old one's overlap.
    await page.fill("#nt-name", f"Nightly export {width}")
    await page.fill("#nt-expires", "2099-12-31")
    await page.click("#new-token button[type=submit]")
    row = page.get_by_test_id(f"token-Nightly export {width}")
    await expect(row.get_by_test_id("token-expires")).not_to_have_text("never")
    first = await page.locator("#token-value").text_content()
    await row.get_by_test_id("token-rotate").click()
    await expect(page.locator("#token-value")).not_to_have_text(first or "")
    await expect(row).to_contain_text("old secret until")
    await page.screenshot(path=str(SCREENSHOTS / f"masking-admin-{width}.png"), full_page=True)
    assert await sideways(page) == 0
    await signed_out(page)


async def test_an_agent_sees_masked_numbers_and_still_calls_them(
        sized: Page, world: World) -> None:
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    await admin_masks_agents(page, world, width)
    await log_in(page, world, Role.AGENT)
    await page.goto(str(world.client.make_url("/agent")))
    await page.fill("#contact-search", "Ada")
    await page.get_by_test_id("contact-result").first.click()
    phone = page.get_by_test_id("contact-phone").first
    await expect(phone).to_have_text(MASKED)
    assert "4155550100" not in await shown(page)
    await page.get_by_test_id("click-to-call").first.click()
    agent = world.person("acme", Role.AGENT)
    await expect(page.locator("#toasts")).to_contain_text("Calling")
    assert world.center.asked[-1][:4] == ("dial", agent.tenant_id, agent.user_id, NUMBER)
    await page.screenshot(path=str(SCREENSHOTS / f"masking-agent-{width}.png"), full_page=True)
    assert await sideways(page) == 0
    # The contact's page too.
    await page.goto(str(world.client.make_url(f"/contacts/{world.contact_ids['acme']}")))
    await expect(page.locator("#contact-details")).to_contain_text(MASKED)
    assert "4155550100" not in await shown(page)
    await page.screenshot(path=str(SCREENSHOTS / f"masking-contact-{width}.png"),
                          full_page=True)
    assert await sideways(page) == 0
