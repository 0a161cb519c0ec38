"""Calls that came while the app was away and never reached it: the dialplan held them
(dialplan/extensions.conf, [pbx-away]) and refused them when the hold ran out, or their callers
hung up during it. Asterisk keeps one line per such call in AstDB (family `pbx-away`, the
line is the key: `channel id_direction_to_from_since_ended_why_cause`); the app reads the lines
back at each (re)connect and records each as a call (a record and its CALLSTART and CALLEND
lines, at the times Asterisk noted) and, when its number leads to a queue with no choice on the
way, as offered and unanswered there (the ACD's AWAY row: acd/figures.py), so reports and the
wallboard count them; then the dialplan deletes them.

AstDB rather than CDRs: it is in every Asterisk, written atomically per key by the call's own
hangup handler, survives an Asterisk restart, and is read over ARI, so the app needs no access
to Asterisk's files or a CDR backend. ARI lists its keys only through a channel (DB_KEYS() as a
channel variable; the global-variable endpoint reads no function) and refuses to read or delete
values (DB(), DB_DELETE(): "dangerous function"), hence the line in the key and the deletion by
the dialplan (a Local channel into `forget`). Any channel Asterisk has serves for the listing;
with none at a reconnect (no call anywhere), the first call that arrives after it is used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.calls.records import CallLog
from pbx_stasis.store import Direction, StoreError

log = logging.getLogger(__name__)

FAMILY = "pbx-away"  # the AstDB family dialplan/extensions.conf writes
FORGET_BATCH = 40  # lines deleted per Local channel (a channel variable of ~3 kB)
WHY = {
    "refused": ("refused: the app was away for the whole hold", "app"),
    "abandoned": ("caller hung up while the app was away", "caller"),
}


@dataclass(frozen=True)
class AwayCall:
    """One call the dialplan held for the app and let go without it."""

    channel_id: str
    direction: Direction
    to_number: str
    from_number: str
    since: datetime
    ended: datetime
    why: str  # "refused" or "abandoned"
    cause: int | None


def parse_line(key: str) -> AwayCall | None:
    """A line of the dialplan's `record` (None when it is not one)."""
    fields = key.split("_")
    if len(fields) != 8:
        return None
    channel_id, direction, to_number, from_number, since, ended, why, cause = fields
    try:
        kind = Direction(direction)
        end = datetime.fromtimestamp(int(ended), UTC)
        start = datetime.fromtimestamp(int(since or ended), UTC)
    except ValueError:
        return None
    return AwayCall(
        channel_id=channel_id, direction=kind, to_number=to_number,
        from_number=from_number or "anonymous", since=min(start, end), ended=end,
        why=why if why in WHY else "refused", cause=int(cause) if cause.isdigit() else None,
    )


class AwayCalls:
    """Records the calls the dialplan let go while the app was away."""

    def __init__(self, ari: AriClient, calls: CallLog, tenant_for: Callable[[str], int],
                 counted: Callable[[int, str, AwayCall], None] | None = None) -> None:
        self.ari = ari
        self.calls = calls
        self._tenant_for = tenant_for  # the tenant a dialled number belongs to
        # Told each call recorded (tenant, call id): the ACD counts it in its number's queue.
        self._counted = counted
        self.pending = False  # lines may wait in AstDB: read them through the next call
        self._task: asyncio.Task[int] | None = None

    async def collect(self, channel_ids: Iterable[str]) -> int:
        """Read, delete and record every line, through the first of `channel_ids` that still
        exists; returns how many calls were recorded."""
        for channel_id in channel_ids:
            try:
                keys = await self.ari.channels.get_variable(channel_id, f"DB_KEYS({FAMILY})")
            except AriError as exc:
                if exc.status == 404:
                    continue  # gone since it was listed: try the next one
                # e.g. func_db not loaded (`pbx check` says so): asking again at every call
                # would fail the same way; the next (re)connect asks again.
                self.pending = False
                log.warning("cannot list the calls the dialplan let go while the app was "
                            "away: %s", exc)
                return 0
            self.pending = False
            lines = [k.strip() for k in keys.split(",") if k.strip()]
            if not lines:
                return 0
            await self.calls.writes.settle()  # lines recorded at the last connect are stored
            recorded = 0
            for key in lines:
                call = parse_line(key)
                if call is None:
                    log.warning("ignoring a %s line that is not a call's: %r", FAMILY, key)
                elif await self.calls.records.get_by_channel(call.channel_id) is None:
                    await self._record(call)  # (else recorded before its deletion failed)
                    recorded += 1
            await self._forget(lines)
            if recorded:
                log.info("recorded %d call(s) the dialplan let go while the app was away",
                         recorded)
            return recorded
        self.pending = True
        return 0

    async def _forget(self, keys: list[str]) -> None:
        """Have the dialplan delete these lines (ARI may not): a Local channel into `forget`,
        which never answers; its other half would go to `forgotten` and hang up."""
        for first in range(0, len(keys), FORGET_BATCH):
            await self.ari.channels.originate(
                f"Local/forget@{FAMILY}/n", context=FAMILY, extension="forgotten", priority=1,
                variables={"PBX_AWAY_KEYS": "|".join(keys[first:first + FORGET_BATCH])})

    def collect_soon(self, channel_ids: list[str], *, connected: bool = False) -> None:
        """Read the lines in the background (the calls never wait for it): at a (re)connect
        (`connected`) through any of the channels Asterisk has, else through a channel that
        just arrived when the last connect found none."""
        if connected:
            self.pending = True
        if not self.pending or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.create_task(self._collect_quietly(channel_ids), name="away-calls")

    async def _collect_quietly(self, channel_ids: list[str]) -> int:
        try:
            return await self.collect(channel_ids)
        except (AriError, StoreError) as exc:  # the records wait for the next connect
            log.warning("could not record the calls held while the app was away: %s", exc)
            return 0

    async def _record(self, call: AwayCall) -> None:
        text, by = WHY[call.why]
        record = await self.calls.open(
            tenant_id=self._tenant_for(call.to_number), channel_id=call.channel_id,
            direction=call.direction, from_number=call.from_number, to_number=call.to_number,
            data={"away": call.why}, started_at=call.since)
        await self.calls.close(record, cause=call.cause, cause_text=text, hung_up_by=by,
                               ended_at=call.ended, data={"away": call.why})
        if self._counted is not None:
            self._counted(record.tenant_id, record.id, call)
