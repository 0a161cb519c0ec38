"""A page in a browser context of its own (its own cookies: one person each), at a width; a
phone's width (under 500 px) is a mobile, touch viewport. Any JavaScript error on the page fails
the test that opened it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from playwright.async_api import Browser, Page


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
