"""The supervision routes through the real web layer: roles and tenants on every route.

The Stasis side is a real Supervision with an ARI that refuses connections: every refusal
(401, 403, 404) happens before Asterisk would be asked, and an allowed start reaches it (503
here). Sessions themselves, switching and ownership run against the sandbox Asterisk in
tests/integration/test_supervision_live.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from access_world import AccessWorld, Person, build_world, close_world

from pbx_stasis.acd.runner import Talk
from pbx_stasis.ari import AriClient
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, CallStatus, Direction, Role
from pbx_stasis.supervision import Supervision
from pbx_stasis.supervision.http import ROUTES, SUPERVISION
from pbx_stasis.supervision.tables import SupervisionSegment
from pbx_stasis.web.routing import Route

OWNER, OTHER = "acme", "globex"
CALL = "a" * 32
OWNER_MARKERS = (CALL, "+14155550101", "owner-session")


async def _no_call(inbox: EventInbox, start: AriEvent) -> None:
    raise AssertionError("no call is expected in these tests")


@pytest.fixture
async def world(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[AccessWorld]:
    ari = AriClient("http://127.0.0.1:9/ari", "nobody", "nothing")  # refused: never reached

    def services(db: Database, directory: Path) -> dict[Any, Any]:
        return {SUPERVISION: Supervision(ari, CallRouter(_no_call), db, "pbx")}

    built = await build_world(sqlite_template, tmp_path, ROUTES, services)
    owner_agent = built.person(OWNER, Role.AGENT)
    async with built.db.transaction() as tx:
        tx.add(Call(id=CALL, tenant_id=built.tenant_ids[OWNER], channel_id="caller-chan",
                    direction=Direction.INBOUND, from_number="+14155550101",
                    to_number="+18005550100", started_at=datetime.now(UTC), queue="sales",
                    agent_user_id=owner_agent.user_id, status=CallStatus.LIVE))
        tx.add(SupervisionSegment(session_id="owner-session", tenant_id=owner_agent.tenant_id,
                                  call_id=CALL, supervisor_user_id=None,
                                  supervisor_line="PJSIP/phone-x", agent_user_id=None,
                                  mode="listen", started_at=datetime.now(UTC)))
    built.app[SUPERVISION].talk_started(Talk(CALL, built.tenant_ids[OWNER], "sales", "q-a",
                                             "caller-chan", "agent-chan", owner_agent.user_id,
                                             "+14155550101"))
    try:
        yield built
    finally:
        await close_world(built)
        await ari.close()


def _expected(route: Route, who: Person | None) -> set[int]:
    if who is None:
        return {401}
    assert route.roles is not None
    if who.role not in route.roles:
        return {403}
    if "{session_id}" in route.path:
        return {404}  # no live session here (see the integration test)
    if who.tenant != OWNER and "{call_id}" in route.path:
        return {404}
    if "{call_id}" in route.path:
        # Allowed: managers and admins have no softphone (409); supervisors reach Asterisk (503).
        return {503} if who.role is Role.SUPERVISOR else {409}
    return {200}


async def test_every_route_refuses_the_wrong_role_and_hides_the_other_tenant(
    world: AccessWorld,
) -> None:
    people: list[Person | None] = [None, *world.people.values()]
    for route in ROUTES:
        path = route.path.replace("{call_id}", CALL).replace("{session_id}", "owner-session")
        body = {"mode": "whisper"} if route.body is not None else None
        for who in people:
            answer = await world.request(who, route.method, path, json=body)
            text = await answer.text()
            assert answer.status in _expected(route, who), (route.method, route.path, who, text)
            if who is not None and who.tenant == OTHER:
                assert not any(marker in text for marker in OWNER_MARKERS), (route.path, text)


async def test_supervisors_see_their_tenants_connected_calls_and_audit(
    world: AccessWorld,
) -> None:
    supervisor = world.person(OWNER, Role.SUPERVISOR)
    calls = await (await world.request(supervisor, "GET", "/api/supervision/calls")).json()
    [call] = calls["calls"]
    assert (call["call_id"], call["queue"], call["from_number"], call["sessions"]) == (
        CALL, "sales", "+14155550101", [])
    assert call["agent_user_id"] == world.person(OWNER, Role.AGENT).user_id
    history = await (await world.request(supervisor, "GET",
                                         f"/api/supervision/history?call_id={CALL}")).json()
    assert [(s["session_id"], s["mode"]) for s in history["segments"]] == [
        ("owner-session", "listen")]
    stranger = world.person(OTHER, Role.MANAGER)
    assert (await (await world.request(stranger, "GET", "/api/supervision/calls")).json()
            ) == {"calls": []}
    assert (await (await world.request(stranger, "GET", "/api/supervision/history")).json()
            ) == {"segments": []}
