"""The scorecard editor in a real Chromium, clicked the way an admin does it. At 1440 px the admin
builds a scorecard from scratch (sections, questions of each kind, choices with their worth, a
critical question, an answer from a keyword category), watches the total weight follow, saves,
finds the API's refusals beside the fields they name (a choice's label used twice, a weight over
100, a name taken), corrects them and saves; then edits the demo's scorecard (a section moved, a
question removed, a weight changed, a change discarded), peeks at its JSON. At 390 px (a phone)
the admin edits the demo's sales scorecard, meets an empty question beside its field, saves it;
a supervisor reads the scorecards without a way to change them.

Screenshots: build/screenshots/scorecard-editor-{1440,390}.png, scorecard-editor-errors-1440.png,
scorecard-read-390.png.
"""

from __future__ import annotations

from typing import Any

import pytest
import screenshots
from opened import opened
from playwright.async_api import Browser, Locator, Page, expect
from test_supervisor_pages import log_in
from web_world import World

from pbx_stasis.demo import SALES_SCORECARD, SCORECARD
from pbx_stasis.evaluations.model import ScorecardFields
from pbx_stasis.evaluations.service import EVALUATIONS
from pbx_stasis.store.tables import Role

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SCREENSHOTS = screenshots.folder()


async def _demo_scorecards(world: World) -> None:
    """The demo's two scorecards in acme (once)."""
    service = world.app[EVALUATIONS]
    tenant_id = world.tenant_ids["acme"]
    have = {card.name for card in await service.scorecards(tenant_id)}
    for card in (SCORECARD, SALES_SCORECARD):
        if card["name"] not in have:
            await service.save_scorecard(tenant_id, ScorecardFields.model_validate(card),
                                         world.person("acme", Role.ADMIN).user_id)


async def _stored(world: World, name: str) -> dict[str, Any]:
    cards = await world.app[EVALUATIONS].scorecards(world.tenant_ids["acme"])
    return next(card.definition for card in cards if card.name == name)


def _field(page: Page, path: str) -> Locator:
    return page.get_by_test_id(f"sc-{path}")


def _error(page: Page, path: str) -> Locator:
    return page.get_by_test_id(f"sc-error-{path}")


async def _no_sideways_scroll(page: Page) -> None:
    assert await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


async def test_an_admin_builds_a_scorecard_and_edits_the_demos(page: Page, world: World) -> None:
    await _demo_scorecards(world)
    await log_in(page, world, Role.ADMIN, "/evaluations")
    panel = page.get_by_test_id("sc-panel")
    await expect(panel).to_be_visible()
    await expect(page.get_by_test_id("sc-pick")).to_have_value("")  # a new scorecard
    await expect(page.get_by_test_id("sc-save")).to_have_text("Create the scorecard")

    # From scratch: a question's id follows its text until the admin types one.
    await _field(page, "name").fill("Returns desk")
    await _field(page, "sections.0.title").fill("Opening")
    await _field(page, "sections.0.questions.0.text").fill("Greeted the customer")
    await expect(_field(page, "sections.0.questions.0.id")).to_have_value("greeted-the-customer")
    await _field(page, "sections.0.questions.0.weight").fill("2")
    await _field(page, "sections.0.questions.0.auto").select_option("category")
    await _field(page, "sections.0.questions.0.auto.category").fill("greeting")
    await page.get_by_test_id("sc-add-question-0").click()
    await _field(page, "sections.0.questions.1.text").fill("Tone and courtesy")
    await _field(page, "sections.0.questions.1.kind").select_option("scale")
    await _field(page, "sections.0.questions.1.scale").fill("10")
    await _field(page, "sections.0.questions.1.weight").fill("200")  # a slip: at most 100
    await page.get_by_test_id("sc-add-section").click()
    await _field(page, "sections.1.title").fill("Outcome")
    await _field(page, "sections.1.questions.0.text").fill("Outcome of the request")
    await _field(page, "sections.1.questions.0.kind").select_option("choice")
    await _field(page, "sections.1.questions.0.critical").check()
    for k, (label, worth) in enumerate([("Resolved", "100"), ("Resolved", "0")]):
        await page.get_by_test_id("sc-add-choice-1-0").click()
        await _field(page, f"sections.1.questions.0.choices.{k}.label").fill(label)
        await _field(page, f"sections.1.questions.0.choices.{k}.score").fill(worth)
    total = page.get_by_test_id("sc-total")
    await expect(total).to_contain_text("Total weight: 203 points")
    await expect(page.get_by_test_id("sc-section-weight-1")).to_have_text(
        "1 point · 0% of the score")

    # The API refuses: each message beside the field it names, the summary counts them.
    await page.get_by_test_id("sc-save").click()
    await expect(_error(page, "sections.0.questions.1.weight")).to_have_text(
        "must be at most 100")
    await expect(_error(page, "sections.1.questions.0.choices.1.label")).to_have_text(
        "another choice has this label")
    await expect(page.get_by_test_id("sc-errors")).to_contain_text("Not saved: 2 problems")
    await expect(_field(page, "sections.0.questions.1.weight")).to_have_class("invalid")
    # (The screen as the admin sees it: the form scrolled to the first refusal.)
    await page.screenshot(path=str(SCREENSHOTS / "scorecard-editor-errors-1440.png"))
    # Correcting a field clears its message; the total follows the weight.
    await _field(page, "sections.0.questions.1.weight").fill("3")
    await expect(_error(page, "sections.0.questions.1.weight")).to_be_empty()
    await expect(total).to_contain_text("Total weight: 6 points · Opening 83% · Outcome 17%")
    await _field(page, "sections.1.questions.0.choices.1.label").fill("Not resolved")
    # A name another scorecard has: refused beside the name.
    await _field(page, "name").fill(SCORECARD["name"])
    await page.get_by_test_id("sc-save").click()
    await expect(_error(page, "name")).to_have_text(
        f"a scorecard named '{SCORECARD['name']}' exists already")
    await _field(page, "name").fill("Returns desk")
    await page.get_by_test_id("sc-save").click()
    await expect(page.get_by_test_id("sc-status")).to_have_text("Saved")
    await expect(page.get_by_test_id("sc-pick").locator("option:checked")).to_have_text(
        "Returns desk")
    assert await _stored(world, "Returns desk") == {
        "name": "Returns desk", "description": "", "active": True, "sections": [
            {"title": "Opening", "questions": [
                {"id": "greeted-the-customer", "text": "Greeted the customer", "kind": "yes-no",
                 "weight": 2.0, "critical": False, "scale": 5, "choices": [],
                 "auto": {"category": "greeting", "found": True, "figure": None,
                          "at_most": None, "at_least": None}},
                {"id": "tone-and-courtesy", "text": "Tone and courtesy", "kind": "scale",
                 "weight": 3.0, "critical": False, "scale": 10, "choices": [], "auto": None}]},
            {"title": "Outcome", "questions": [
                {"id": "outcome-of-the-request", "text": "Outcome of the request",
                 "kind": "choice", "weight": 1.0, "critical": True, "scale": 5,
                 "choices": [{"label": "Resolved", "score": 100.0},
                             {"label": "Not resolved", "score": 0.0}], "auto": None}]}]}

    # The demo's scorecard: what it holds is in the form.
    await page.get_by_test_id("sc-pick").select_option(label=SCORECARD["name"])
    await expect(_field(page, "sections.1.questions.2.choices.1.label")).to_have_value(
        "Escalated")
    await expect(_field(page, "sections.0.questions.1.critical")).to_be_checked()
    await expect(_field(page, "sections.1.questions.0.auto")).to_have_value("figure")
    await expect(_field(page, "sections.1.questions.0.auto.at_most")).to_have_value("2")
    await expect(total).to_contain_text("Total weight: 12 points")
    # A change discarded comes back as it was.
    await _field(page, "sections.0.title").fill("Hello")
    await expect(page.get_by_test_id("sc-status")).to_have_text("Unsaved changes")
    # Picking another scorecard with changes unsaved asks first (dismissed: it stays).
    page.once("dialog", lambda dialog: dialog.dismiss())
    await page.get_by_test_id("sc-pick").select_option(label="Returns desk")
    await expect(page.get_by_test_id("sc-pick").locator("option:checked")).to_have_text(
        SCORECARD["name"])
    await page.get_by_test_id("sc-discard").click()
    await expect(_field(page, "sections.0.title")).to_have_value("Opening")
    # The closing section above the conversation, the listening question out, tone weighs 4.
    await page.get_by_test_id("sc-section-2-up").click()
    await expect(_field(page, "sections.1.title")).to_have_value("Closing")
    await page.get_by_test_id("sc-question-2-0-remove").click()  # listening
    await expect(_field(page, "sections.2.questions.0.text")).to_have_value("Tone and courtesy")
    await _field(page, "sections.2.questions.0.weight").fill("4")
    await expect(page.get_by_test_id("sc-section-weight-2")).to_have_text(
        "7 points · 58% of the score")
    # The JSON behind the form, as the advanced mode shows it.
    await page.get_by_test_id("sc-advanced").click()
    await expect(page.get_by_test_id("sc-json")).to_be_visible()
    assert '"weight": 4' in await page.get_by_test_id("sc-json").input_value()
    await page.get_by_test_id("sc-advanced").click()
    await expect(page.get_by_test_id("sc-form")).to_be_visible()
    await page.get_by_test_id("sc-pick").scroll_into_view_if_needed()
    await page.evaluate("window.scrollBy(0, -120)")  # the picker below the sticky header
    await page.screenshot(path=str(SCREENSHOTS / "scorecard-editor-1440.png"))
    await page.get_by_test_id("sc-save").click()
    await expect(page.get_by_test_id("sc-status")).to_have_text("Saved")
    stored = await _stored(world, SCORECARD["name"])
    assert [s["title"] for s in stored["sections"]] == ["Opening", "Closing", "Conversation"]
    assert [(q["id"], q["weight"]) for q in stored["sections"][2]["questions"]] == [
        ("tone", 4.0), ("resolution", 3.0)]
    await _no_sideways_scroll(page)


async def test_on_a_phone_an_admin_edits_and_a_supervisor_reads(
    browser: Browser, world: World
) -> None:
    await _demo_scorecards(world)
    async with opened(browser, 390, 844) as phone:
        await log_in(phone, world, Role.ADMIN, "/evaluations")
        await phone.get_by_test_id("sc-pick").select_option(label=SALES_SCORECARD["name"])
        await expect(_field(phone, "sections.1.questions.0.auto.found")).to_have_value("false")
        await expect(_field(phone, "sections.1.questions.1.auto.figure")).to_have_value(
            "sentiment.customer")
        await phone.get_by_test_id("sc-add-question-1").click()
        await _field(phone, "sections.1.questions.3.weight").fill("2")
        await expect(phone.get_by_test_id("sc-total")).to_contain_text("Total weight: 14 points")
        await phone.get_by_test_id("sc-save").click()  # its text left empty
        error = _error(phone, "sections.1.questions.3.text")
        await expect(error).to_have_text("must not be empty")
        box = await error.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        await _no_sideways_scroll(phone)
        await phone.screenshot(path=str(SCREENSHOTS / "scorecard-editor-390.png"))
        await _field(phone, "sections.1.questions.3.text").fill("Summed up the order")
        await phone.get_by_test_id("sc-save").click()
        await expect(phone.get_by_test_id("sc-status")).to_have_text("Saved")
        stored = await _stored(world, SALES_SCORECARD["name"])
        assert stored["sections"][1]["questions"][3]["id"] == "summed-up-the-order"

    async with opened(browser, 390, 844) as phone:
        await log_in(phone, world, Role.SUPERVISOR, "/evaluations")
        read = phone.get_by_test_id("sc-read")
        await phone.get_by_test_id("sc-pick").select_option(label=SALES_SCORECARD["name"])
        await expect(read.get_by_test_id("sc-read-no-cancel")).to_contain_text(
            "auto: category cancel never said")
        await expect(read.get_by_test_id("sc-read-next-step")).to_contain_text("critical")
        await expect(read.get_by_test_id("sc-read-summed-up-the-order")).to_contain_text(
            "2 points")
        await expect(phone.get_by_test_id("sc-save")).to_be_hidden()
        controls = phone.locator("#sc-panel :is(input, textarea, button):visible")
        await expect(controls).to_have_count(0)
        await _no_sideways_scroll(phone)
        await phone.get_by_test_id("sc-panel").screenshot(
            path=str(SCREENSHOTS / "scorecard-read-390.png"))
