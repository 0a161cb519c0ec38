"""Contacts, dispositions and call outcomes on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from pbx_stasis.crm import tables as crm_tables
from pbx_stasis.crm.contacts import ContactDraft, Contacts
from pbx_stasis.crm.dispositions import CallOutcome, Dispositions, Outcomes
from pbx_stasis.crm.phones import numbering
from pbx_stasis.crm.tables import FollowUp
from pbx_stasis.store import Database, Directory, utc_now
from pbx_stasis.store.base import Base
from pbx_stasis.store.errors import AlreadyExists
from pbx_stasis.store.migrate import downgrade, upgrade
from pbx_stasis.store.tables import Call, CallStatus, Direction
from pbx_stasis.web import tables as web_tables

MINE = {
    cls.__tablename__
    for module in (crm_tables, web_tables)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Base) and cls.__module__ == module.__name__
}


async def test_the_web_migration_goes_down_and_up(db_url: str) -> None:
    await upgrade(db_url)
    await downgrade(db_url, "0001")
    database = Database.connect(db_url)
    try:
        async with database.engine.connect() as conn:
            names = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await database.dispose()
    assert names & MINE == set()
    assert {"tenants", "users", "calls"} <= names
    await upgrade(db_url)


async def test_the_migration_matches_the_tables(db: Database) -> None:
    assert MINE == {
        "contacts",
        "contact_phones",
        "dispositions",
        "follow_ups",
        "contact_field_defs",
        "call_outcomes",
        "web_sessions",
        "login_attempts",
        "login_lockouts",
        "api_tokens",
    }
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    mine = [d for d in diff if any(name in repr(d) for name in MINE)]
    assert mine == []


async def _tenants(db: Database) -> tuple[int, int]:
    directory = Directory(db)
    return (await directory.ensure_tenant("acme")).id, (await directory.ensure_tenant("globex")).id


async def _call(db: Database, tenant_id: int, call_id: str, number: str, days_ago: int) -> None:
    started = utc_now() - timedelta(days=days_ago)
    async with db.transaction() as tx:
        tx.add(
            Call(
                id=call_id,
                tenant_id=tenant_id,
                channel_id=f"c-{call_id}",
                direction=Direction.INBOUND,
                from_number=number,
                to_number="+18005550199",
                started_at=started,
                answered_at=started + timedelta(seconds=5),
                ended_at=started + timedelta(seconds=65),
                status=CallStatus.ENDED,
            )
        )


async def test_contacts_search_match_and_history(db: Database) -> None:
    acme, globex = await _tenants(db)
    contacts = Contacts(db, numbering("US"))
    ada = await contacts.create(
        acme,
        ContactDraft(
            "Ada Lovelace",
            "Engines 100%",
            ("+14155550100", "+14155550100"),
            ("vip", "eu"),
            {"tier": "gold", "score": 9.5, "active": True},
        ),
    )
    assert ada.phones == ("+14155550100",)
    await contacts.create(acme, ContactDraft("Grace Hopper", None, ("+12025550111",)))
    await contacts.create(globex, ContactDraft("Ada Globex", None, ("+14155550100",)))

    names = lambda found: [c.name for c in found]  # noqa: E731
    assert names(await contacts.search(acme, "ada")) == ["Ada Lovelace"]
    assert names(await contacts.search(acme, "VIP")) == ["Ada Lovelace"]
    assert names(await contacts.search(acme, "100%")) == ["Ada Lovelace"]
    assert names(await contacts.search(acme, "555-0111")) == ["Grace Hopper"]
    assert names(await contacts.search(acme, "")) == ["Ada Lovelace", "Grace Hopper"]
    assert names(await contacts.search(acme, "_")) == []
    assert names(await contacts.by_phone(acme, "(415) 555-0100")) == ["Ada Lovelace"]
    assert names(await contacts.by_phone(globex, "4155550100")) == ["Ada Globex"]
    assert await contacts.by_phone(acme, "1001") == []

    await _call(db, acme, "1" * 32, "+14155550100", days_ago=1)
    await _call(db, acme, "2" * 32, "4155550100", days_ago=2)
    await _call(db, acme, "3" * 32, "+12025550111", days_ago=3)
    await _call(db, globex, "4" * 32, "+14155550100", days_ago=1)
    history = await contacts.history(acme, ada.phones)
    assert [(c.call_id[0], c.number, c.duration) for c in history] == [
        ("1", "+14155550100", 60),
        ("2", "4155550100", 60),
    ]

    fetched = await contacts.get(acme, ada.id)
    assert fetched is not None and fetched.custom_fields == {
        "tier": "gold",
        "score": 9.5,
        "active": True,
    }
    assert await contacts.get(globex, ada.id) is None
    updated = await contacts.update(acme, ada.id, ContactDraft("Ada King", None, ("+14155550199",)))
    assert updated is not None and (updated.name, updated.phones) == ("Ada King", ("+14155550199",))
    assert await contacts.by_phone(acme, "+14155550100") == []
    assert await contacts.update(globex, ada.id, ContactDraft("Stolen")) is None
    assert not await contacts.delete(globex, ada.id)
    assert await contacts.delete(acme, ada.id)
    assert await contacts.get(acme, ada.id) is None


async def test_dispositions_and_outcomes(db: Database) -> None:
    acme, globex = await _tenants(db)
    dispositions = Dispositions(db)
    sale = await dispositions.create(acme, "Sale")
    callback = await dispositions.create(acme, "Call back", requires_follow_up=True)
    await dispositions.create(globex, "Sale")
    with pytest.raises(AlreadyExists):
        await dispositions.create(acme, "Sale")
    assert [d.name for d in await dispositions.for_tenant(acme)] == ["Sale", "Call back"]
    assert await dispositions.retire(acme, sale.id)
    assert not await dispositions.retire(globex, callback.id)
    assert [d.name for d in await dispositions.for_tenant(acme)] == ["Call back"]
    assert len(await dispositions.for_tenant(acme, include_retired=True)) == 2
    with pytest.raises(AlreadyExists):
        await dispositions.update(
            acme, callback.id, name="Sale", requires_follow_up=True, position=1, active=True
        )

    users = await Directory(db).add_user("acme", "ann", "agent")
    await _call(db, acme, "5" * 32, "+14155550100", days_ago=0)
    outcomes = Outcomes(db)
    due = date.today() + timedelta(days=3)
    outcome = CallOutcome("5" * 32, "Call back", "Wants a quote", due)
    assert not await outcomes.record(globex, "5" * 32, users.id, outcome)
    assert not await outcomes.has_disposition(acme, "5" * 32)
    assert await outcomes.record(acme, "5" * 32, users.id, outcome)
    assert await outcomes.has_disposition(acme, "5" * 32)
    assert not await outcomes.has_disposition(globex, "5" * 32)
    later = CallOutcome("5" * 32, "Call back", "Moved", due + timedelta(days=1))
    assert await outcomes.record(acme, "5" * 32, users.id, later)
    async with db.session() as session:
        follow_ups = list(await session.scalars(select(FollowUp)))
        call = await session.get(Call, "5" * 32)
    assert [(f.call_id, f.due_on) for f in follow_ups] == [("5" * 32, due + timedelta(days=1))]
    assert call is not None and (call.disposition, call.notes) == ("Call back", "Moved")
    assert await outcomes.record(
        acme, "5" * 32, users.id, CallOutcome("5" * 32, "Sale", None, None)
    )
    async with db.session() as session:
        assert list(await session.scalars(select(FollowUp))) == []


async def test_each_agent_of_a_transferred_call_saves_their_own_part(db: Database) -> None:
    """Issue 13 item 8: the contact history showed the first agent's disposition under the
    second; the second agent was never asked, the call having one already."""
    acme, _ = await _tenants(db)
    directory = Directory(db)
    ann = await directory.add_user("acme", "ann", "agent")
    bob = await directory.add_user("acme", "bob", "agent")
    await Dispositions(db).create(acme, "Sale")
    await _call(db, acme, "6" * 32, "+14155550100", days_ago=0)
    outcomes = Outcomes(db)
    assert await outcomes.record(acme, "6" * 32, ann.id,
                                 CallOutcome("6" * 32, "Transferred", "to sales", None))
    assert await outcomes.has_disposition(acme, "6" * 32, ann.id)
    assert not await outcomes.has_disposition(acme, "6" * 32, bob.id)  # bob still has to
    assert await outcomes.record(acme, "6" * 32, bob.id, CallOutcome("6" * 32, "Sale", None, None))
    assert await outcomes.has_disposition(acme, "6" * 32, bob.id)
    history = await Contacts(db, numbering("US")).history(acme, ["+14155550100"])
    [call] = [c for c in history if c.call_id == "6" * 32]
    assert [(p.agent_user_id, p.disposition, p.notes) for p in call.parts] == [
        (ann.id, "Transferred", "to sales"), (bob.id, "Sale", None)]
    assert call.disposition == "Sale"  # the call's last outcome
