"""Campaign attempts a stopped process left without a result, as stored (SQLite and
PostgreSQL): at the next start, one whose person reached an agent ends connected with its call
and agent (the restarted app carries their talk over), the others failed (before: all failed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storekit import add_call

from pbx_stasis.campaigns.core import ANSWERED_NOTE, CampaignSettings
from pbx_stasis.campaigns.service import Campaigns
from pbx_stasis.leads.service import LeadLists
from pbx_stasis.store import CallJournal, Database, Direction, Directory


async def test_a_restart_leaves_a_talking_attempt_connected(db: Database) -> None:
    directory = Directory(db)
    tenant = await directory.ensure_tenant("default")
    agent = await directory.add_user("default", "ola", "agent")
    listed, _ = await LeadLists(db).import_csv(
        tenant.id, "phone\n+14155550101\n+14155550102\n", by="test", region="US", name="spring")
    store = Campaigns(db)
    campaign = await store.create(tenant.id, CampaignSettings.model_validate(
        {"name": "spring", "list_id": listed.id, "queue": "sales"}), by="test")
    placed = datetime.now(UTC) - timedelta(seconds=30)
    talking, unanswered = await store.claim(campaign, 2, now=placed)

    call = await add_call(db, tenant_id=tenant.id, channel_id="chan-1",
                          direction=Direction.OUTBOUND, from_number="+15550000000",
                          to_number=talking.number, started_at=placed)
    journal = CallJournal(db)
    for event, user_id, data in [
            (ANSWERED_NOTE, None, {"campaign": campaign.id, "attempt": talking.attempt_id}),
            ("ENTERQUEUE", None, {}), ("CONNECT", agent.id, {"wait": 0.4}),
            ("ADOPTED", agent.id, {"action": "talk"})]:
        await journal.append(db, tenant_id=tenant.id, event=event, call_id=call.id,
                             agent_user_id=user_id, data=data, queue="sales")

    assert await store.close_dangling(campaign, now=datetime.now(UTC)) == 2
    ended = {a.id: a for a in await store.attempts(tenant.id, campaign.id)}
    done = ended[talking.attempt_id]
    assert (done.result, done.call_id, done.agent_user_id) == ("connected", call.id, agent.id)
    assert ended[unanswered.attempt_id].result == "failed"
    assert await store.close_dangling(campaign, now=datetime.now(UTC)) == 0
