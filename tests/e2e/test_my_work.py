"""The agent's "My work" list in Chromium at a phone's width and a desktop's: tasks and
follow-ups due first, click-to-call from an item (the call reaches the contact center with the
task's number), the reason shown on an item compliance refuses (do-not-call), and a task that
cannot be finished without an outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
import screenshots
from opened import log_in, opened
from playwright.async_api import Browser, Page, expect
from web_world import World

from pbx_stasis.leads.service import LEADS, TaskDraft
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()


@pytest_asyncio.fixture(loop_scope="module", params=[390, 1440], ids=["390px", "1440px"])
async def sized(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with opened(browser, int(request.param)) as page:
        yield page


async def test_my_work_calls_a_task_shows_refusals_and_needs_an_outcome(
    sized: Page, world: World
) -> None:
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    tenant_id = world.tenant_ids["acme"]
    agent = world.person("acme", Role.AGENT)
    record = world.center.agent_records[(tenant_id, agent.user_id)]
    record.state = record.state.__class__("offline")  # idle: each width places a call
    leads = world.app[LEADS]
    # Unique numbers per width: the tasks of the other width are done or refused already.
    n = width // 10 % 100
    now = utc_now()
    listed, ordinary = f"+141555501{n}", f"+141555502{n}"
    await leads.compliance.add(tenant_id, [(listed, "asked us")], source="api", by="test")
    for number, name, minutes in ((ordinary, f"Ada {width}", 60), (listed, f"Bob {width}", 30)):
        await leads.tasks.create(tenant_id, TaskDraft(
            number=number, name=name, due_at=now - timedelta(minutes=minutes),
            owner_user_id=agent.user_id, priority=1), by="test", source="api")

    base = await log_in(page, world, Role.AGENT)
    await page.goto(f"{base}/agent")
    work = page.get_by_test_id("my-work")
    ada = work.get_by_test_id("work-item").filter(has_text=f"Ada {width}")
    bob = work.get_by_test_id("work-item").filter(has_text=f"Bob {width}")
    await expect(ada).to_be_visible()
    # The earliest due first.
    names = await work.get_by_test_id("work-item").all_inner_texts()
    assert names.index(next(t for t in names if f"Ada {width}" in t)) < names.index(
        next(t for t in names if f"Bob {width}" in t))
    await work.scroll_into_view_if_needed()
    await page.screenshot(path=str(SCREENSHOTS / f"my-work-{width}.png"), full_page=False)

    # Click-to-call: the agent's call to the task's number, the task in progress.
    await ada.get_by_test_id("work-call").click()
    await expect(ada).to_contain_text("in progress")
    assert ("dial", tenant_id, agent.user_id, ordinary) in world.center.asked

    # Finishing needs an outcome: refused with why, then done and gone from the list.
    await ada.get_by_test_id("work-done").click()
    await ada.get_by_test_id("work-done-save").click()
    await expect(ada.get_by_test_id("work-error")).to_have_text("Outcome must not be empty")
    await ada.get_by_test_id("work-outcome").fill("Sale")
    await ada.get_by_test_id("work-done-save").click()
    await expect(ada).to_have_count(0)

    # The listed number: refused, the reason on the item, nothing dialled.
    await bob.get_by_test_id("work-call").click()
    await expect(bob.get_by_test_id("work-error")).to_contain_text("do-not-call list")
    assert not any(ask[:1] == ("dial",) and listed in ask for ask in world.center.asked)
    # A task by hand: a bad number is refused naming the field, a good one joins the list.
    await work.locator("summary").click()
    await work.get_by_test_id("work-new-number").fill("12")
    await work.get_by_test_id("work-new-save").click()
    await expect(work.locator("[data-work-new-errors]")).to_contain_text("number: is not a valid")
    await work.get_by_test_id("work-new-number").fill(f"+141555503{n}")
    await work.get_by_test_id("work-new-save").click()
    await expect(work.get_by_test_id("work-item").filter(has_text=f"+141555503{n}")).to_be_visible()
    extra = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert extra <= 0, f"the agent page scrolls sideways by {extra} px at {width} px"
    await work.scroll_into_view_if_needed()
    await page.screenshot(path=str(SCREENSHOTS / f"my-work-refused-{width}.png"))


async def test_the_outbound_page_imports_a_list_and_shows_refused_dials(
    sized: Page, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = sized
    width = page.viewport_size["width"] if page.viewport_size else 0
    leads = world.app[LEADS]
    tenant_id = world.tenant_ids["acme"]
    agent = world.person("acme", Role.AGENT)
    # A refused dial to read (the task test's too, when it ran first).
    listed = f"+141555509{width // 10 % 100}"
    await leads.compliance.add(tenant_id, [(listed, None)], source="api", by="test")
    task = await leads.tasks.create(tenant_id, TaskDraft(
        number=listed, due_at=utc_now(), owner_user_id=agent.user_id), by="test", source="api")
    ruling = await leads.tasks.may_call(tenant_id, task, by="agent", user_id=agent.user_id)
    assert not ruling.allowed
    await world.db.writes.settle()
    csv_file = tmp_path_factory.mktemp("csv") / "leads.csv"
    csv_file.write_text("Customer,Phone\nAda,+14155550100\nBad,12\nAda again,+1 415 555 0100\n")

    base = await log_in(page, world, Role.SUPERVISOR)
    await page.goto(f"{base}/outbound")
    await expect(page.get_by_test_id("refusal").filter(has_text=listed)).to_contain_text(
        "do-not-call")
    await page.fill("#im-name", f"Import {width}")
    await page.get_by_test_id("import-file").set_input_files(str(csv_file))
    await page.get_by_test_id("import-save").click()
    report = page.get_by_test_id("import-report")
    await expect(report).to_contain_text("1 imported of 3 rows: 1 invalid, 1 duplicate(s).")
    await expect(report).to_contain_text("line 3: number: '12' is not a valid phone number")
    imported = page.get_by_test_id("lead-list").filter(has_text=f"Import {width}")
    await expect(imported).to_be_visible()
    await page.get_by_test_id("dnc-number").fill("415 555 0166")
    await page.get_by_test_id("dnc-save").click()
    await expect(page.get_by_test_id("dnc-list")).to_contain_text("+14155550166")
    extra = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert extra <= 0, f"the outbound page scrolls sideways by {extra} px at {width} px"
    await page.screenshot(path=str(SCREENSHOTS / f"outbound-{width}.png"), full_page=True)
