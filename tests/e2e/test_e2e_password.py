"""A user changes their own password from the header of any page, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from test_e2e_pages import log_in
from web_world import PASSWORD, World

from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]



async def test_a_manager_changes_their_password_from_the_header(page: Page, world: World) -> None:
    await log_in(page, world, Role.MANAGER)
    await expect(page).to_have_url(world.client.make_url("/wallboard").human_repr())
    dialog = page.get_by_test_id("password-dialog")
    await page.click("#change-password")
    await expect(dialog).to_be_visible()
    await page.fill("#pw-current", "not my password")
    await page.fill("#pw-new", "a fresh passphrase")
    await page.fill("#pw-confirm", "a fresh passphrase")
    await page.click("#password-save")
    await expect(page.get_by_test_id("password-errors")).to_contain_text(
        "current_password: is not your current password")
    await page.fill("#pw-current", PASSWORD)
    await page.fill("#pw-confirm", "a different one")
    await page.click("#password-save")
    await expect(page.get_by_test_id("password-errors")).to_contain_text("confirm: is not the same")
    await page.fill("#pw-confirm", "a fresh passphrase")
    await page.click("#password-save")
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#toasts")).to_contain_text("Password changed")
    # Still logged in here; the new password is the one that logs in.
    await page.reload()
    await expect(page.get_by_test_id("whoami")).to_contain_text("Manager of Acme")
    await page.click("#logout")
    await page.fill("#tenant", "acme")
    await page.fill("#username", "manager")
    await page.fill("#password", "a fresh passphrase")
    await page.click("#login-submit")
    await expect(page).to_have_url(world.client.make_url("/wallboard").human_repr())
