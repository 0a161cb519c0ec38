"""The voicemail inbox's API as people use it: an agent's share, heard and assigned messages,
the wallboard's count, My work, deleting by hand (supervisors) and by retention, each change
journaled and on the feed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from voicemail_samples import voicemail
from web_world import World

from pbx_stasis.recording.tables import Recording
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.tables import CallEvent, Role
from pbx_stasis.voicemail.service import VOICEMAILS
from pbx_stasis.web.app import CONTEXT


async def _journal(world: World, event: str) -> list[CallEvent]:
    async with world.db.session() as session:
        return list(await session.scalars(select(CallEvent).where(CallEvent.event == event)))


async def test_an_agent_hears_takes_and_calls_back_their_queue_s_voicemail(world: World) -> None:
    support = await voicemail(world, "acme", queue="support")
    billing = await voicemail(world, "acme", queue="billing")
    agent = await world.log_in(world.person("acme", Role.AGENT))
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    feed = world.bus.subscribe(("voicemail:changed",))

    listed = await (await world.request(agent, "GET", "/api/voicemails?status=new")).json()
    assert [v["id"] for v in listed["voicemails"]] == [support]  # not billing's
    assert listed["voicemails"][0]["mailbox_label"] == "queue support"
    assert (await world.request(agent, "GET", f"/api/voicemails/{billing}")).status == 404
    summary = await (await world.request(manager, "GET", "/api/voicemails/summary")).json()
    assert summary["new_per_queue"] == {"support": 1, "billing": 1}
    work = await (await world.request(agent, "GET", "/api/me/work")).json()
    assert [(i["kind"], i["id"], i["number"]) for i in work["items"] if i["kind"] == "voicemail"
            ] == [("voicemail", support, "+14155550100")]

    audio = await world.request(agent, "GET", f"/api/voicemails/{support}/audio")
    assert audio.status == 200 and audio.headers["Content-Type"] == "audio/wav"
    heard = await world.request(agent, "PUT", f"/api/voicemails/{support}/status",
                                {"status": "heard"})
    assert (await heard.json())["voicemail"]["status"] == "heard"
    assert (await feed.get()).payload.change == "heard"
    refused = await world.request(agent, "PUT", f"/api/voicemails/{support}/assignee",
                                  {"user_id": world.person("acme", Role.SUPERVISOR).user_id})
    assert refused.status == 403
    taken = await world.request(agent, "PUT", f"/api/voicemails/{support}/assignee",
                                {"user_id": agent.user_id})
    assert (await taken.json())["voicemail"]["assigned_user_id"] == agent.user_id
    # The manager gives billing's message to the agent: now she reads it too.
    given = await world.request(manager, "PUT", f"/api/voicemails/{billing}/assignee",
                                {"user_id": agent.user_id})
    assert given.status == 200
    assert (await world.request(agent, "GET", f"/api/voicemails/{billing}")).status == 200
    summary = await (await world.request(manager, "GET", "/api/voicemails/summary")).json()
    assert summary["new_per_queue"] == {"billing": 1}
    assert [e.data["by"] for e in await _journal(world, "VOICEMAILHEARD")] == [agent.user_id]
    assert len(await _journal(world, "VOICEMAILASSIGNED")) == 2
    bad = await world.request(manager, "PUT", f"/api/voicemails/{billing}/assignee",
                              {"user_id": 999_999})
    assert bad.status == 400
    feed.close()


async def test_deleted_by_hand_by_a_supervisor_and_by_retention(world: World) -> None:
    agent = await world.log_in(world.person("acme", Role.AGENT))
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    first = await voicemail(world, "acme")
    directory = Path(world.app[CONTEXT].settings.recordings.dir)
    async with world.db.session() as session:
        row = await session.get(Recording, first)
    assert row is not None and (directory / row.path).is_file()
    assert (await world.request(agent, "DELETE", f"/api/voicemails/{first}")).status == 403
    assert (await world.request(supervisor, "DELETE", f"/api/voicemails/{first}")).status == 200
    assert not (directory / row.path).exists()
    assert [e.data["by"] for e in await _journal(world, "VOICEMAILDELETED")] == [
        supervisor.user_id]
    assert (await world.request(supervisor, "GET", f"/api/voicemails/{first}")).status == 404

    # Retention: 30 days by default; an admin sets 7, and a 10-day-old message goes.
    rules = await (await world.request(supervisor, "GET", "/api/voicemail/rules")).json()
    assert rules["rules"]["retention_days"] == 30
    assert (await world.request(admin, "PUT", "/api/voicemail/rules",
                                {"retention_days": 0})).status == 400
    assert (await world.request(admin, "PUT", "/api/voicemail/rules",
                                {"retention_days": 7})).status == 200
    old, recent = await voicemail(world, "acme"), await voicemail(world, "acme")
    async with world.db.transaction() as tx:
        aged = await tx.get(Recording, old)
        assert aged is not None
        aged.started_at = utc_now() - timedelta(days=10)
    deleted = await world.app[VOICEMAILS].purge_expired()
    assert deleted == [old]
    assert [e.data["retention_days"] for e in await _journal(world, "VOICEMAILPURGE")] == [7]
    listed = await (await world.request(supervisor, "GET", "/api/voicemails")).json()
    assert [v["id"] for v in listed["voicemails"]] == [recent]
