"""The external CRM on a live call, in a real Chromium at a desktop's width (1440 px) and a
phone's (390 px): the admin sets the tenant's CRM on the integrations page; a sipp caller rings
the agent's WebRTC softphone through the sandbox Asterisk; the card shows our contact at once
and the CRM's record when it answers, with the "open in CRM" link. The CRM is a real HTTP server
started here (aiohttp): at 1440 px it answers; at 390 px it is slow, for a caller we do not
know (the call rings the agent while the CRM still holds the request, and the card says the CRM
did not answer in time).

Screenshots go to build/screenshots/crm-*.png.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
import screenshots
from aiohttp import web
from live import (
    CALLER,
    CALLER_NAME,
    DID,
    LiveStack,
    live_sandbox_fixture,  # noqa: F401 (fixture live_sandbox)
    live_stack_fixture,  # noqa: F401 (fixture stack)
    log_in,
    phone_ready,
)
from opened import opened, signed_out
from playwright.async_api import Browser, Page, expect
from sandbox import SippResult, free_media_port, run_sipp_async

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="module"),
]
SCREENSHOTS = screenshots.folder()
TOKEN = "crm-secret-42"
STRANGER = "+14155550199"
SLOW_S = 8.0  # the slow CRM's answer; the tenant's timeout is 2.5 s


@dataclass
class Crm:
    """The CRM the test runs: its answers, what it was asked, and requests it still holds."""

    url: str = ""
    slow: bool = False
    asked: list[tuple[str, str]] = field(default_factory=list)  # (phone, Authorization)
    holding: int = 0

    async def people(self, request: web.Request) -> web.Response:
        self.asked.append((request.query.get("phone", ""), request.headers.get(
            "Authorization", "")))
        if self.slow:
            self.holding += 1
            try:
                await asyncio.sleep(SLOW_S)
            finally:
                self.holding -= 1
        if request.query.get("phone") != CALLER:
            return web.json_response([])
        return web.json_response([{"id": "C-77", "person": {"full_name": "Grace B. Hopper"},
                                   "account": {"name": "US Navy", "plan": "Gold"}}])


@pytest_asyncio.fixture(name="crm", loop_scope="module", scope="module")
async def crm_fixture() -> AsyncIterator[Crm]:
    crm = Crm()
    app = web.Application()
    app.router.add_get("/people", crm.people)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    crm.url = f"http://{host}:{port}"
    try:
        yield crm
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="module", params=[1440, 390], ids=["1440px", "390px"])
async def agent_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with opened(browser, int(request.param)) as page:
        yield page


async def set_up_the_crm(page: Page, stack: LiveStack, crm: Crm) -> None:
    """The admin's settings on the integrations page (once: they stay for the next width)."""
    await log_in(page, stack, "root", feed=False)
    await page.goto(f"{stack.base_url}/admin/integrations")
    await page.fill("#crm-lookup-url", "http://crm.example.com/people?phone={name}")
    await page.get_by_test_id("crm-save").click()
    await expect(page.locator("#crm-errors")).to_contain_text("{name}")
    await page.fill("#crm-lookup-url", f"{crm.url}/people?phone={{number}}")
    await page.fill("#crm-token", TOKEN)
    await page.fill("#crm-timeout", "2500")
    await page.fill("#crm-mapping", "external_id: id\nname: person.full_name\n"
                    "company: account.name\nplan: account.plan")
    await page.fill("#crm-open-url", f"{crm.url}/contacts/{{external_id}}?our={{contact_id}}")
    await page.get_by_test_id("crm-save").click()
    await expect(page.locator("#crm-token")).to_have_attribute(
        "placeholder", "(saved: type to replace)")
    await page.screenshot(path=str(SCREENSHOTS / "crm-settings.png"), full_page=True)
    await signed_out(page)


@contextlib.asynccontextmanager
async def caller_on_the_line(stack: LiveStack, workdir: Path, number: str) -> AsyncIterator[
        asyncio.Task[SippResult]]:
    caller = asyncio.create_task(run_sipp_async(
        "caller-waits-bye.xml", stack.sandbox.sip_target, service=DID, caller=number,
        media_port=free_media_port(), extra_args=["-rtp_echo"], timeout=60, workdir=workdir,
    ))
    try:
        yield caller
    finally:
        if not caller.done():
            caller.cancel()
            with contextlib.suppress(BaseException):
                await caller


async def test_the_card_adds_the_crm_record_without_holding_up_the_call(
    stack: LiveStack, crm: Crm, agent_page: Page, tmp_path: Path
) -> None:
    page = agent_page
    width = page.viewport_size["width"] if page.viewport_size else 0
    crm.slow = width < 500
    if not crm.asked and width >= 1000:
        await set_up_the_crm(page, stack, crm)
    asked_before = len(crm.asked)
    await log_in(page, stack, "alice", feed=False)
    await expect(page.get_by_test_id("feed-status")).to_have_text("Live")
    await phone_ready(page, stack, "alice")
    await page.select_option("#state-select", "available")
    await page.click("#apply-state")
    await expect(page.get_by_test_id("agent-state")).to_have_text("available")

    # At 390 px a caller we do not know (a number of their own: the CRM's answers are cached).
    number = STRANGER if crm.slow else CALLER
    async with caller_on_the_line(stack, tmp_path, number) as caller:
        box = page.get_by_test_id("call-box")
        await expect(box).to_have_attribute("data-state", "ringing", timeout=15_000)
        # Our card at once...
        await expect(page.get_by_test_id("contact-name")).to_have_text(
            "Unknown caller" if crm.slow else CALLER_NAME)
        record = page.get_by_test_id("crm-record")
        if crm.slow:
            # ... while the slow CRM still holds the lookup: the call did not wait for it.
            assert crm.holding >= 1
            await expect(record).to_have_attribute("data-state", "timeout", timeout=5_000)
            await expect(record.get_by_test_id("crm-note")).to_contain_text(
                "did not answer within 2.5 s")
        else:
            # ... and the CRM's record when it answers, with the link to it.
            await expect(record).to_have_attribute("data-state", "found")
            await expect(record.get_by_test_id("crm-name")).to_have_text("Grace B. Hopper")
            await expect(record.get_by_test_id("crm-company")).to_have_text("US Navy")
            await expect(record.get_by_test_id("crm-open")).to_have_attribute(
                "href", f"{crm.url}/contacts/C-77?our={stack.contact_id}")
        await page.screenshot(path=str(SCREENSHOTS / f"crm-card-{width}.png"), full_page=True)
        if not crm.slow:
            # The agent fills our contact from the CRM's record (keeping our name for it).
            await record.get_by_test_id("crm-use").click()
            await expect(page.locator("#cf-name")).to_have_value("Grace B. Hopper")
            assert "external_id: C-77" in await page.locator("#cf-custom").input_value()
            await page.fill("#cf-name", CALLER_NAME)
            await page.click("#contact-save")
            await expect(page.get_by_test_id("custom-fields")).to_contain_text("Gold")
        assert await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
        await page.get_by_test_id("answer").click()
        await expect(box).to_have_attribute("data-state", "talking")
        await page.get_by_test_id("hangup").click()
        await expect(page.get_by_test_id("agent-state")).to_have_text("wrap-up")
        result = await caller
        assert result.ok, result.describe()

    # One lookup per call (the watcher's and the page's share it), with the tenant's token.
    asked = crm.asked[asked_before:]
    assert asked == [(number, f"Bearer {TOKEN}")]
    await page.select_option("#disposition", "Resolved")
    await page.click("#save-disposition")
    await expect(page.get_by_test_id("disposition-panel")).to_be_hidden()

    if not crm.slow:
        # The contact's page links to the CRM's record of them, by the id the card saved.
        await page.goto(f"{stack.base_url}/contacts/{stack.contact_id}")
        await expect(page.get_by_test_id("contact-name")).to_have_text(CALLER_NAME)
        await expect(page.get_by_test_id("crm-open")).to_have_attribute(
            "href", f"{crm.url}/contacts/C-77?our={stack.contact_id}")
        await page.screenshot(path=str(SCREENSHOTS / "crm-contact.png"), full_page=True)
