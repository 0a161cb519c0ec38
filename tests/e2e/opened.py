"""Pages in a real browser: a page in a browser context of its own (its own cookies: one person
each), at a width (a phone's width, under 500 px, is a mobile, touch viewport; any JavaScript
error on the page fails the test that opened it), and the login form filled in as a person does."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

from playwright.async_api import Browser, Page, expect
from web_world import PASSWORD, World

from pbx_stasis.store.tables import Role


@contextlib.asynccontextmanager
async def opened(browser: Browser, width: int = 1440, height: int = 900
                 ) -> AsyncIterator[Page]:
    phone = width < 500
    context = await browser.new_context(viewport={"width": width, "height": height},
                                        is_mobile=phone, has_touch=phone)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


async def sign_in(page: Page, base: str, tenant: str, username: str, password: str,
                  next_path: str | None = None) -> None:
    """Log in through the login form, as a person does. With `next_path`: open that page first,
    get sent to the login form, and land back on it."""
    if next_path:
        await page.goto(f"{base}{next_path}")
        await expect(page).to_have_url(re.compile(r"/login\?next="))
    else:
        await page.goto(f"{base}/login")
    await page.fill("#tenant", tenant)
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login-submit")
    if next_path:
        await expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))
    else:
        await page.wait_for_load_state("load")


async def signed_out(page: Page) -> None:
    """The person leaves: off the page first (a request its scripts made once the cookie was
    gone would answer 401, and the page would throw "Log in again"), then the cookies go."""
    await page.goto("about:blank")
    await page.context.clear_cookies()


def base_of(world: World) -> str:
    """Where the in-memory stack's pages are served."""
    return str(world.client.make_url("/")).rstrip("/")


async def log_in(page: Page, world: World, role: Role, next_path: str | None = None,
                 tenant: str = "acme") -> str:
    """Log the in-memory stack's person of `role` in (web_world: the username is the role);
    the base URL of its pages."""
    base = base_of(world)
    await sign_in(page, base, tenant, role.value, PASSWORD, next_path)
    return base
