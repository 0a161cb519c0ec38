"""Every page at a phone's width (390 px) and at a desktop's (1440 px): nothing runs off the
screen sideways (issue 13: the header ran off-screen, pages scrolled sideways by 158-845 px).
A table wider than the screen scrolls inside its own box, never the page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import screenshots
from opened import log_in, opened, signed_out
from playwright.async_api import Browser, Page, expect
from web_world import World

from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()

PAGES = [
    (Role.AGENT, "/agent"),
    (Role.AGENT, "/recordings"),
    (Role.SUPERVISOR, "/wallboard"),
    (Role.SUPERVISOR, "/supervise"),
    (Role.SUPERVISOR, "/outbound"),
    (Role.MANAGER, "/reports"),
    (Role.ADMIN, "/admin/users"),
    (Role.ADMIN, "/admin/queues"),
    (Role.ADMIN, "/admin/dispositions"),
    (Role.ADMIN, "/admin/ivr"),
    (Role.MANAGER, "/admin/recording"),
    (Role.AGENT, "/tickets"),
    (Role.SUPERVISOR, "/voicemail"),
    (Role.ADMIN, "/admin/contact-fields"),
    (Role.ADMIN, "/admin/call-scripts"),
    (Role.ADMIN, "/evaluations"),  # with the scorecards' editor
]


@pytest_asyncio.fixture(loop_scope="module", params=[390, 1440], ids=["390px", "1440px"])
async def sized(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with opened(browser, int(request.param), height=844) as page:
        yield page


async def test_no_page_scrolls_sideways(sized: Page, world: World) -> None:
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    base = str(world.client.make_url("/")).rstrip("/")
    overflow: dict[str, int] = {}
    overlaps: dict[str, list[str]] = {}
    await log_in(page, world, Role.ADMIN)  # the login page itself first
    for role in sorted({role for role, _ in PAGES}, key=lambda r: r.value):
        await signed_out(page)
        await log_in(page, world, role)
        for who, path in PAGES:
            if who is not role:
                continue
            await page.goto(f"{base}{path}")
            await page.wait_for_load_state("networkidle")
            await expect(page.locator("header")).to_be_visible()
            extra = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if extra > 0:
                overflow[path] = extra
            # Nothing of the header lies on the brand (the feed's "Live", the buttons).
            covering = await page.evaluate("""() => {
                const brand = document.querySelector('.brand').getBoundingClientRect();
                return [...document.querySelectorAll('.who > *')].filter((node) => {
                    const box = node.getBoundingClientRect();
                    return box.width && box.height && box.left < brand.right
                        && box.right > brand.left && box.top < brand.bottom
                        && box.bottom > brand.top;
                }).map((node) => node.textContent.trim() || node.id);
            }""")
            if covering:
                overlaps[path] = covering
            if width < 500:
                name = path.strip("/").replace("/", "-")
                await page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"))
    assert overflow == {}, f"pages wider than {width} px (extra px): {overflow}"
    assert overlaps == {}, f"header items over the brand at {width} px: {overlaps}"
