"""The journal lines of a report's period, streamed in batches, for one tenant only (SQLite and
PostgreSQL)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from figures_journal import AGENTS, DAY1, DAY2, DAY3, QUEUES, stored, two_days

from pbx_stasis.acd.figures import QueueRules
from pbx_stasis.reports.core import ReportFold, fold
from pbx_stasis.reports.store import journal_rows
from pbx_stasis.store import CallJournal, Database, Directory, NewEvent
from pbx_stasis.store.tables import Call, Direction

T0 = datetime(2025, 6, 1, 8, 0, 0, 1, tzinfo=UTC)


async def test_a_period_streams_in_batches_for_its_tenant_only(db: Database) -> None:
    tenant_id = (await Directory(db).ensure_default_tenant()).id
    other = await Directory(db).ensure_tenant("acme")
    journal = CallJournal(db)
    await journal.append_many(db, [
        NewEvent(tenant_id, "OFFER" if n % 4 else "ivr.enter", data={"n": n},
                 at=T0 + timedelta(minutes=n))
        for n in range(12)
    ])
    await journal.append(db, tenant_id=other.id, event="OFFER", at=T0 + timedelta(minutes=3))
    start, end = T0 + timedelta(minutes=2), T0 + timedelta(minutes=10)
    batches = [[(row.data["n"], row.at) for row in batch]
               async for batch in journal_rows(db, tenant_id, start, end, batch=3)]
    # ivr.enter (n = 4, 8) is no report's business; n = 10 is past the end
    expected = [(n, T0 + timedelta(minutes=n)) for n in (2, 3, 5, 6, 7, 9)]
    assert batches == [expected[:3], expected[3:]]


async def test_a_days_report_from_the_store_starts_from_the_agents_state(db: Database) -> None:
    # The two days of tests/figures_journal.py, stored: each day's report streamed from the
    # database (with the rows that say what agents were doing when it began) equals the fold
    # of the whole journal in memory, which the wallboard agrees with
    # (tests/unit/acd/test_acd_figures_agree.py).
    directory = Directory(db)
    users = {name: (await directory.add_user("acme", name, "agent")).id for name in AGENTS}
    tenant_id = (await directory.ensure_tenant("acme")).id
    other = await directory.ensure_default_tenant()
    rows = [stored(row, users) for row in two_days().journal()]
    async with db.transaction() as tx:  # the journal's calls exist (a foreign key)
        for call_id in sorted({r.call_id for r in rows if r.call_id}):
            tx.add(Call(id=call_id, tenant_id=tenant_id, channel_id=call_id,
                        direction=Direction.INBOUND, from_number="+33100000001",
                        to_number="+33100000000", started_at=datetime.fromtimestamp(DAY1, UTC)))
    await CallJournal(db).append_many(db, [
        NewEvent(tenant_id, r.event, r.call_id, r.agent_user_id, r.queue, r.data, r.at)
        for r in rows
    ])
    await CallJournal(db).append(db, tenant_id=other.id, event="PAUSE", agent_user_id=None,
                             at=datetime.fromtimestamp(DAY1, UTC))
    rules = {q.name: QueueRules.of(q) for q in QUEUES}
    for start in (DAY1, DAY2, DAY3):
        end = start + 86400
        folding = ReportFold(start, end, rules)
        async for batch in journal_rows(db, tenant_id, datetime.fromtimestamp(start, UTC),
                                        datetime.fromtimestamp(end, UTC), batch=5,
                                        since_start=True):
            folding.add(batch)
        from_store, in_memory = folding.finish(), fold(rows, start, end, rules)
        assert {q: asdict(f.tally) for q, f in from_store.queues.items()} == {
            q: asdict(f.tally) for q, f in in_memory.queues.items()}
        assert {a: asdict(f.tally) for a, f in from_store.agents.items()} == {
            a: asdict(f.tally) for a, f in in_memory.agents.items()}
    # Day three: everyone logged out on day two's evening, nobody called.
    assert from_store.agents == {} and from_store.queues == {}
    day2 = fold(rows, DAY2, DAY3, rules).agents[users["dave"]].tally
    assert (day2.paused, day2.busy) == (3600.0, 40.0)  # his lunch; c8's talk and wrap-up
