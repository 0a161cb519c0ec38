"""Evaluations through the API: answers that do not fit are refused per question, a dispute
needs a comment and is answered once, a supervisor scores a disputed evaluation again; and a
disposition saved after the transcript scores the call's insights again (insights:ready)."""

from __future__ import annotations

from analytics_samples import transcribed_recording
from evaluation_samples import ANSWERS, agents_recording, scorecard
from polling import eventually
from web_world import World

from pbx_stasis.analytics.events import INSIGHTS_READY
from pbx_stasis.analytics.rules import AnalyticsRulesFields
from pbx_stasis.analytics.store import AnalyticsStore
from pbx_stasis.evaluations.events import EVALUATION_SAVED
from pbx_stasis.recording.tables import Recording
from pbx_stasis.store.tables import Role


async def test_scoring_disputing_and_scoring_again(world: World) -> None:
    agent = world.person("acme", Role.AGENT)
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    me = await world.log_in(agent)
    card = await scorecard(world, "acme")
    recording = await agents_recording(world, "acme", agent.user_id)
    path = f"/api/recordings/{recording}/evaluations"
    saved = world.bus.subscribe((EVALUATION_SAVED,))

    bad = {**ANSWERS, "tone": {"value": 9}, "resolution": {"value": "Maybe"}}
    del bad["closing"]
    response = await world.request(supervisor, "POST", path, {"scorecard_id": card,
                                                              "answers": bad})
    assert response.status == 400
    assert (await response.json())["fields"] == {
        "answers.tone": "must be a whole number from 0 to 5",
        "answers.resolution": "must be one of: Resolved, Escalated, Unresolved",
        "answers.closing": "needs an answer"}
    response = await world.request(me, "POST", path, {"scorecard_id": card, "answers": ANSWERS})
    assert response.status == 403  # agents do not score

    failing = {**ANSWERS, "verified": {"value": False, "comment": "No identity check"}}
    response = await world.request(supervisor, "POST", path, {"scorecard_id": card,
                                                              "answers": failing})
    assert response.status == 201, await response.text()
    evaluation = (await response.json())["evaluation"]
    assert (evaluation["score"], evaluation["failed"], evaluation["status"]) == (
        0.0, True, "submitted")
    # The transcript says "Acme buy order": no greeting found, so "greeting: yes" overrides it.
    assert evaluation["overridden"] == ["greeting"]
    event = saved.get_nowait()
    assert event is not None and event.payload.agent_user_id == agent.user_id

    answer = f"/api/evaluations/{evaluation['id']}"
    response = await world.request(me, "POST", f"{answer}/dispute", {"comment": " "})
    assert (response.status, (await response.json())["fields"]) == (
        400, {"comment": "say what you dispute"})
    response = await world.request(me, "POST", f"{answer}/dispute",
                                   {"comment": "I checked the account number"})
    assert (await response.json())["evaluation"]["status"] == "disputed"
    response = await world.request(me, "POST", f"{answer}/acknowledge", {})
    assert response.status == 409
    response = await world.request(supervisor, "PUT", answer, {"scorecard_id": card,
                                                               "answers": ANSWERS})
    rescored = (await response.json())["evaluation"]
    assert (rescored["score"], rescored["failed"], rescored["status"]) == (86.7, False,
                                                                           "submitted")
    assert rescored["agent_comment"] == "I checked the account number"
    response = await world.request(me, "POST", f"{answer}/acknowledge", {})
    assert (await response.json())["evaluation"]["status"] == "acknowledged"

    # The agent reads their own only; another tenant's people reach none.
    mine = await (await world.request(me, "GET", "/api/evaluations?agent=999")).json()
    assert [e["id"] for e in mine["evaluations"]] == [evaluation["id"]]
    stranger = await world.log_in(world.person("globex", Role.ADMIN))
    assert (await world.request(stranger, "GET", answer)).status == 404
    assert (await (await world.request(stranger, "GET", "/api/evaluations")).json()) == {
        "evaluations": []}
    saved.close()


async def test_a_disposition_saved_later_scores_the_calls_insights_again(
        world: World) -> None:
    tenant_id = world.tenant_ids["acme"]
    await AnalyticsStore(world.db).set_rules(tenant_id, AnalyticsRulesFields.model_validate(
        {"lead": {"outcome_points": {"Sale": 60}, "threshold": 50}}))
    recording = await transcribed_recording(world, "acme")  # scored 0 by its rules then
    async with world.db.session() as session:
        row = await session.get(Recording, recording)
        assert row is not None
        call_id = row.call_id
    ready = world.bus.subscribe((INSIGHTS_READY,))
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    response = await world.request(manager, "PUT", f"/api/calls/{call_id}/disposition",
                                   {"disposition": "Sale"})
    assert response.status == 200, await response.text()

    async def lead() -> dict[str, object]:
        figures = await AnalyticsStore(world.db).insights(tenant_id, recording)
        assert figures is not None
        return dict(figures["lead"])

    assert await eventually(lead, until=lambda found: found["score"] == 60.0) == {
        "score": 60.0, "hot": True, "reasons": ["outcome Sale: +60"]}
    event = await ready.get()
    assert (event.payload.recording_id, event.payload.outcome, event.payload.rescored,
            event.payload.hot) == (recording, "Sale", True, True)
    ready.close()


async def test_a_calls_quality_is_on_its_contacts_timeline(world: World) -> None:
    """The call's detail on the contact's timeline carries each leg's MES, jitter and loss."""
    from pbx_stasis.quality.tables import CallQualityRow
    from pbx_stasis.store import utc_now

    tenant_id = world.tenant_ids["acme"]
    async with world.db.transaction() as tx:
        tx.add_all(CallQualityRow(tenant_id=tenant_id, call_id="a" * 32, leg=leg, mes=mes,
                                  min_mes=mes, jitter_ms=jitter, lost=lost, received=300,
                                  rtt_ms=0.0, at=utc_now())
                   for leg, mes, jitter, lost in (("customer", 20.0, 38.5, 100),
                                                  ("agent", 88.1, 1.2, 0)))
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    timeline = await (await world.request(
        manager, "GET", f"/api/contacts/{world.contact_ids['acme']}/timeline")).json()
    [call] = [entry for entry in timeline["entries"]
              if entry["kind"] == "call" and entry["call_id"] == "a" * 32]
    assert call["quality"]["poor_below_mes"] == 70.0
    assert call["quality"]["legs"]["customer"] == {
        "mes": 20.0, "min_mes": 20.0, "jitter_ms": 38.5, "lost": 100, "received": 300,
        "rtt_ms": 0.0, "loss_percent": 25.0}
    assert call["quality"]["legs"]["agent"]["mes"] == 88.1


async def test_scorecard_names_are_unique_per_tenant(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    body = {"name": "Sales calls", "sections": [{"title": "Opening", "questions": [
        {"id": "greeting", "text": "Greeted", "kind": "yes-no"}]}]}
    first = await world.request(admin, "POST", "/api/scorecards", body)
    assert first.status == 201
    again = await world.request(admin, "POST", "/api/scorecards", body)
    assert (again.status, (await again.json())["fields"]) == (
        409, {"name": "a scorecard named 'Sales calls' exists already"})
    other = await world.log_in(world.person("globex", Role.ADMIN))
    assert (await world.request(other, "POST", "/api/scorecards", body)).status == 201
    card = (await first.json())["scorecard"]["id"]
    retired = await world.request(admin, "PUT", f"/api/scorecards/{card}",
                                  {**body, "active": False})
    assert (await retired.json())["scorecard"]["active"] is False
    listed = await (await world.request(admin, "GET", "/api/scorecards?active=true")).json()
    assert listed == {"scorecards": []}
