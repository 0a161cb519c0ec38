"""The pages in a real Chromium: agent, manager and admin log in, work, and pages stay live.

Screenshots of each page go to build/screenshots/ (scripts/screenshots refreshes the README's).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import screenshots
from opened import log_in
from playwright.async_api import Page, expect
from polling import eventually
from web_world import World

from pbx_stasis.acd.model import AgentState
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import CallerIds, OutboundNumber
from pbx_stasis.store import utc_now
from pbx_stasis.store.tables import CallEvent, CallStatus, Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()



async def test_login_refuses_a_wrong_password(page: Page, world: World) -> None:
    base = str(world.client.make_url("/")).rstrip("/")
    await page.goto(f"{base}/agent")
    await expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)agent$"))
    await page.fill("#username", "supervisor")
    await page.fill("#password", "not the password")
    await page.click("#login-submit")
    await expect(page.get_by_test_id("login-error")).to_contain_text("4 more tries")


async def test_agent_takes_a_call_and_must_give_a_disposition(page: Page, world: World) -> None:
    agent = world.person("acme", Role.AGENT)
    tenant_id = world.tenant_ids["acme"]
    await log_in(page, world, Role.AGENT)
    assert page.url.endswith("/agent")
    assert await page.evaluate("typeof window.JsSIP.UA") == "function"
    assert await page.evaluate("typeof window.PbxSoftphone") == "function"
    await expect(page.get_by_test_id("feed-status")).to_have_text("Live")
    # No Asterisk here: the phone keeps trying and says so.
    await expect(page.get_by_test_id("banner-sip")).to_contain_text("Phone connection lost")
    assert await page.evaluate("window.pbxSoftphone.registered") is False
    assert await page.evaluate("window.pbxSoftphone.mic") == "granted"

    # The status menu says where the agent is (logged out), not "Available".
    await expect(page.get_by_test_id("agent-state")).to_have_text("offline")
    await expect(page.get_by_test_id("state-select")).to_have_value("offline")
    await page.select_option("#state-select", "available")
    await page.click("#apply-state")
    await expect(page.get_by_test_id("agent-state")).to_have_text("available")
    # The app stops seeing the phone: still logged in, offline to the queues, and the pill says
    # why (a bare "offline" after choosing Available left agents guessing).
    world.center.lose_phone(tenant_id, agent.user_id)
    await expect(page.get_by_test_id("agent-state")).to_have_text("offline · no phone")
    await page.select_option("#state-select", "available")
    await page.click("#apply-state")
    await expect(page.get_by_test_id("agent-state")).to_have_text("available")

    call_id = "e" * 32
    # The Stasis side opens the call record, then offers the call to the agent.
    await world.add_call(
        "acme",
        call_id=call_id,
        from_number="+1 415 555 0100",
        agent=agent,
        minutes_ago=0,
        status=CallStatus.LIVE,
    )
    world.center.ring(tenant_id, agent.user_id, "+1 415 555 0100", call_id=call_id)
    box = page.get_by_test_id("call-box")
    await expect(box).to_have_attribute("data-state", "ringing")
    await expect(page.get_by_test_id("caller-number")).to_have_text("+1 415 555 0100")
    await expect(page.get_by_test_id("contact-name")).to_have_text("Ada Lovelace (acme)")
    await expect(page.get_by_test_id("custom-fields")).to_contain_text("A-1001")
    await expect(page.get_by_test_id("contact-history").locator("tbody tr")).to_have_count(2)
    assert await page.evaluate("window.pbxSoftphone.ringing") is True
    assert await page.evaluate("window.pbxSoftphone.callId") == call_id
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "agent.png"))

    world.center.answer(call_id)
    await expect(box).to_have_attribute("data-state", "talking")
    assert await page.evaluate("window.pbxSoftphone.ringing") is False
    await page.get_by_test_id("hold").click()
    await expect(box).to_have_attribute("data-state", "held")
    await page.get_by_test_id("hold").click()
    await expect(box).to_have_attribute("data-state", "talking")
    await page.get_by_test_id("key-5").click()
    await eventually(lambda: ("send_dtmf", tenant_id, call_id, "5") in world.center.asked)

    world.center.end(call_id)
    await expect(page.get_by_test_id("agent-state")).to_have_text("wrap-up")
    await expect(page.get_by_test_id("disposition-panel")).to_be_visible()
    await page.select_option("#state-select", "available")
    await page.click("#apply-state")
    await expect(page.locator("#state-error")).to_contain_text("Save the disposition")

    await page.select_option("#disposition", "Call back")
    await expect(page.get_by_test_id("follow-up")).to_be_visible()
    await page.fill("#notes", "Wants a quote for 20 seats")
    await page.click("#save-disposition")
    await expect(page.get_by_test_id("disposition-panel")).to_be_hidden()
    await page.click("#apply-state")
    await expect(page.get_by_test_id("agent-state")).to_have_text("available")
    record = world.center.agent_records[(tenant_id, agent.user_id)]
    assert record.state is AgentState.AVAILABLE


async def test_manager_wallboard_is_pushed_live(page: Page, world: World) -> None:
    agent = world.person("acme", Role.AGENT)
    async with world.db.transaction() as tx:  # the journal the snapshot's activity reads
        for event, data in (("ENTERQUEUE", {}), ("CONNECT", {"wait": 4.0})):
            tx.add(CallEvent(at=utc_now(), tenant_id=agent.tenant_id, call_id="a" * 32,  # seeded
                             agent_user_id=agent.user_id if event == "CONNECT" else None,
                             queue="support", event=event, data=data))
    await log_in(page, world, Role.MANAGER)
    assert page.url.endswith("/wallboard")
    await expect(page.get_by_test_id("feed-status")).to_have_text("Live")
    supervisor = world.person("acme", Role.SUPERVISOR)
    card = page.get_by_test_id(f"agent-{supervisor.user_id}")
    await expect(card).to_be_visible()
    await expect(page.get_by_test_id("queue-support")).to_be_visible()
    await expect(page.locator("#total-offered")).to_have_text("24")
    # The figures' definitions are the server's (docs/figures.md): the queue's own service level
    # formula, and AHT per agent's part handled (2 x 1830 s / 2 x 12 parts).
    await expect(page.get_by_test_id("queue-support")).to_contain_text("75%")
    await expect(page.locator("#total-aht")).to_have_text("2:32")
    # The activity from the journal is in words, not the journal's codes.
    await expect(page.get_by_test_id("activity")).to_contain_text("answered a call in support")
    await expect(page.get_by_test_id("activity")).to_contain_text("A caller is waiting in support")
    await expect(page.get_by_test_id("activity")).not_to_contain_text(
        re.compile(r"\b(ENTERQUEUE|CONNECT|COMPLETEAGENT|COMPLETECALLER)\b"))

    # A state change reaches the open page within a second, with no polling.
    record = world.center.agent_records[(supervisor.tenant_id, supervisor.user_id)]
    world.center._set(record, AgentState.PAUSED, reason="lunch")
    await expect(card).to_have_attribute("data-state", "paused", timeout=1000)
    await expect(card.get_by_test_id("agent-state")).to_have_text("paused · lunch")
    agent = world.person("acme", Role.AGENT)
    world.center.ring(agent.tenant_id, agent.user_id, "+12025550111", queue="sales")
    await expect(page.get_by_test_id(f"agent-{agent.user_id}")).to_have_attribute(
        "data-state", "ringing", timeout=1000
    )
    await expect(page.get_by_test_id("activity")).to_contain_text("+12025550111")
    await page.screenshot(path=str(SCREENSHOTS / "manager.png"))


async def test_admin_manages_users_queues_dispositions(page: Page, world: World) -> None:
    await CallerIdStore(world.db).set_caller_ids(world.tenant_ids["acme"], CallerIds(
        (OutboundNumber("+14155550100", "Sales", default=True),)), by="test")
    await log_in(page, world, Role.ADMIN)
    assert page.url.endswith("/admin/users")
    await expect(page.get_by_test_id("user-agent")).to_be_visible()
    await page.fill("#nu-username", "zoe")
    await page.fill("#nu-display", "Zoe Carter")
    await page.select_option("#nu-role", "agent")
    await page.fill("#nu-password", "short")
    await page.click("#new-user button[type=submit]")
    await expect(page.locator("#new-user-errors")).to_contain_text(
        "password: must be at least 8 characters"
    )
    await page.fill("#nu-password", "zoe's long password")
    await page.click("#new-user button[type=submit]")
    await expect(page.get_by_test_id("user-zoe")).to_contain_text("Zoe Carter")
    await page.screenshot(path=str(SCREENSHOTS / "admin.png"))

    await page.click("text=Queues")
    await expect(page.get_by_test_id("queue-support")).to_be_visible()
    await page.fill("#q-name", "vip")
    await page.select_option("#q-strategy", "ringall")
    await page.fill("#q-wrapup", "45")
    await page.select_option("#q-sl-mode", "answered")  # app_queue's SL for this one
    await page.fill("#q-short", "5")
    # The number a call of the queue shows when transferred out: one of the tenant's.
    await expect(page.get_by_test_id("queue-caller-id").locator("option")).to_have_text(
        ["The caller's own number", "Sales · +14155550100"])
    await page.get_by_test_id("queue-caller-id").select_option("+14155550100")
    await page.click("#queue-save")
    await expect(page.get_by_test_id("queue-vip")).to_contain_text("45")
    vip = world.center.queue_configs[world.tenant_ids["acme"]]["vip"]
    assert (vip.service_level_mode.value, vip.short_abandon) == ("answered", 5.0)
    assert vip.caller_id == "+14155550100"

    await page.click("text=Dispositions")
    await page.fill("#nd-name", "Wrong number")
    await page.click("#new-disposition button[type=submit]")
    await expect(page.get_by_test_id("disposition-Wrong number")).to_be_visible()


async def test_ivr_editor_marks_problems_on_their_lines(page: Page, world: World) -> None:
    await log_in(page, world, Role.ADMIN)
    base = str(world.client.make_url("/")).rstrip("/")
    await page.goto(f"{base}/admin/ivr")
    await page.fill("#flow-name", "support")
    text = page.get_by_test_id("flow-text")
    broken = (await text.input_value()).replace("kind: hangup", "kind: hang-up")
    await text.fill(broken)
    await page.get_by_test_id("validate-flow").click()
    await expect(page.get_by_test_id("flow-status")).to_contain_text("problem")
    marked = page.locator(".backdrop .bad")
    await expect(marked.first).to_have_attribute("data-msg", re.compile("hang-up"))
    line = int((await marked.first.get_attribute("data-testid") or "0").rsplit("-", 1)[1])
    assert broken.splitlines()[line - 1].strip() == "kind: hang-up"
    await page.get_by_test_id("apply-flow").click()
    await expect(page.get_by_test_id("flow-status")).to_contain_text("nothing was applied")
    await page.screenshot(path=str(SCREENSHOTS / "ivr-editor.png"))

    await text.fill(broken.replace("kind: hang-up", "kind: hangup"))
    await page.get_by_test_id("apply-flow").click()
    await expect(page.get_by_test_id("flow-status")).to_contain_text("support version 1")
    await expect(page.get_by_test_id("flow-support")).to_be_visible()


async def test_ivr_editor_warns_without_refusing_and_lets_the_keyboard_out(
    page: Page, world: World
) -> None:
    """A node no path reaches is a warning (amber) and the flow still applies; a name such as
    support.yaml passes the field's own pattern; Tab indents in the text, Esc then Tab leaves it;
    the flow list is reached with Tab."""
    await log_in(page, world, Role.ADMIN)
    base = str(world.client.make_url("/")).rstrip("/")
    await page.goto(f"{base}/admin/ivr")
    name = page.get_by_test_id("flow-name")
    await name.fill("support.yaml")
    assert await name.evaluate("input => input.checkValidity()")
    text = page.get_by_test_id("flow-text")
    lonely = (await text.input_value()) + "      lonely:\n        kind: hangup\n"
    await text.fill(lonely)
    await page.get_by_test_id("validate-flow").click()
    await expect(page.get_by_test_id("flow-status")).to_contain_text(
        "No problems found (1 warning)")
    warned = page.locator(".backdrop .warn")
    await expect(warned).to_have_count(1)
    await expect(warned).to_have_attribute("data-msg", re.compile("cannot be reached"))
    await expect(page.locator(".backdrop .bad")).to_have_count(0)
    await page.screenshot(path=str(SCREENSHOTS / "ivr-editor-warning.png"))
    await page.get_by_test_id("apply-flow").click()
    await expect(page.get_by_test_id("flow-status")).to_contain_text("support.yaml version 1")

    await text.focus()
    await page.keyboard.press("End")
    before = await text.input_value()
    await page.keyboard.press("Tab")
    assert await text.input_value() != before  # indented
    assert await page.evaluate("document.activeElement.id") == "flow-text"
    await page.keyboard.press("Escape")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") != "flow-text"
    await page.get_by_test_id("flow-support.yaml").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("flow-version")).to_have_text("version 1")


async def test_a_supervisor_frees_an_agent_from_the_wallboard(page: Page, world: World) -> None:
    """Issue 13: a supervisor can force an agent's state (out of wrap-up, logged out)."""
    agent = world.person("acme", Role.AGENT)
    record = world.center.agent_records[(agent.tenant_id, agent.user_id)]
    world.center._set(record, AgentState.WRAP_UP)
    await log_in(page, world, Role.SUPERVISOR)
    base = str(world.client.make_url("/")).rstrip("/")
    await page.goto(f"{base}/wallboard")
    card = page.get_by_test_id(f"agent-{agent.user_id}")
    await expect(card).to_have_attribute("data-state", "wrap-up")
    await card.get_by_test_id("set-available").click()
    await expect(card).to_have_attribute("data-state", "available")
    await card.get_by_test_id("set-offline").click()
    await expect(card).to_have_attribute("data-state", "offline")
    assert record.state is AgentState.OFFLINE
    await page.screenshot(path=str(SCREENSHOTS / "wallboard-agent-controls.png"))


async def test_a_ringing_call_shows_its_context_and_a_missed_one_is_told(
    page: Page, world: World
) -> None:
    """Issue 13: the screen pop said nothing of the queue or the line dialled, the tab did not
    say a call rang, and an offer that rang out vanished without a word."""
    agent = world.person("acme", Role.AGENT)
    record = world.center.agent_records[(agent.tenant_id, agent.user_id)]
    for call_id in [i for i, (_, c) in world.center.calls.items()
                    if c.agent_user_id == agent.user_id]:
        world.center.end(call_id)  # an earlier test's call that still rings
    world.center._set(record, AgentState.AVAILABLE)
    await log_in(page, world, Role.AGENT)
    await expect(page.get_by_test_id("feed-status")).to_have_text("Live")
    # The page loads its snapshot once subscribed: events from now on reach it.
    await expect(page.get_by_test_id("agent-state")).to_have_text("available")
    title = "Agent · pbx-stasis"
    await expect(page).to_have_title(title)
    world.center.ring(agent.tenant_id, agent.user_id, "+12025550177", queue="sales")
    await expect(page.get_by_test_id("caller-number")).to_have_text("+12025550177")
    await expect(page.get_by_test_id("call-context")).to_contain_text("queue sales")
    await expect(page.get_by_test_id("call-context")).to_contain_text("dialled +18005550199")
    await expect(page).to_have_title(re.compile(r"^☎ \+12025550177"))
    # The offer rings out: the core pauses the agent after missed calls.
    world.center._set(record, AgentState.PAUSED, reason="no answer")
    await expect(page.get_by_test_id("banner-missed")).to_contain_text(
        "You missed a call from +12025550177 and were paused after missed calls")
    await expect(page).to_have_title(title)


async def test_contact_search_is_reached_by_keyboard_and_a_queue_transfer_is_blind(
    page: Page, world: World
) -> None:
    """Issue 13: search results could not be reached with Tab; the transfer dialog offered an
    attended transfer to a queue, which then failed."""
    agent = world.person("acme", Role.AGENT)
    record = world.center.agent_records[(agent.tenant_id, agent.user_id)]
    for call_id in [i for i, (_, c) in world.center.calls.items()
                    if c.agent_user_id == agent.user_id]:
        world.center.end(call_id)
    world.center._set(record, AgentState.AVAILABLE)
    await log_in(page, world, Role.AGENT)
    await expect(page.get_by_test_id("feed-status")).to_have_text("Live")
    await page.fill("#contact-search", "Ada")
    first = page.get_by_test_id("contact-result").first
    await expect(first).to_contain_text("Ada Lovelace (acme)")
    await page.focus("#contact-search")
    for _ in range(5):  # Tab until the result has the focus (a button, in the page's order)
        await page.keyboard.press("Tab")
        if await first.evaluate("node => node === document.activeElement"):
            break
    assert await first.evaluate("node => node === document.activeElement")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("contact-card")).to_contain_text("Ada Lovelace (acme)")

    await expect(page.get_by_test_id("agent-state")).to_have_text("available")
    call_id = world.center.ring(agent.tenant_id, agent.user_id, "+12025550178")
    tenant_id, ringing = world.center.calls[call_id]  # the IVR answered it 2 minutes ago
    world.center._update_call(tenant_id, ringing, answered_at=utc_now() - timedelta(minutes=2))
    world.center.answer(call_id)
    await expect(page.get_by_test_id("call-box")).to_have_attribute("data-state", "talking")
    # The agent's timer counts from when they came on the line, not from the IVR's answer.
    await expect(page.get_by_test_id("call-timer")).to_have_text(re.compile(r"^0:0\d$"))
    await page.get_by_test_id("transfer").click()
    await page.select_option("#transfer-kind", "queue")
    await expect(page.get_by_test_id("transfer-attended")).to_be_disabled()
    await page.select_option("#transfer-kind", "agent")
    await expect(page.get_by_test_id("transfer-attended")).to_be_enabled()


async def test_recording_settings_page(page: Page, world: World) -> None:
    """Issue 13: recording was off with no settings page (only `pbx recordings policy`)."""
    await log_in(page, world, Role.ADMIN)
    base = str(world.client.make_url("/")).rstrip("/")
    await page.get_by_role("link", name="Recording", exact=True).click()
    await page.wait_for_url("**/admin/recording")
    assert page.url == f"{base}/admin/recording"
    await page.select_option("[data-testid=mode-support]", "sample")
    await page.fill("[data-testid=share-support]", "25")
    await page.click("[data-testid=save-support]")
    await expect(page.locator(".toast").last).to_contain_text("support: saved")
    await page.fill("#rr-days", "90")
    await page.check("#rr-own")
    await page.click("#rr-save")
    await expect(page.locator(".toast").last).to_contain_text("Saved")
    await page.fill("#rr-days", "0")  # the field itself refuses it: days start at 1
    await expect(page.locator("#rr-days:invalid")).to_have_count(1)
    await page.fill("#rr-days", "90")
    await page.screenshot(path=str(SCREENSHOTS / "recording-settings.png"))
    await page.reload()
    await expect(page.get_by_test_id("mode-support")).to_have_value("sample")
    await expect(page.get_by_test_id("share-support")).to_have_value("25")
    await expect(page.get_by_test_id("rr-days")).to_have_value("90")
    await expect(page.get_by_test_id("rr-own")).to_be_checked()
