"""Outbound work's API over a real database: a lead list imported (report by line, custom
fields, contacts linked by phone), exported and counted; tasks from the list and by hand; a task
not finished without an outcome; a wrap-up's follow-up becomes a task in My work; a do-not-call
disposition and the API fill the list, and compliance's check and refusal log read it."""

from __future__ import annotations

import csv
import io

from web_world import World

from pbx_stasis.leads.service import LEADS
from pbx_stasis.store.tables import Role

FILE = ("Customer,Phone,Plan\n"
        "Ada Lovelace,(415) 555-0100,gold\n"
        "Alan Turing,+44 20 7946 0958,=HYPERLINK(\"x\")\n"
        "Grace,415.555.0100,\n"
        "Nobody,12,\n")


async def test_a_list_is_imported_counted_exported_and_worked(world: World) -> None:
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    response = await world.request(supervisor, "POST", "/api/leads/lists", {
        "name": "December", "csv": FILE, "mapping": {"number": "Phone", "name": "Customer"}})
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["report"] == {
        "rows": 4, "imported": 2, "invalid": 1, "duplicates": 1, "problems": [
            {"line": 4, "column": "number", "message": "+14155550100 is also on line 2",
             "duplicate_of": 2},
            {"line": 5, "column": "number", "message": "'12' is not a valid phone number"}]}
    list_id = body["list"]["id"]
    assert body["list"]["counts"] == {"new": 2, "open": 0, "done": 0, "cancelled": 0}
    again = await world.request(supervisor, "POST", "/api/leads/lists",
                                {"name": "December", "csv": FILE})
    assert again.status == 400 and "name" in (await again.json())["fields"]

    # Exported with custom fields, formulas neutralised; the contact with that phone linked.
    export = await world.request(supervisor, "GET", f"/api/leads/lists/{list_id}/export")
    rows = list(csv.DictReader(io.StringIO(await export.text())))
    assert [(r["number"], r["name"], r["Plan"]) for r in rows] == [
        ("'+14155550100", "Ada Lovelace", "gold"),
        ("'+442079460958", "Alan Turing", "'=HYPERLINK(\"x\")")]
    assert rows[0]["contact_id"] == str(world.contact_ids["acme"]) and rows[1]["contact_id"] == ""

    # The export reads back in: every number is already in the list.
    more = await world.request(supervisor, "POST", f"/api/leads/lists/{list_id}/import",
                               {"csv": await export.text()})
    assert (await more.json())["report"]["duplicates"] == 2

    agent = world.person("acme", Role.AGENT)
    made = await world.request(supervisor, "POST", f"/api/leads/lists/{list_id}/tasks",
                               {"owner_user_id": agent.user_id, "priority": 5.0,
                                "due_at": "2026-12-01T09:00:00+01:00"})
    assert (await made.json()) == {"created": 2}
    assert (await (await world.request(supervisor, "POST", f"/api/leads/lists/{list_id}/tasks",
                                       {})).json()) == {"created": 0}

    me = await world.log_in(agent)
    work = (await (await world.request(me, "GET", "/api/me/work")).json())["items"]
    assert [(i["kind"], i["number"], i["priority"], i["due"], i["due_at"]) for i in work] == [
        ("task", "+14155550100", 5, True, "2026-12-01T08:00:00+00:00"),
        ("task", "+442079460958", 5, True, "2026-12-01T08:00:00+00:00")]
    task_id = work[0]["detail"]["task_id"]

    # Click-to-call from My work places the agent's call and counts an attempt.
    called = await world.request(me, "POST", f"/api/tasks/{task_id}/call", {})
    assert called.status == 201, await called.text()
    assert (await called.json())["task"]["status"] == "in_progress"
    assert world.center.calls  # the agent's own call, through the contact center

    # Not finished without an outcome: a clear 400 naming the field; then with one.
    refused = await world.request(me, "POST", f"/api/tasks/{task_id}/done", {})
    assert refused.status == 400
    assert (await refused.json())["fields"] == {"outcome": "is required"}
    blank = await world.request(me, "POST", f"/api/tasks/{task_id}/done", {"outcome": "  "})
    assert blank.status == 400 and "outcome" in (await blank.json())["fields"]
    task = await world.app[LEADS].tasks.get(world.tenant_ids["acme"], task_id)
    assert task is not None and task.status == "in_progress"
    done = await world.request(me, "POST", f"/api/tasks/{task_id}/done",
                               {"outcome": "Sale", "notes": "annual plan"})
    assert (await done.json())["task"]["status"] == "done"
    twice = await world.request(me, "POST", f"/api/tasks/{task_id}/done", {"outcome": "Sale"})
    assert twice.status == 409

    # Busy on the other one: due again later, attempts counted, mirrored on the lead.
    other = work[1]["detail"]["task_id"]
    busy = await world.request(me, "POST", f"/api/tasks/{other}/unanswered", {"result": "busy"})
    assert (await busy.json())["task"]["attempts"] == 1
    listed = (await (await world.request(supervisor, "GET", "/api/leads/lists")).json())["lists"]
    assert listed[0]["counts"] == {"new": 0, "open": 1, "done": 1, "cancelled": 0}

    # Another agent of the tenant does not see this agent's task; the other tenant neither.
    stranger = await world.log_in(world.person("globex", Role.SUPERVISOR))
    assert (await world.request(stranger, "GET", f"/api/tasks/{other}")).status == 404
    assert (await world.request(stranger, "GET",
                                f"/api/leads/lists/{list_id}/export")).status == 404


async def test_a_follow_up_in_wrap_up_becomes_a_task_in_my_work(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    call_id = "f" * 32
    await world.add_call("acme", call_id=call_id, from_number="+14155550142", agent=agent)
    response = await world.request(agent, "PUT", f"/api/calls/{call_id}/disposition", {
        "disposition": "Call back", "follow_up_on": "2026-12-24"})
    assert response.status in (200, 204), await response.text()
    work = (await (await world.request(agent, "GET", "/api/me/work")).json())["items"]
    assert [(i["kind"], i["number"], i["due_at"][:10]) for i in work] == [
        ("follow-up", "+14155550142", "2026-12-24")]
    # A second wrap-up moves the same task.
    await world.request(agent, "PUT", f"/api/calls/{call_id}/disposition", {
        "disposition": "Call back", "follow_up_on": "2026-12-28"})
    work = (await (await world.request(agent, "GET", "/api/me/work")).json())["items"]
    assert [i["due_at"][:10] for i in work] == ["2026-12-28"]


async def test_do_not_call_from_the_api_and_a_disposition_and_the_check(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    settings = await world.request(admin, "PUT", "/api/compliance/settings",
                                   {"dnc_dispositions": ["Resolved"]})
    assert settings.status == 200, await settings.text()
    added = await world.request(admin, "POST", "/api/dnc",
                                {"numbers": ["(415) 555-0177", "+14155550177"],
                                 "reason": "asked"})
    assert (await added.json()) == {"added": 1, "already": 0}
    bad = await world.request(admin, "POST", "/api/dnc", {"numbers": ["12"]})
    assert (await bad.json())["fields"] == {
        "numbers.0": "is not a valid phone number: write it in international form, e.g. "
                     "+14155550100"}

    agent = await world.log_in(world.person("acme", Role.AGENT))
    await world.add_call("acme", call_id="e" * 32, from_number="+14155550188", agent=agent)
    await world.request(agent, "PUT", f"/api/calls/{'e' * 32}/disposition",
                        {"disposition": "Resolved"})
    listed = await (await world.request(admin, "GET", "/api/dnc")).json()
    assert [(e["number"], e["source"]) for e in listed["entries"]] == [
        ("+14155550177", "api"), ("+14155550188", "disposition")]

    check = await (await world.request(admin, "GET",
                                       "/api/compliance/check?number=%2B14155550188")).json()
    assert (check["allowed"], check["reason"]) == (False, "do-not-call")

    # A task to a listed number is refused with why, logged for the admin.
    task = await world.request(agent, "POST", "/api/tasks", {
        "number": "+14155550177", "due_at": "2026-12-02T07:11:05.846548+00:00",
        "priority": 76.0})
    assert task.status == 201, await task.text()
    naive = await world.request(agent, "POST", "/api/tasks", {
        "number": "+14155550177", "due_at": "2026-12-02T07:11:05"})
    assert (await naive.json())["fields"] == {
        "due_at": "must carry its time zone, e.g. 2026-12-02T09:00:00Z"}
    task_id = (await task.json())["task"]["id"]
    call = await world.request(agent, "POST", f"/api/tasks/{task_id}/call", {})
    assert call.status == 403
    assert (await call.json())["reason"] == "do-not-call"
    await world.db.writes.settle()
    refusals = await (await world.request(admin, "GET", "/api/compliance/refusals")).json()
    assert [(r["number"], r["rule"], r["reason"]) for r in refusals["refusals"]] == [
        ("+14155550177", "compliance", "do-not-call")]
    # The other tenant's list is its own.
    stranger = await world.log_in(world.person("globex", Role.ADMIN))
    theirs = await (await world.request(stranger, "GET", "/api/dnc")).json()
    assert theirs["total"] == 0
    gone = await world.request(admin, "DELETE", "/api/dnc/%2B14155550177")
    assert gone.status == 204
