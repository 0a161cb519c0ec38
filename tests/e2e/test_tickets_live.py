"""Tickets and the call script on a live call, in a real Chromium at a phone's width (390 px)
and a desktop's (1440 px): a sipp caller reaches the agent's WebRTC softphone through the sandbox
Asterisk, the queue's script shows beside the call box filled for the caller, the agent creates a
ticket from the call box (during the call) or from the wrap-up (after it); the ticket carries the
call and the caller's contact, and shows on the contact's timeline.

The stack is tests/e2e/live.py's (sandbox Asterisk, the Stasis app, the web sidecar, SQLite).
Screenshots go to build/screenshots/tickets-*.png.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import screenshots
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
from opened import opened
from playwright.async_api import Browser, Page, expect
from polling import eventually
from sandbox import SippResult, free_media_port, run_sipp_async

from pbx_stasis.bus import Bus
from pbx_stasis.callscripts.core import ScriptBody
from pbx_stasis.callscripts.service import CallScripts
from pbx_stasis.crm.timeline import Viewer
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.tables import Role
from pbx_stasis.tickets.service import Tickets

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="module"),
]
SCREENSHOTS = screenshots.folder()


@pytest_asyncio.fixture(loop_scope="module", params=[1440, 390], ids=["1440px", "390px"])
async def agent_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with opened(browser, int(request.param)) as page:
        yield page


@contextlib.asynccontextmanager
async def caller_on_the_line(stack: LiveStack, workdir: Path) -> AsyncIterator[
        asyncio.Task[SippResult]]:
    """A sipp caller dialling the support line, until it hangs up on the agent's BYE."""
    caller = asyncio.create_task(run_sipp_async(
        "caller-waits-bye.xml", stack.sandbox.sip_target, service=DID, caller=CALLER,
        media_port=free_media_port(), extra_args=["-rtp_echo"], timeout=60, workdir=workdir,
    ))
    try:
        yield caller
    finally:
        if not caller.done():
            caller.cancel()
            with contextlib.suppress(BaseException):
                await caller


async def sideways(page: Page) -> int:
    """How far the page scrolls sideways (0: it fits the screen)."""
    extra: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return extra


async def test_an_agent_creates_a_ticket_from_a_live_call(
    stack: LiveStack, agent_page: Page, tmp_path: Path
) -> None:
    page = agent_page
    width = page.viewport_size["width"] if page.viewport_size else 0
    during_call = width >= 1000  # desktop: from the call box; phone: from the wrap-up
    scripts = CallScripts(stack.db)
    if not await scripts.current(stack.tenant_id):
        await scripts.save(stack.tenant_id, "support", ScriptBody(
            headline="Support", queues=("support",),
            opening="Hello {contact.name}, this is {agent.name}.",
            main_points=("Account {contact.account}",), closing="Anything else?",
        ), stack.users["root"], utc_now())
    await log_in(page, stack, "alice")
    await phone_ready(page, stack, "alice")
    await page.select_option("#state-select", "available")
    await page.click("#apply-state")
    await expect(page.get_by_test_id("agent-state")).to_have_text("available")

    async with caller_on_the_line(stack, tmp_path) as caller:
        box = page.get_by_test_id("call-box")
        await expect(box).to_have_attribute("data-state", "ringing", timeout=15_000)
        await expect(page.get_by_test_id("contact-name")).to_have_text(CALLER_NAME)
        answer = page.get_by_test_id("answer")
        await expect(answer).to_be_enabled()
        call_id = await page.evaluate("window.pbxSoftphone.callId")
        await answer.click()
        await expect(box).to_have_attribute("data-state", "talking")
        # The queue's script beside the call box, filled for this caller.
        script = page.get_by_test_id("call-script")
        await expect(script).to_be_visible()
        await expect(script.get_by_test_id("call-script-opening")).to_have_text(
            f"Hello {CALLER_NAME}, this is Alice Agent.")
        await expect(script).to_contain_text("Account G-1906")
        await page.screenshot(path=str(SCREENSHOTS / f"tickets-script-{width}.png"),
                              full_page=True)
        button = page.get_by_test_id("create-ticket")
        await expect(button).to_be_visible()
        if during_call:
            await button.click()
            dialog = page.get_by_test_id("ticket-dialog")
            await expect(dialog).to_be_visible()
            await page.fill("#tk-subject", "Router reboots every hour")
            await page.select_option("#tk-priority", "urgent")
            await page.fill("#tk-description", "Started after the firmware update")
            await page.screenshot(path=str(SCREENSHOTS / f"tickets-create-{width}.png"))
            await page.get_by_test_id("ticket-create").click()
            await expect(dialog).to_be_hidden()
            await expect(page.get_by_test_id("ticket-link")).to_contain_text(
                "Router reboots every hour")
        await page.get_by_test_id("hangup").click()
        await expect(page.get_by_test_id("agent-state")).to_have_text("wrap-up")
        result = await caller
        assert result.ok, result.describe()

    if not during_call:
        # After the call: the notes typed for the wrap-up become the ticket's description.
        await page.select_option("#disposition", "Resolved")
        await page.fill("#notes", "Wants a technician on Monday")
        await page.get_by_test_id("create-ticket-wrapup").click()
        await expect(page.locator("#tk-description")).to_have_value(
            "Wants a technician on Monday")
        await page.fill("#tk-subject", "Technician visit")
        await page.screenshot(path=str(SCREENSHOTS / f"tickets-create-{width}.png"))
        await page.get_by_test_id("ticket-create").click()
        await expect(page.get_by_test_id("ticket-link")).to_contain_text("Technician visit")
    await page.screenshot(path=str(SCREENSHOTS / f"tickets-agent-{width}.png"))
    assert await sideways(page) == 0

    # The ticket carries the call and the caller's contact.
    found = await eventually(lambda: ticket_of_call(stack, call_id), within=5)
    assert found is not None
    assert found["contact_id"] == stack.contact_id
    assert found["call_ids"] == [call_id]
    assert found["assignee"] == stack.users["alice"]

    # Its page, and the contact's timeline with the call and the ticket.
    link = page.get_by_test_id("ticket-link")
    href = await link.get_attribute("href")
    await page.goto(f"{stack.base_url}{href}")
    await expect(page.get_by_test_id("ticket-contact")).to_have_text(CALLER_NAME)
    await expect(page.get_by_test_id("ticket-calls").locator("li")).to_have_count(1)
    await page.screenshot(path=str(SCREENSHOTS / f"tickets-ticket-{width}.png"), full_page=True)
    assert await sideways(page) == 0
    await page.get_by_test_id("ticket-contact").click()
    timeline = page.get_by_test_id("timeline")
    await expect(timeline.get_by_test_id("timeline-ticket").first).to_be_visible()
    await expect(timeline.get_by_test_id("timeline-call").first).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / f"tickets-contact-{width}.png"), full_page=True)
    assert await sideways(page) == 0

    # Back to work: the disposition ends the wrap-up, ready for the next call.
    await page.goto(f"{stack.base_url}/agent")
    panel = page.get_by_test_id("disposition-panel")
    await expect(panel).to_be_visible()
    await page.select_option("#disposition", "Resolved")
    await page.click("#save-disposition")
    await expect(panel).to_be_hidden()
    await page.select_option("#state-select", "available")
    await page.click("#apply-state")
    await expect(page.get_by_test_id("agent-state")).to_have_text("available")


async def ticket_of_call(stack: LiveStack, call_id: str) -> dict[str, object] | None:
    """The newest ticket linked to the call, as the store has it (None: not yet)."""
    tickets = Tickets(stack.db, Bus())  # a reader of the same database
    viewer = Viewer(stack.tenant_id, stack.users["root"], Role.ADMIN)
    for ticket in await tickets.search(stack.tenant_id, viewer, utc_now()):
        _, _, calls = await tickets.detail(stack.tenant_id, ticket.id)
        if [c.call_id for c in calls] == [call_id]:
            return {"contact_id": ticket.contact_id, "call_ids": [call_id],
                    "assignee": ticket.assignee_user_id}
    return None
