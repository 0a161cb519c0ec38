"""Tickets over the API, as an agent and a supervisor would use them: opened from a call (the
caller's contact, the call and the notes carried over), moved by the status rules with a history
row per change, filtered, kept within an agent's reach, pushed on the feed; the contact's
timeline and custom fields."""

from __future__ import annotations

from typing import Any

from web_world import Person, World

from pbx_stasis.store.base import utc_now
from pbx_stasis.store.tables import Role

CALL_A = "a" * 32  # the acme agent's call from Ada's number (disposition Sale)


async def _json(world: World, who: Person, method: str, path: str, body: Any = None,
                status: int = 200) -> Any:
    response = await world.request(who, method, path, body)
    data = await response.json() if response.status != 204 else None
    assert response.status == status, data
    return data


async def test_a_ticket_from_a_call_carries_the_caller_the_call_and_the_notes(
    world: World,
) -> None:
    world.clock.now = utc_now()  # the world's calls are an hour old by the real clock
    agent = await world.log_in(world.person("acme", Role.AGENT))
    await _json(world, agent, "PUT", f"/api/calls/{CALL_A}/disposition",
                {"disposition": "Sale", "notes": "Router reboots every hour"})
    made = await _json(world, agent, "POST", f"/api/calls/{CALL_A}/ticket",
                       {"priority": "high"}, status=201)
    ticket = made["ticket"]
    assert ticket["contact_id"] == world.contact_ids["acme"]
    assert ticket["contact_name"] == "Ada Lovelace (acme)"
    assert ticket["subject"] == "Call from Ada Lovelace (acme)"
    assert ticket["description"] == "Router reboots every hour"
    assert (ticket["status"], ticket["priority"], ticket["queue"]) == ("open", "high", "support")
    assert ticket["assignee_user_id"] == agent.user_id
    detail = await _json(world, agent, "GET", f"/api/tickets/{ticket['id']}")
    assert [call["call_id"] for call in detail["calls"]] == [CALL_A]
    assert {row["field"] for row in detail["history"]} >= {"subject", "status", "priority",
                                                           "call"}
    assert detail["moves"] == ["in-progress", "pending", "resolved", "closed"]

    timeline = await _json(world, agent, "GET",
                           f"/api/contacts/{world.contact_ids['acme']}/timeline")
    assert timeline["sources"] == ["calls", "tickets"]
    kinds = [(entry["kind"], entry.get("call_id") or entry.get("ticket_id"))
             for entry in timeline["entries"]]
    assert ("ticket", ticket["id"]) == kinds[0]  # opened now: the newest
    assert {("call", CALL_A), ("note", CALL_A), ("disposition", CALL_A)} <= set(kinds)
    note = next(e for e in timeline["entries"] if e["kind"] == "note")
    assert note["title"] == "Router reboots every hour"


async def test_another_agents_call_or_tenant_is_refused(world: World) -> None:
    stranger = await world.log_in(world.person("globex", Role.AGENT))
    await _json(world, stranger, "POST", f"/api/calls/{CALL_A}/ticket", {}, status=404)
    response = await world.request(stranger, "POST", "/api/tickets",
                                    {"subject": "x", "call_id": CALL_A})
    assert (response.status, (await response.json())["fields"]) == (
        400, {"call_id": "is not one of your calls"})
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    other_tenant_agent = world.person("globex", Role.AGENT).user_id
    for body, field in (
        ({"subject": "x", "queue": "billing"}, "queue"),
        ({"subject": "x", "assignee_user_id": other_tenant_agent}, "assignee_user_id"),
        ({"subject": "x", "contact_id": world.contact_ids["globex"]}, "contact_id"),
        ({"subject": " ", "priority": "whenever"}, "subject"),
    ):
        response = await world.request(admin, "POST", "/api/tickets", body)
        reply = await response.json()
        assert response.status == 400 and field in reply["fields"], reply


async def test_status_moves_follow_the_rules_and_each_change_is_history(world: World) -> None:
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    ticket = (await _json(world, supervisor, "POST", "/api/tickets",
                          {"subject": "Invoice wrong", "priority": "low"}, status=201))["ticket"]
    path = f"/api/tickets/{ticket['id']}"
    urgent = (await _json(world, supervisor, "PATCH", path, {"priority": "urgent"}))["ticket"]
    assert urgent["due_at"] < ticket["due_at"]  # an urgent ticket is due sooner
    await _json(world, supervisor, "PATCH", path, {"status": "closed"})
    refused = await _json(world, supervisor, "PATCH", path, {"status": "open"}, status=400)
    assert refused["fields"] == {
        "status": "cannot go from closed to open (allowed: none)"}
    await _json(world, supervisor, "POST", f"{path}/comments", {"body": "Credit note sent"},
                status=201)
    detail = await _json(world, supervisor, "GET", path)
    changed = [(row["field"], row["old"], row["new"]) for row in detail["history"]
               if row["old"] is not None]
    assert ("priority", "low", "urgent") in changed
    assert ("status", "open", "closed") in changed
    assert [c["body"] for c in detail["comments"]] == ["Credit note sent"]
    assert detail["comments"][0]["user_name"] == "Supervisor of Acme"


async def test_agents_see_their_own_and_their_queues_tickets(world: World) -> None:
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    agent = await world.log_in(world.person("acme", Role.AGENT))
    made = {}
    for subject, queue in (("support one", "support"), ("sales one", "sales"),
                           ("no queue", None)):
        reply = await _json(world, manager, "POST", "/api/tickets",
                            {"subject": subject, "queue": queue}, status=201)
        made[subject] = reply["ticket"]["id"]
    listed = await _json(world, agent, "GET", "/api/tickets")
    assert [t["subject"] for t in listed["tickets"]] == ["support one"]  # the agent's queue
    await _json(world, agent, "GET", f"/api/tickets/{made['sales one']}", status=404)
    await _json(world, agent, "PATCH", f"/api/tickets/{made['sales one']}",
                {"status": "closed"}, status=404)
    # Assigned to the agent: theirs now, whatever the queue.
    await _json(world, manager, "PATCH", f"/api/tickets/{made['sales one']}",
                {"assignee_user_id": agent.user_id})
    mine = await _json(world, agent, "GET", "/api/tickets?mine=true")
    assert [t["subject"] for t in mine["tickets"]] == ["sales one"]
    everything = await _json(world, manager, "GET", "/api/tickets?limit=10")
    assert len(everything["tickets"]) == 3
    by_queue = await _json(world, manager, "GET", "/api/tickets?queue=sales")
    assert [t["subject"] for t in by_queue["tickets"]] == ["sales one"]


async def test_overdue_tickets_by_the_tenants_targets(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    await _json(world, admin, "PUT", "/api/tickets/targets",
                {"low": 600, "medium": 300, "high": 120, "urgent": 30})
    bad = await _json(world, admin, "PUT", "/api/tickets/targets",
                      {"low": 0, "medium": 300, "high": 120, "urgent": 30}, status=400)
    assert list(bad["fields"]) == ["low"]
    urgent = (await _json(world, admin, "POST", "/api/tickets",
                          {"subject": "Line down", "priority": "urgent"}, status=201))["ticket"]
    await _json(world, admin, "POST", "/api/tickets", {"subject": "Brochure"}, status=201)
    assert (await _json(world, admin, "GET", "/api/tickets?overdue=true"))["tickets"] == []
    world.clock.advance(minutes=31)
    late = (await _json(world, admin, "GET", "/api/tickets?overdue=true"))["tickets"]
    assert [(t["id"], t["overdue"]) for t in late] == [(urgent["id"], True)]
    await _json(world, admin, "PATCH", f"/api/tickets/{urgent['id']}", {"status": "resolved"})
    assert (await _json(world, admin, "GET", "/api/tickets?overdue=true"))["tickets"] == []


async def test_changes_reach_the_queues_agents_on_the_feed(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    socket = await world.client.ws_connect("/ws", headers=agent.headers)
    try:
        await socket.receive_json(timeout=5)
        await socket.send_json({"subscribe": ["ticket:changed"]})
        await socket.receive_json(timeout=5)
        await _json(world, manager, "POST", "/api/tickets",
                    {"subject": "Not for you", "queue": "sales"}, status=201)
        reply = await _json(world, manager, "POST", "/api/tickets",
                            {"subject": "For support", "queue": "support"}, status=201)
        event = await socket.receive_json(timeout=5)
        assert (event["topic"], event["payload"]["subject"]) == ("ticket:changed", "For support")
        assert event["payload"]["ticket_id"] == reply["ticket"]["id"]
        assert "audience" not in event["payload"]  # who else takes the queue stays private
        await _json(world, manager, "PATCH", f"/api/tickets/{reply['ticket']['id']}",
                    {"status": "in-progress"})
        event = await socket.receive_json(timeout=5)
        assert (event["payload"]["status"], event["payload"]["fields"]) == (
            "in-progress", ["status"])
    finally:
        await socket.close()


async def test_custom_fields_are_typed_editable_and_searchable(world: World) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    agent = await world.log_in(world.person("acme", Role.AGENT))
    await _json(world, admin, "PUT", "/api/contact-fields", {"fields": [
        {"name": "plan", "kind": "choice", "choices": ["Basic", "Business Fiber"]},
        {"name": "seats", "kind": "number"},
        {"name": "renewal", "kind": "date"},
    ]})
    fields = await _json(world, agent, "GET", "/api/contact-fields")
    assert [(f["name"], f["kind"]) for f in fields["fields"]] == [
        ("plan", "choice"), ("seats", "number"), ("renewal", "date")]
    path = f"/api/contacts/{world.contact_ids['acme']}"
    body = {"name": "Ada Lovelace (acme)", "phones": ["+14155550100"], "tags": ["vip", "fiber"],
            "custom_fields": {"plan": "Gold", "seats": "ten", "renewal": "next year"}}
    refused = await _json(world, agent, "PUT", path, body, status=400)
    assert refused["fields"] == {
        "custom_fields.plan": "must be one of: Basic, Business Fiber",
        "custom_fields.seats": "must be a number",
        "custom_fields.renewal": "must be a date written YYYY-MM-DD",
    }
    body["custom_fields"] = {"plan": "Business Fiber", "seats": 12, "renewal": "2027-03-01"}
    await _json(world, agent, "PUT", path, body)
    found = await _json(world, agent, "GET", "/api/contacts?q=business%20fiber")
    assert [c["id"] for c in found["contacts"]] == [world.contact_ids["acme"]]
    by_tag = await _json(world, agent, "GET", "/api/contacts?q=fiber")
    assert [c["id"] for c in by_tag["contacts"]] == [world.contact_ids["acme"]]
    stranger = await world.log_in(world.person("globex", Role.AGENT))
    assert (await _json(world, stranger, "GET", "/api/contact-fields"))["fields"] == []
