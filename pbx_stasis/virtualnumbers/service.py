"""Virtual numbers' IO: the pools, the contacts' numbers and the masked mappings in the
database (`VirtualNumbers`), and the Stasis side's handling of a call to a virtual number
(`MaskedCalls`): connect the caller to the other party of their mapping through the trunk,
put a customer calling the number back to their last agent or the number's queue, or refuse
them with an announcement; every step on the call's journal lines."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import delete, or_, select

from pbx_stasis.acd.model import AgentState
from pbx_stasis.calls.handoff import QueueRequest
from pbx_stasis.calls.inbound import Call, caller_number, dialed_number
from pbx_stasis.dialing.caller_ids import Presented
from pbx_stasis.store import CallRecord, Database, NewEvent, utc_now
from pbx_stasis.store.polling import Polling
from pbx_stasis.store.tables import Call as CallRow
from pbx_stasis.store.tables import CallEvent
from pbx_stasis.transfer.outside import TrunkLine
from pbx_stasis.virtualnumbers.core import (
    Connect,
    MaskedPair,
    Refuse,
    ToAgent,
    free_number,
    return_call,
    route_call,
    sticky_number,
)
from pbx_stasis.virtualnumbers.tables import ContactVirtualNumber, MaskedMapping, VirtualNumber
from pbx_stasis.web.routing import RouteRequest

if TYPE_CHECKING:
    from pbx_stasis.acd.runner import AcdService

log = logging.getLogger(__name__)

MAPPING_CREATED = "masked.mapping"  # journal: a mapping made (no call)
MAPPING_REVOKED = "masked.revoked"  # journal: a mapping ended by hand (no call)
CONNECT = "masked.connect"  # journal, on the call: connecting the caller to the other party
REFUSED = "masked.refused"  # journal, on the call: refused (expired, unknown)
ENDED = "masked.end"  # journal, on the call: how the connection ended
RETURN = "virtual.return_call"  # journal, on the call: a customer calling a virtual number back
# What a refused caller hears: "the number you have dialed is not in service".
REFUSAL_SOUND = "sound:ss-noservice"
POOL_REFRESH_S = 2.0  # a number added to a pool by another process answers within this


@dataclass(frozen=True)
class PoolNumber:
    number: str
    label: str
    queue: str | None = None  # where customers calling it back go


class NoFreeNumber(Exception):
    """Every pool number already carries a live mapping of one of the two parties."""


class MappingEnded(Exception):
    """The mapping has already ended (expired or revoked): nothing to revoke."""


def _pair(row: MaskedMapping) -> MaskedPair:
    return MaskedPair(row.id, row.virtual, row.party_a, row.party_b, row.expires_at,
                      revoked=row.revoked_at is not None)


class VirtualNumbers:
    """The tenants' pools, contacts' sticky numbers and masked mappings, in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def pool(self, tenant_id: int) -> list[PoolNumber]:
        async with self.db.session() as session:
            rows = await session.scalars(select(VirtualNumber).where(
                VirtualNumber.tenant_id == tenant_id).order_by(VirtualNumber.position))
            return [PoolNumber(row.number, row.label, row.queue) for row in rows]

    async def numbers(self, tenant_id: int) -> list[str]:
        return [entry.number for entry in await self.pool(tenant_id)]

    async def set_pool(self, tenant_id: int, numbers: Sequence[PoolNumber]) -> list[str]:
        """Replace the tenant's pool; returns the numbers another tenant holds (nothing saved
        then)."""
        async with self.db.transaction() as session:
            taken = list(await session.scalars(select(VirtualNumber.number).where(
                VirtualNumber.number.in_([n.number for n in numbers]),
                VirtualNumber.tenant_id != tenant_id)))
            if taken:
                return taken
            await session.execute(delete(VirtualNumber).where(
                VirtualNumber.tenant_id == tenant_id))
            session.add_all(VirtualNumber(number=n.number, tenant_id=tenant_id, position=i,
                                          label=n.label, queue=n.queue)
                            for i, n in enumerate(numbers))
        return []

    async def owners(self) -> dict[str, int]:
        """Every virtual number and its tenant."""
        async with self.db.session() as session:
            rows = await session.execute(select(VirtualNumber.number, VirtualNumber.tenant_id))
            return {number: tenant_id for number, tenant_id in rows.all()}

    async def for_contact(self, tenant_id: int, contact_id: int) -> str | None:
        """The virtual number the contact sees (given now if it had none): sticky."""
        async with self.db.transaction() as session:
            pool = list(await session.scalars(select(VirtualNumber.number).where(
                VirtualNumber.tenant_id == tenant_id).order_by(VirtualNumber.position)))
            given = {row.contact_id: row.number for row in await session.scalars(
                select(ContactVirtualNumber).where(ContactVirtualNumber.tenant_id == tenant_id))}
            number = sticky_number(pool, given, contact_id)
            if number is not None and given.get(contact_id) != number:
                row = await session.get(ContactVirtualNumber, contact_id)
                if row is None:
                    session.add(ContactVirtualNumber(contact_id=contact_id, tenant_id=tenant_id,
                                                     number=number))
                else:
                    row.number = number
            return number

    async def last_agent(self, tenant_id: int, caller: str) -> int | None:
        """The user id of the agent who last talked with `caller` (either way)."""
        async with self.db.session() as session:
            return await session.scalar(
                select(CallRow.agent_user_id).where(
                    CallRow.tenant_id == tenant_id, CallRow.agent_user_id.is_not(None),
                    or_(CallRow.from_number == caller, CallRow.to_number == caller))
                .order_by(CallRow.started_at.desc()).limit(1))

    async def mappings(self, tenant_id: int, *, live_at: datetime | None = None,
                       virtual: str | None = None, party: str | None = None,
                       limit: int = 500) -> list[MaskedMapping]:
        statement = select(MaskedMapping).where(MaskedMapping.tenant_id == tenant_id)
        if party is not None:
            statement = statement.where(or_(MaskedMapping.party_a == party,
                                            MaskedMapping.party_b == party))
        if live_at is not None:
            statement = statement.where(MaskedMapping.expires_at > live_at)
        if virtual is not None:
            statement = statement.where(MaskedMapping.virtual == virtual)
        async with self.db.session() as session:
            return list(await session.scalars(
                statement.order_by(MaskedMapping.id.desc()).limit(limit)))

    async def create_mapping(self, tenant_id: int, party_a: str, party_b: str, *,
                             ttl: timedelta, virtual: str | None, reference: str,
                             by: str) -> MaskedMapping:
        """A mapping on `virtual` (one of the pool's; None: the first free one); NoFreeNumber
        when the number (or every one) has a live mapping of A or B. Journaled."""
        now = utc_now()
        pool = [n.number for n in await self.pool(tenant_id)]
        if virtual is not None:
            pool = [virtual] if virtual in pool else []
        live = [_pair(row) for row in await self.mappings(tenant_id, live_at=now)]
        number = free_number(pool, live, party_a, party_b, now)
        if number is None:
            raise NoFreeNumber
        row = MaskedMapping(tenant_id=tenant_id, virtual=number, party_a=party_a,
                            party_b=party_b, reference=reference, expires_at=now + ttl,
                            created_at=now, created_by=by)
        async with self.db.transaction() as session:
            session.add(row)
        self.db.writes.append([NewEvent(
            tenant_id=tenant_id, event=MAPPING_CREATED, at=now,
            data={"mapping": row.id, "virtual": number, "party_a": party_a,
                  "party_b": party_b, "expires_at": row.expires_at.isoformat(),
                  "reference": reference, "by": by})])
        return row

    async def revoke_mapping(self, tenant_id: int, mapping_id: int, *,
                             by: str) -> MaskedMapping | None:
        """End a live mapping now (None: no such mapping of the tenant; MappingEnded: it had
        ended): the next call from either party is refused as `revoked`; a call already
        connected through it goes on until they hang up. Journaled, with who revoked it."""
        now = utc_now()
        async with self.db.transaction() as session:
            row = await session.get(MaskedMapping, mapping_id)
            if row is None or row.tenant_id != tenant_id:
                return None
            if row.revoked_at is not None or row.expires_at <= now:
                raise MappingEnded
            row.revoked_at, row.revoked_by, row.expires_at = now, by, now
        self.db.writes.append([NewEvent(
            tenant_id=tenant_id, event=MAPPING_REVOKED, at=now,
            data={"mapping": row.id, "virtual": row.virtual, "party_a": row.party_a,
                  "party_b": row.party_b, "reference": row.reference, "by": by})])
        return row

    async def connected_call(self, call_id: str) -> dict[str, Any] | None:
        """The CONNECT line of a masked call (its mapping and virtual number) when the call
        has no ENDED line yet; None otherwise (not a masked call, or its end is written)."""
        async with self.db.session() as session:
            rows = list(await session.scalars(select(CallEvent).where(
                CallEvent.call_id == call_id, CallEvent.event.in_((CONNECT, ENDED)))
                .order_by(CallEvent.id)))
        if not rows or rows[-1].event != CONNECT:
            return None
        return dict(rows[-1].data or {})

    async def route(self, tenant_id: int, caller: str, virtual: str,
                    now: datetime) -> Connect | Refuse:
        """What a call from `caller` to `virtual` does (core.route_call over the caller's
        mappings on that number, the latest 100)."""
        rows = await self.mappings(tenant_id, virtual=virtual, party=caller, limit=100)
        return route_call([_pair(row) for row in rows], caller, virtual, now)


class MaskedCalls:
    """Calls to virtual numbers on the Stasis side: which numbers are virtual (kept in memory,
    read again every POOL_REFRESH_S so a call never waits on that), and the call's script."""

    def __init__(self, store: VirtualNumbers, line: TrunkLine, acd: AcdService | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.acd = acd  # where customers calling a virtual number back are put
        self.line = line  # every outside dial goes through its dialling policy (permit)
        self.clock = clock
        self.owners: dict[str, int] = {}
        self._polling = Polling(self._reload, POOL_REFRESH_S, "virtual numbers")

    async def start(self) -> None:
        await self._polling.start()

    async def stop(self) -> None:
        await self._polling.stop()

    async def _reload(self) -> None:
        self.owners = await self.store.owners()

    def tenant_of(self, number: str) -> int | None:
        return self.owners.get(number)

    async def run(self, call: Call) -> None:
        """A call to a virtual number: the caller's live mapping connects them to the other
        party, the virtual number presented to both; otherwise an announcement, then hang up."""
        virtual = dialed_number(call.start)
        caller = caller_number(call.start)
        decision = await self.store.route(call.record.tenant_id, caller, virtual, self.clock())
        if isinstance(decision, Refuse) and decision.reason == "unknown":
            if await self._return_call(call, caller, virtual):
                return
        if isinstance(decision, Refuse):
            await call.note(REFUSED, virtual=virtual, reason=decision.reason,
                            mapping=decision.pair.id if decision.pair is not None else None)
            await call.answer()
            await call.play([REFUSAL_SOUND], within=30.0)
            return
        await call.note(CONNECT, virtual=virtual, mapping=decision.pair.id)
        await call.answer()  # the caller hears ringing while the other party's phone rings
        outcome = await self.line.connect_number(call, decision.to,
                                                 caller_id=Presented(virtual, "virtual"))
        await call.note(ENDED, virtual=virtual, mapping=decision.pair.id,
                        talked=outcome.talked, reason=outcome.reason)

    async def carried_over_ended(self, record: CallRecord) -> None:
        """A masked call carried over a restart (Asterisk kept both parties talking in its
        bridge, restart/adoption.py let it finish) has ended: its end is journaled against its
        mapping, as if the call had stayed with this process."""
        await self.store.db.writes.settle()  # the call's lines from before, if still queued
        connected = await self.store.connected_call(record.id)
        if connected is None:
            return
        self.store.db.writes.append([NewEvent(
            tenant_id=record.tenant_id, call_id=record.id, event=ENDED, at=utc_now(),
            data={"virtual": connected.get("virtual"), "mapping": connected.get("mapping"),
                  "talked": True, "reason": "carried_over", "adopted": True})])

    async def _return_call(self, call: Call, caller: str, virtual: str) -> bool:
        """A customer calling back the virtual number they were shown: their last agent while
        logged in, then the number's queue (core.return_call). False: nowhere to go."""
        if self.acd is None:
            return False
        tenant_id = call.record.tenant_id
        entry = next((e for e in await self.store.pool(tenant_id) if e.number == virtual), None)
        user_id = await self.store.last_agent(tenant_id, caller)
        agent = next((a for a in self.acd.agents.values()
                      if a.user_id == user_id and a.tenant_id == tenant_id), None)
        logged_in = (agent is not None and
                     self.acd.publisher.agent_view(agent).state is not AgentState.OFFLINE)
        steps = return_call(agent.username if agent is not None else None, logged_in,
                            entry.queue if entry is not None else None)
        if not steps:
            return False
        await call.note(RETURN, virtual=virtual, steps=[
            {"agent": s.agent} if isinstance(s, ToAgent) else {"queue": s.queue} for s in steps])
        for step in steps:
            if isinstance(step, ToAgent):
                outcome = await self.acd.connect_agent(call, step.agent)
            else:
                outcome = await self.acd.enqueue(call, QueueRequest(step.queue))
            if outcome.talked or outcome.reason == "caller_hangup":
                break
        return True


VIRTUAL_NUMBERS: web.AppKey[VirtualNumbers] = web.AppKey("virtual_numbers")


def virtual_numbers_of(req: RouteRequest) -> VirtualNumbers:
    return req.http.app[VIRTUAL_NUMBERS]
