"""The integrations page in a real Chromium: an admin makes an API token (shown once), adds a
webhook (its secret shown), sees a paused webhook's reason, its delivery log, and resumes it.

Screenshots at desktop and phone width go to build/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import screenshots
from playwright.async_api import Page, expect
from test_e2e_pages import log_in
from web_world import World

from pbx_stasis.store import utc_now
from pbx_stasis.store.tables import Role
from pbx_stasis.webhooks.tables import WebhookDelivery, WebhookSubscription

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()


async def test_admin_manages_tokens_and_webhooks(page: Page, world: World) -> None:
    now = utc_now()
    async with world.db.transaction() as tx:
        hook = WebhookSubscription(
            tenant_id=world.tenant_ids["acme"], url="https://crm.example.com/pbx",
            events=["call.ended"], secret="whsec_e2e", created_at=now - timedelta(days=2),
            created_by="admin", paused_at=now, failing_since=now - timedelta(days=1),
            paused_reason="every delivery failed for 24 h; resume it once fixed")
        tx.add(hook)
        await tx.flush()
        tx.add(WebhookDelivery(
            id="evt_e2e", subscription_id=hook.id, tenant_id=hook.tenant_id, event="call.ended",
            body="{}", created_at=now - timedelta(days=1), status="failed", attempts=30,
            next_try_at=None, retry_until=now, last_attempt_at=now, response_code=502,
            duration_ms=41, error="Bad Gateway"))
    await log_in(page, world, Role.ADMIN)
    await page.click("text=Integrations")
    await page.fill("#nt-name", "CRM sync")
    await page.select_option("#nt-role", "supervisor")
    await page.click("#new-token button[type=submit]")
    await expect(page.get_by_test_id("token-once")).to_be_visible()
    await expect(page.locator("#token-value")).to_contain_text("pbx_")
    await expect(page.get_by_test_id("token-CRM sync")).to_contain_text("never")

    card = page.get_by_test_id(f"webhook-{hook.id}")
    await expect(card.get_by_test_id("webhook-state")).to_have_text("paused")
    await expect(card).to_contain_text("every delivery failed for 24 h")
    await card.get_by_role("button", name="Deliveries").click()
    await expect(card.get_by_test_id("delivery-evt_e2e")).to_contain_text("502")

    await page.fill("#nw-url", "http://127.0.0.1:8088/ari")
    await page.check("input[value=call\\.ended]")
    await page.click("#new-webhook button[type=submit]")
    await expect(page.locator("#new-webhook-errors")).to_contain_text("internal address")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(SCREENSHOTS / "integrations.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(SCREENSHOTS / "integrations-phone.png"), full_page=True)
    await page.set_viewport_size({"width": 1440, "height": 900})

    await card.get_by_role("button", name="Resume").click()
    await expect(card.get_by_test_id("webhook-state")).to_have_text("active")
