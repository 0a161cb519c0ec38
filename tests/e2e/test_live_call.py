"""The whole contact center in a real Chromium: a sipp caller dials the support line, walks the
IVR into the queue, and the agent takes the call on the WebRTC softphone of the agent page while
a manager watches the wallboard; then the agent calls out from the dial pad.

Everything is real (sandbox Asterisk, sipp, the Stasis app, the web sidecar, SQLite): see
tests/e2e/live.py. Screenshots of the agent, manager and admin pages go to build/screenshots/ (see
scripts/screenshots).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import screenshots
from live import (
    CALLER,
    CALLER_NAME,
    DID,
    LiveStack,
    live_sandbox_fixture,  # noqa: F401 (fixture live_sandbox)
    live_stack_fixture,  # noqa: F401 (fixture stack)
    log_in,
)
from opened import opened
from playwright.async_api import Browser, Page, expect
from polling import eventually
from sandbox import SippResult, free_media_port, run_sipp_async

from pbx_stasis.crm.dispositions import Dispositions
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import CallerIds, OutboundNumber
from pbx_stasis.recording import PolicyMode, RecordingPolicy

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="module"),
]
SCREENSHOTS = screenshots.folder()
SECOND = 1000  # ms: what "the wallboard shows it within a second" allows
OUTBOUND_NUMBER = "14155550199"
SALES_LINE, SUPPORT_LINE = "+14155550100", "+14155550111"  # the tenant's outbound numbers
T = TypeVar("T")


@contextlib.asynccontextmanager
async def caller_on_the_line(stack: LiveStack, workdir: Path) -> AsyncIterator[
        asyncio.Task[SippResult]]:
    """A sipp caller dialling the support line, until it hangs up on the agent's BYE.

    It echoes every RTP packet it gets (-rtp_echo) and sends nothing else: what Asterisk
    receives from it is audio it received."""
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


async def until(read: Callable[[], Awaitable[T]], check: Callable[[T], bool],
                within: float = 10.0) -> T:
    """Read until `check` holds (state the DOM does not show: getStats, RTP counters)."""
    return await eventually(read, until=check, within=within, every=0.1)


async def stats(page: Page) -> dict[str, int]:
    value: dict[str, int] = await page.evaluate("window.pbxSoftphone.stats()")
    return value


async def call_state(page: Page) -> str:
    """The softphone's SIP side (wait_for_function would need eval, which the CSP forbids)."""
    value: str = await page.evaluate("window.pbxSoftphone.callState")
    return value


async def agent_ready(page: Page, stack: LiveStack, wallboard: Page) -> None:
    """The agent logs in, the softphone registers, the agent goes available."""
    await log_in(page, stack, "alice")
    assert page.url.endswith("/agent")
    await until(lambda: page.evaluate("window.pbxSoftphone.registered"), bool)
    await expect(page.get_by_test_id("sip-status")).to_have_text("Phone: ready")
    assert await page.evaluate("window.pbxSoftphone.mic") == "granted"
    card = wallboard.get_by_test_id(f"agent-{stack.users['alice']}")
    await expect(card).to_contain_text("phone ok", timeout=SECOND)
    await page.select_option("#state-select", "available")
    await page.click("#apply-state")
    try:
        await expect(page.get_by_test_id("agent-state")).to_have_text("available")
    except AssertionError as failed:
        # Once seen under load (the pill stayed "offline"): say what the page was told.
        told = await page.locator("#state-error").text_content()
        agent = await page.evaluate(
            "fetch('/api/me/agent').then((r) => r.text()).catch((e) => String(e))")
        raise AssertionError(f"{failed}\nthe page's error: {told!r}\n"
                             f"GET /api/me/agent now: {agent}") from None
    await expect(card).to_have_attribute("data-state", "available", timeout=SECOND)


async def test_a_caller_goes_through_the_ivr_to_the_agent_softphone(
    stack: LiveStack, browser: Browser, tmp_path: Path
) -> None:
    async with opened(browser) as wallboard, opened(browser) as agent:
        await log_in(wallboard, stack, "morgan")
        assert wallboard.url.endswith("/wallboard")
        card = wallboard.get_by_test_id(f"agent-{stack.users['alice']}")
        tile = wallboard.get_by_test_id("queue-support")
        await expect(card).to_be_visible()
        await agent_ready(agent, stack, wallboard)

        async with caller_on_the_line(stack, tmp_path) as caller:
            box = agent.get_by_test_id("call-box")
            await expect(box).to_have_attribute("data-state", "ringing", timeout=15_000)
            await expect(card).to_have_attribute("data-state", "ringing", timeout=SECOND)
            await expect(agent.get_by_test_id("caller-number")).to_have_text(CALLER)
            await expect(agent.get_by_test_id("contact-name")).to_have_text(CALLER_NAME)
            await expect(agent.get_by_test_id("custom-fields")).to_contain_text("G-1906")
            await expect(wallboard.get_by_test_id("activity")).to_contain_text(
                f"{CALLER} offered to Alice Agent from support", timeout=SECOND)
            answer = agent.get_by_test_id("answer")
            await expect(answer).to_be_enabled()  # the INVITE reached the softphone
            assert await agent.evaluate("window.pbxSoftphone.ringing") is True
            call_id = await agent.evaluate("window.pbxSoftphone.callId")
            assert isinstance(call_id, str) and call_id

            await answer.click()
            await expect(box).to_have_attribute("data-state", "talking")
            await expect(card).to_have_attribute("data-state", "on-call", timeout=SECOND)
            assert await agent.evaluate("window.pbxSoftphone.callState") == "active"
            await expect(wallboard.locator("#total-answered")).to_have_text("1", timeout=SECOND)

            # Audio both ways: the browser's microphone reaches sipp (echoed back), and what
            # sipp sends reaches the browser.
            first = await until(lambda: stats(agent),
                                lambda s: s["bytesReceived"] > 0 and s["bytesSent"] > 0)
            channel = stack.app.acd.live(call_id).call.channel_id
            before = await stack.app.ari.channels.rtp_statistics(channel)
            await asyncio.sleep(1.0)  # a second of audio on purpose: the counters it moves
            after = await stack.app.ari.channels.rtp_statistics(channel)
            assert after["txcount"] > before["txcount"] + 20, (before, after)  # to sipp
            assert after["rxcount"] > before["rxcount"] + 20, (before, after)  # from sipp
            later = await stats(agent)
            assert later["bytesReceived"] > first["bytesReceived"], (first, later)
            assert later["bytesSent"] > first["bytesSent"], (first, later)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await agent.screenshot(path=str(SCREENSHOTS / "agent.png"))

            hold = agent.get_by_test_id("hold")
            activity = wallboard.get_by_test_id("activity").locator("li")
            talking = activity.filter(has_text=f"Call from {CALLER} talking")
            await expect(talking).to_have_count(1)
            # The answer in the IVR changes nothing the activity says: one line, not two.
            await expect(activity.filter(has_text=f"Call from {CALLER} ivr")).to_have_count(1)
            await hold.click()
            await expect(box).to_have_attribute("data-state", "held")
            await expect(activity.filter(has_text=f"Call from {CALLER} held")).to_have_count(
                1, timeout=SECOND)
            await stack.wait_for(call_id, "HOLD")
            await expect(hold).to_have_text("Resume")
            await hold.click()
            await expect(box).to_have_attribute("data-state", "talking")
            await expect(talking).to_have_count(2, timeout=SECOND)
            await stack.wait_for(call_id, "UNHOLD")
            await wallboard.screenshot(path=str(SCREENSHOTS / "manager.png"))

            await agent.get_by_test_id("hangup").click()
            await expect(agent.get_by_test_id("agent-state")).to_have_text("wrap-up")
            await expect(card).to_have_attribute("data-state", "wrap-up", timeout=SECOND)
            await expect(box).to_have_attribute("data-state", "idle")
            result = await caller
            assert result.ok, result.describe()

        # The disposition is required to leave wrap-up, then saved on the call.
        panel = agent.get_by_test_id("disposition-panel")
        await expect(panel).to_be_visible()
        await agent.select_option("#state-select", "available")
        await agent.click("#apply-state")
        await expect(agent.locator("#state-error")).to_contain_text("Save the disposition")
        await expect(agent.get_by_test_id("agent-state")).to_have_text("wrap-up")
        await agent.select_option("#disposition", "Resolved")
        await agent.fill("#notes", "Reset the password; works now")
        await agent.click("#save-disposition")
        await expect(panel).to_be_hidden()
        record = await stack.call(call_id)
        assert record is not None
        assert (record.disposition, record.notes) == ("Resolved", "Reset the password; works now")
        assert record.from_number == CALLER and record.to_number == DID
        assert record.agent_user_id == stack.users["alice"] and record.answered_at is not None
        await agent.click("#apply-state")
        await expect(agent.get_by_test_id("agent-state")).to_have_text("available")
        await expect(card).to_have_attribute("data-state", "available", timeout=SECOND)
        await expect(card).to_contain_text("1 call today", timeout=SECOND)
        await expect(tile.get_by_test_id("waiting")).to_have_text("0")

        # The manager's report of the day: the call answered in support, by Alice.
        await stack.wait_for(call_id, "WRAPUPEND")
        await wallboard.goto(f"{stack.base_url}/reports")
        support = wallboard.get_by_test_id("rep-queues").locator("tr[data-queue=support]")
        await expect(support.locator("td").nth(1)).to_have_text("1")  # answered
        alice = wallboard.get_by_test_id("rep-agents").locator(
            f"tr[data-agent='{stack.users['alice']}']")
        await expect(alice).to_contain_text("Alice Agent")
        await expect(alice.locator("td").nth(1)).to_have_text("1")  # answered
        await wallboard.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)
        # The page's address names its period: a link opens the same report.
        today = await wallboard.input_value("#r-from")
        assert re.search(rf"/reports\?from={today}&to={today}&tz=[\w/%]+$", wallboard.url), (
            wallboard.url)
        await wallboard.goto(f"{stack.base_url}/reports?from=2020-01-01")
        await expect(wallboard.get_by_test_id("rep-summary")).to_have_text(
            re.compile(r"^2020-01-01 · \S+$"))
        # A report in a center's own time zone (issue 13: reports were UTC only).
        await wallboard.goto(f"{stack.base_url}/reports?from=2020-01-01&tz=Asia/Dubai")
        await expect(wallboard.get_by_test_id("rep-summary")).to_have_text(
            "2020-01-01 · Asia/Dubai")
        await expect(wallboard.get_by_test_id("rep-queues")).to_contain_text("No calls")

    rows = await stack.journal(call_id)
    events = [row.event for row in rows]
    assert [r.data["node"] for r in rows if r.event == "ivr.enter"] == ["welcome", "to_support"]
    story = [e for e in events if e in {"ENTERQUEUE", "OFFER", "CONNECT", "HOLD", "UNHOLD",
                                        "COMPLETEAGENT", "WRAPUPSTART", "WRAPUPEND"}]
    assert story == ["ENTERQUEUE", "OFFER", "CONNECT", "HOLD", "UNHOLD", "COMPLETEAGENT",
                     "WRAPUPSTART", "WRAPUPEND"], events
    assert rows[events.index("WRAPUPEND")].data["early"] is True  # ended by "Available"


async def test_a_supervisor_listens_to_a_live_call_from_the_page(
    stack: LiveStack, browser: Browser, tmp_path: Path
) -> None:
    """Listen driven from /supervise: the supervisor's own softphone is called, answers by
    itself, hears the conversation, and Stop leaves the call as it was."""
    async with opened(browser) as wallboard, opened(browser) as agent, \
            opened(browser) as supervisor:
        await log_in(wallboard, stack, "morgan")
        await agent_ready(agent, stack, wallboard)
        async with caller_on_the_line(stack, tmp_path) as caller:
            box = agent.get_by_test_id("call-box")
            await expect(box).to_have_attribute("data-state", "ringing", timeout=15_000)
            call_id = await agent.evaluate("window.pbxSoftphone.callId")
            await agent.get_by_test_id("answer").click()
            await expect(box).to_have_attribute("data-state", "talking")

            await log_in(supervisor, stack, "sam")
            await supervisor.goto(f"{stack.base_url}/supervise")
            await until(lambda: supervisor.evaluate("window.pbxSoftphone.registered"), bool)
            await expect(supervisor.get_by_test_id("sip-status")).to_have_text("Phone: ready")
            await supervisor.get_by_test_id(f"listen-{call_id}").click()
            await until(lambda: supervisor.evaluate("window.pbxSoftphone.mode"),
                        lambda mode: mode == "listen")
            first = await until(lambda: stats(supervisor), lambda s: s["bytesReceived"] > 0)
            await asyncio.sleep(1.0)  # a second of listening on purpose: audio keeps coming
            later = await stats(supervisor)
            assert later["bytesReceived"] > first["bytesReceived"], (first, later)
            await stack.wait_for(call_id, "SUPERVISE_START")

            await supervisor.get_by_test_id(f"stop-{call_id}").click()
            await until(lambda: supervisor.evaluate("window.pbxSoftphone.mode"),
                        lambda mode: mode is None)
            await expect(box).to_have_attribute("data-state", "talking")  # the call goes on
            await agent.get_by_test_id("hangup").click()
            await expect(box).to_have_attribute("data-state", "idle")
            result = await caller
            assert result.ok, result.describe()
        # Back to available for the tests after this one (wrap-up needs a disposition).
        await agent.select_option("#disposition", "Resolved")
        await agent.click("#save-disposition")
        await expect(agent.get_by_test_id("disposition-panel")).to_be_hidden()  # saved
        await agent.select_option("#state-select", "available")
        await agent.click("#apply-state")
        await expect(agent.get_by_test_id("agent-state")).to_have_text("available")


async def test_the_agent_dials_out_from_the_dial_pad(
    stack: LiveStack, browser: Browser, tmp_path: Path
) -> None:
    # The tenant's outbound numbers: the dial pad offers them as "Call as".
    await CallerIdStore(stack.db).set_caller_ids(stack.tenant_id, CallerIds((
        OutboundNumber(SALES_LINE, "Sales", default=True),
        OutboundNumber(SUPPORT_LINE, "Support"))), by="test")
    carrier = await asyncio.to_thread(stack.carrier, tmp_path)
    try:
        async with opened(browser) as wallboard, opened(browser) as agent:
            await log_in(wallboard, stack, "morgan")
            card = wallboard.get_by_test_id(f"agent-{stack.users['alice']}")
            await agent_ready(agent, stack, wallboard)

            for digit in OUTBOUND_NUMBER:
                await agent.get_by_test_id(f"key-{digit}").click()
            await expect(agent.get_by_test_id("dial-number")).to_have_value(OUTBOUND_NUMBER)
            call_as = agent.get_by_test_id("dial-as")
            await expect(call_as).to_be_visible()
            await expect(call_as.locator("option")).to_have_text([
                "Automatic: my queue's or the default number",
                f"Sales · {SALES_LINE} (default)", f"Support · {SUPPORT_LINE}"])
            await call_as.select_option(SUPPORT_LINE)
            await agent.get_by_test_id("dial").click()
            # The agent's phone rings first and answers by itself (X-PBX-Auto-Answer); the
            # agent is paused while the number rings so no queue call is offered meanwhile.
            await until(lambda: call_state(agent), lambda state: state == "active")
            calls = await until(
                stack.calls, lambda calls: any(c.direction == "outbound" for c in calls))
            [outbound] = [c for c in calls if c.direction == "outbound"]
            await stack.wait_for(outbound.id, "transfer.answered")  # the carrier answered
            await until(lambda: stats(agent),
                        lambda s: s["bytesSent"] > 0 and s["bytesReceived"] > 0)

            # Issue 13: the call box of an outbound call is a full call's: the number, a timer
            # from the answer, Hold, Mute and Transfer, the keypad sending tones.
            box = agent.get_by_test_id("call-box")
            await expect(box).to_have_attribute("data-state", "talking")
            await expect(agent.locator("#call-label")).to_have_text("On call")
            await expect(agent.get_by_test_id("caller-number")).to_have_text(OUTBOUND_NUMBER)
            await expect(agent.get_by_test_id("call-timer")).to_have_text(re.compile(r"0:0[1-9]"))
            await expect(agent.get_by_test_id("call-context")).to_contain_text(
                f"outbound call as {SUPPORT_LINE}")
            for control in ("hold", "mute", "transfer", "hangup"):
                await expect(agent.get_by_test_id(control)).to_be_enabled()
            await expect(card).to_have_attribute("data-state", "on-call", timeout=SECOND)
            async with agent.expect_response(lambda r: r.url.endswith("/dtmf")) as tone:
                await agent.get_by_test_id("key-5").click()
            assert (await tone.value).status == 204
            await expect(agent.get_by_test_id("dial-number")).to_have_value(OUTBOUND_NUMBER)
            hold = agent.get_by_test_id("hold")
            await hold.click()
            await expect(box).to_have_attribute("data-state", "held")
            await expect(hold).to_have_text("Resume")
            await stack.wait_for(outbound.id, "HOLD")
            await hold.click()
            await expect(box).to_have_attribute("data-state", "talking")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await agent.screenshot(path=str(SCREENSHOTS / "agent-outbound-call.png"))
            await agent.set_viewport_size({"width": 390, "height": 844})
            await expect(box).to_be_visible()
            sideways = await agent.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert sideways <= 0, f"the page scrolls sideways by {sideways} px at 390 px"
            await agent.screenshot(path=str(SCREENSHOTS / "agent-outbound-call-390.png"))
            await agent.set_viewport_size({"width": 1440, "height": 900})

            # Hung up: wrap-up, with the disposition of the outbound call.
            await agent.get_by_test_id("hangup").click()
            await until(lambda: call_state(agent), lambda state: state == "idle")
            await expect(agent.get_by_test_id("agent-state")).to_have_text("wrap-up")
            await expect(card).to_have_attribute("data-state", "wrap-up", timeout=SECOND)
            panel = agent.get_by_test_id("disposition-panel")
            await expect(panel).to_be_visible()
            await agent.select_option("#disposition", "Resolved")
            await agent.click("#save-disposition")
            await expect(panel).to_be_hidden()
            await agent.select_option("#state-select", "available")
            await agent.click("#apply-state")
            await expect(card).to_have_attribute("data-state", "available", timeout=SECOND)
    finally:
        result = await asyncio.to_thread(carrier.stop)
    assert result.successful == 1 and result.failed == 0, result.describe()

    async def ended() -> Any:
        return await stack.call(outbound.id)

    record = await until(ended, lambda r: r is not None and r.ended_at is not None)
    assert record.to_number == OUTBOUND_NUMBER
    assert record.from_number == SUPPORT_LINE  # the number chosen to call as
    assert record.answered_at is not None
    events = {row.event: row.data for row in await stack.journal(outbound.id)}
    # the trunk dials the E.164 form the dialling policy judged, whatever the agent typed
    assert events["transfer.dial"]["number"] == "+" + OUTBOUND_NUMBER
    assert events["transfer.dial"]["caller_id"] == SUPPORT_LINE
    assert events["OUTBOUND"]["number"] == OUTBOUND_NUMBER
    assert events["OUTBOUND"]["agent"] == "alice"
    assert events["transfer.end"]["result"] == "completed"
    assert events["COMPLETEAGENT"]["outbound"] is True
    assert record.disposition == "Resolved" and record.agent_user_id == stack.users["alice"]


async def test_a_tenant_without_dispositions_never_traps_the_agent_in_wrap_up(
    stack: LiveStack, browser: Browser, tmp_path: Path
) -> None:
    """Issue 13: with no disposition to choose, an agent could not leave wrap-up at all. Now
    wrap-up asks none and ends on its own timer; the agent may also leave it at once."""
    dispositions = Dispositions(stack.db)
    kept = await dispositions.for_tenant(stack.tenant_id)
    for d in kept:  # the tenant retires every disposition
        await dispositions.update(stack.tenant_id, d.id, name=d.name, position=d.position,
                                  requires_follow_up=d.requires_follow_up, active=False)
    await stack.app.acd.save_queue(stack.tenant_id, "support",
                                   {"wrapup": 3, "ring_timeout": 20})
    try:
        # The Stasis side reads which tenants have dispositions every few seconds.
        await eventually(lambda: stack.app.acd.disposition_required(stack.tenant_id),
                         until=lambda required: not required, within=15)
        async with opened(browser) as wallboard, opened(browser) as agent:
            await log_in(wallboard, stack, "morgan")
            card = wallboard.get_by_test_id(f"agent-{stack.users['alice']}")
            await agent_ready(agent, stack, wallboard)
            async with caller_on_the_line(stack, tmp_path) as caller:
                box = agent.get_by_test_id("call-box")
                await expect(box).to_have_attribute("data-state", "ringing", timeout=15_000)
                await agent.get_by_test_id("answer").click()
                await expect(box).to_have_attribute("data-state", "talking")
                await agent.get_by_test_id("hangup").click()
                await expect(agent.get_by_test_id("agent-state")).to_have_text("wrap-up")
                result = await caller
                assert result.ok, result.describe()
            await expect(agent.get_by_test_id("disposition-panel")).to_be_hidden()
            # Wrap-up ends by itself when its 3 s are over: no disposition holds the agent.
            await expect(card).to_have_attribute("data-state", "available", timeout=8_000)
            await expect(agent.get_by_test_id("agent-state")).to_have_text("available")
    finally:
        await stack.app.acd.save_queue(stack.tenant_id, "support",
                                       {"wrapup": 30, "ring_timeout": 20})
        for d in kept:
            await dispositions.update(stack.tenant_id, d.id, name=d.name, position=d.position,
                                      requires_follow_up=d.requires_follow_up, active=True)


async def test_the_agent_records_on_demand_and_pauses_for_a_card_number(
    stack: LiveStack, browser: Browser, tmp_path: Path
) -> None:
    """Issue 13: agents had no record / pause-recording button though the API has both."""
    policies = stack.app.recorder.policies
    await policies.set_policy(stack.tenant_id, "support", RecordingPolicy(PolicyMode.ON_DEMAND))
    try:
        async with opened(browser) as wallboard, opened(browser) as agent:
            await log_in(wallboard, stack, "morgan")
            await agent_ready(agent, stack, wallboard)
            async with caller_on_the_line(stack, tmp_path) as caller:
                box = agent.get_by_test_id("call-box")
                await expect(box).to_have_attribute("data-state", "ringing", timeout=15_000)
                call_id = await agent.evaluate("window.pbxSoftphone.callId")
                await agent.get_by_test_id("answer").click()
                await expect(box).to_have_attribute("data-state", "talking")
                state, button = agent.get_by_test_id("rec-state"), agent.get_by_test_id("rec-btn")
                await expect(state).to_have_text("Not recorded")
                await expect(button).to_have_text("Record")
                await button.click()
                await expect(state).to_have_text("Recording")
                await expect(button).to_have_text("Pause recording")
                await button.click()  # the caller reads a card number
                await expect(state).to_have_text("Recording paused")
                await button.click()
                await expect(state).to_have_text("Recording")
                await agent.screenshot(path=str(SCREENSHOTS / "agent-recording.png"))
                await agent.get_by_test_id("hangup").click()
                result = await caller
                assert result.ok, result.describe()
            await expect(agent.get_by_test_id("rec-row")).to_be_hidden()
        rows = await stack.journal(call_id)
        events = [row.event for row in rows]
        # The recording's life; beside it each party's track is journaled (RECORDTRACK).
        lifecycle = [e for e in events if e.startswith("RECORD") and e != "RECORDTRACK"]
        assert lifecycle[:3] == ["RECORDSTART", "RECORDPAUSE", "RECORDRESUME"], events
        assert sorted(row.data["speaker"] for row in rows if row.event == "RECORDTRACK") == [
            "agent", "customer"], events
    finally:
        await policies.set_policy(stack.tenant_id, "support", RecordingPolicy(PolicyMode.NONE))


async def test_admin_pages_on_the_live_stack(stack: LiveStack, browser: Browser) -> None:
    async with opened(browser) as admin:
        await log_in(admin, stack, "root", feed=False)
        assert admin.url.endswith("/admin/users")
        await expect(admin.get_by_test_id("user-alice")).to_contain_text("Alice Agent")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await admin.screenshot(path=str(SCREENSHOTS / "admin.png"))
        await admin.goto(f"{stack.base_url}/admin/ivr")
        await expect(admin.get_by_test_id("flow-support")).to_be_visible()
        await admin.get_by_test_id("flow-support").click()
        await expect(admin.get_by_test_id("flow-text")).to_have_value(
            re.compile("to_support"))
        await admin.screenshot(path=str(SCREENSHOTS / "ivr-editor.png"))


async def test_a_supervisor_sees_where_each_call_is_and_acts_on_a_waiting_caller(
    stack: LiveStack, browser: Browser, tmp_path: Path
) -> None:
    """Issue 13 item 6: a caller waiting in a queue showed as state "ivr" with no queue, and
    waiting calls had no actions. Now each call says its stage (the queue, its place, its wait,
    its priority) and a supervisor moves it, raises its priority or sends it to voicemail."""
    assert stack.agent is not None
    await stack.app.acd.save_queue(stack.tenant_id, "billing", {})
    stack.app.acd.pause(stack.agent.agent_id, "break")  # nobody takes the call: it waits
    try:
        async with opened(browser) as supervisor:
            await log_in(supervisor, stack, "sam")
            await supervisor.goto(f"{stack.base_url}/supervise")
            await expect(supervisor.get_by_test_id("feed-status")).to_have_text("Live")
            async with caller_on_the_line(stack, tmp_path) as caller:
                calls = await until(stack.calls, lambda calls: any(
                    c.from_number == CALLER and c.ended_at is None for c in calls), within=15)
                [call] = [c for c in calls if c.from_number == CALLER and c.ended_at is None]
                row = supervisor.get_by_test_id(f"live-{call.id}")
                stage = row.get_by_test_id("stage")
                await expect(stage).to_contain_text("waiting · in support · #1", timeout=10_000)
                await expect(row.get_by_test_id("state")).to_contain_text("queued")
                await expect(stage).to_contain_text(re.compile(r"waited 0:0[1-9]"))
                await supervisor.get_by_test_id(f"priority-{call.id}").click()
                await expect(stage).to_contain_text("priority 1", timeout=SECOND * 3)
                await supervisor.screenshot(path=str(SCREENSHOTS / "supervise-waiting.png"))
                await supervisor.set_viewport_size({"width": 390, "height": 844})
                await expect(row).to_be_visible()
                sideways = await supervisor.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth")
                await supervisor.screenshot(path=str(SCREENSHOTS / "supervise-waiting-390.png"),
                                            full_page=True)
                assert sideways <= 0, f"the page scrolls sideways by {sideways} px at 390 px"
                await supervisor.set_viewport_size({"width": 1440, "height": 900})
                await supervisor.get_by_test_id(f"move-{call.id}").select_option("billing")
                await expect(stage).to_contain_text("in billing", timeout=SECOND * 3)
                moved = await stack.wait_for(call.id, "supervisor.move")
                assert moved[0].data == {"queue": "billing", "before": "support", "by": "sam"}
                # To voicemail: the caller leaves a message in billing's mailbox, then the call
                # ends (hang up, the other way out, is the agent's button, tested above).
                await supervisor.get_by_test_id(f"voicemail-{call.id}").click()
                # Kept, or left out as empty (under 1 s of sound): either names the mailbox.
                try:
                    [message] = await eventually(
                        lambda: stack.journal(call.id, "ivr.voicemail", "ivr.voicemail_empty"),
                        within=20)
                except AssertionError as failed:  # once seen under load: say where it stood
                    seen = [(r.event, r.data) for r in await stack.journal(call.id)]
                    raise AssertionError(f"{failed}\nthe call's journal: {seen}") from None
                assert (message.data["mailbox_kind"], message.data["mailbox"]) == (
                    "queue", "billing")
                await expect(row).to_have_count(0, timeout=SECOND * 5)
                result = await caller
                assert result.ok, result.describe()  # the caller got our BYE
    finally:
        stack.app.acd.unpause(stack.agent.agent_id)
    rows = await stack.journal(call.id)
    story = [r.event for r in rows if r.event in {
        "ENTERQUEUE", "TRANSFER", "ABANDON", "supervisor.priority", "supervisor.move",
        "supervisor.voicemail"}]
    assert story == ["ENTERQUEUE", "supervisor.priority", "supervisor.move", "TRANSFER",
                     "ENTERQUEUE", "supervisor.voicemail", "TRANSFER"], story
    assert rows[-1].event == "CALLEND" and rows[-1].data["by"] == "app"
