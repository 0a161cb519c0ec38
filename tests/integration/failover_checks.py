"""What a kill of the active controller must leave in the journal (issue 17), judged from the
rows alone: one entry, one connect and one end per call (no gap, no duplicate), each call up
at the kill carried over once (ADOPTED), the waiters connected with their original wait, no
agent offered or connected while on another call. Pure; shared by test_failover_live.py and
scripts/bench-failover."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from pbx_stasis.store import JournalEntry

PER_CALL = ("ENTERQUEUE", "CONNECT", "COMPLETECALLER")  # each caller hangs up after talking
TALK_ENDS = ("COMPLETECALLER", "COMPLETEAGENT", "TRANSFER")
WAIT_TOLERANCE_S = 1.0  # a CONNECT's `wait` against its ENTERQUEUE's time (rows are stamped
# when written: a fraction of a second apart from the moment they tell)


@dataclass(frozen=True)
class Verdict:
    calls: int
    expected: int  # journal rows: one of each PER_CALL per call
    found: int  # of those events, on those calls (duplicates counted)
    duplicates: tuple[str, ...]  # "call EVENT x2"
    gaps: tuple[str, ...]  # "call EVENT missing"
    adoptions: tuple[str, ...]  # a call up at the kill not carried over exactly once
    waiters: int
    waits_checked: int  # waiters with an ENTERQUEUE and a CONNECT (the others: a gap)
    waits_lost: tuple[str, ...]  # a waiter connected with a wait not counted from its entry
    doubles: tuple[str, ...]  # an agent offered or connected a call while talking on another
    order: tuple[str, ...]  # waiters first offered out of the order they entered (one
    # priority: the longest waiting first)

    @property
    def waits_kept(self) -> int:
        return self.waits_checked - len(self.waits_lost)

    @property
    def faults(self) -> tuple[str, ...]:
        return (*self.duplicates, *self.gaps, *self.adoptions, *self.waits_lost,
                *self.doubles, *self.order)


def judge(rows: Sequence[JournalEntry], calls: Collection[str], waiters: Collection[str],
          *, all_up: bool = True) -> Verdict:
    """`rows`: the journal (any rows; those of `calls` are read); `calls`: those up when the
    controller died (`all_up` false: some may have ended just before, their end maybe not
    written yet: each is then carried over at most once); `waiters`: those waiting in the
    queue, not yet connected."""
    mine = [row for row in rows if row.call_id in calls]
    counts = Counter((row.call_id, row.event) for row in mine if row.event in PER_CALL)
    duplicates = tuple(f"{call} {event} x{counts[call, event]}" for call in sorted(calls)
                       for event in PER_CALL if counts[call, event] > 1)
    gaps = tuple(f"{call} {event} missing" for call in sorted(calls) for event in PER_CALL
                 if not counts[call, event])
    adopted = Counter(row.call_id for row in mine if row.event == "ADOPTED")
    adoptions = tuple(f"{call} ADOPTED x{adopted[call]}" for call in sorted(calls)
                      if adopted[call] > 1 or (all_up and not adopted[call]))
    first: dict[tuple[str | None, str], JournalEntry] = {}
    for row in mine:
        if row.event in ("ENTERQUEUE", "OFFER", "CONNECT"):
            first.setdefault((row.call_id, row.event), row)
    waits_lost = []
    checked = 0
    for call in sorted(waiters):
        entered, connected = first.get((call, "ENTERQUEUE")), first.get((call, "CONNECT"))
        if entered is None or connected is None:
            continue  # a gap, told above
        checked += 1
        waited = (connected.at - entered.at).total_seconds()
        told = float(connected.data.get("wait", -1))
        if abs(told - waited) > WAIT_TOLERANCE_S:
            waits_lost.append(f"{call} connected with wait {told:.1f} s after {waited:.1f} s")
    offered = sorted((first[call, "OFFER"].at, first[call, "ENTERQUEUE"].at, call)
                     for call in waiters if (call, "OFFER") in first
                     and (call, "ENTERQUEUE") in first)
    order = tuple(f"{b} (entered {b_in:%H:%M:%S.%f}) first offered after {a} (entered "
                  f"{a_in:%H:%M:%S.%f})"
                  for (_, a_in, a), (_, b_in, b) in itertools.pairwise(offered) if b_in < a_in)
    return Verdict(calls=len(calls), expected=len(PER_CALL) * len(calls),
                   found=sum(counts.values()), duplicates=duplicates, gaps=gaps,
                   adoptions=adoptions, waiters=len(waiters), waits_checked=checked,
                   waits_lost=tuple(waits_lost), doubles=_doubles(mine), order=order)


def _doubles(rows: Sequence[JournalEntry]) -> tuple[str, ...]:
    """Per agent: each talk runs from its CONNECT to its call's end; another call's CONNECT or
    OFFER to that agent inside it is a second call at once."""
    ends: dict[str, datetime] = {}
    for row in rows:
        if row.event in TALK_ENDS and row.call_id is not None:
            ends.setdefault(row.call_id, row.at)
    talks: dict[int, list[tuple[datetime, datetime, str]]] = {}
    for row in rows:
        if row.event == "CONNECT" and row.agent_user_id is not None and row.call_id:
            talks.setdefault(row.agent_user_id, []).append(
                (row.at, ends.get(row.call_id, datetime.max.replace(tzinfo=row.at.tzinfo)),
                 row.call_id))
    found = []
    for row in rows:
        if row.event not in ("CONNECT", "OFFER") or row.agent_user_id is None:
            continue
        for start, end, call in talks.get(row.agent_user_id, []):
            if call != row.call_id and start <= row.at < end:
                found.append(f"agent {row.agent_user_id}: {row.event} of {row.call_id} while "
                             f"talking on {call}")
    return tuple(found)
