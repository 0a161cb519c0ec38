"""The agents free to take a queue's next call, indexed so each strategy picks in O(log n).

A queue's free agents are split into groups of equal (penalty, skills): a call is matched
against each group once (there are few groups), and inside a group a heap keyed by the
strategy's order gives the best agent. Removal is lazy: an entry stays in the heap until it
surfaces, and is skipped then if its agent left or was re-keyed.

Costs, for n free agents in G groups: add O(log n), remove O(1) (amortized, the heap is
compacted when stale entries outnumber live ones), pick one O(G·S + G log n) amortized (S: skills
the call requires), random pick O(G), ringall O(m) for the m agents rung.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pbx_stasis.acd.model import Skills, Strategy

SortKey = tuple[Any, ...]  # a strategy's order; smaller is offered first
GroupKey = tuple[int, frozenset[tuple[str, int]]]  # (penalty in the queue, skills)


def group_key(penalty: int, skills: Skills) -> GroupKey:
    return (penalty, frozenset(skills.items()))


@dataclass(frozen=True)
class Requirement:
    """What an agent must have to be offered a call, at the call's current escalation step."""

    skills: Skills
    relax: int = 0
    max_penalty: int | None = None

    def admits(self, penalty: int, skills: Mapping[str, int]) -> bool:
        if self.max_penalty is not None and penalty > self.max_penalty:
            return False
        return all(skills.get(name, 0) >= level - self.relax for name, level in self.skills.items())


class FreePool:
    """The free agents of one group: a heap by sort key with lazy deletion, plus a dense list."""

    __slots__ = ("_heap", "_index", "_live", "_members", "_tokens")

    def __init__(self) -> None:
        self._heap: list[tuple[SortKey, int, str]] = []
        self._live: dict[str, tuple[int, SortKey]] = {}  # agent -> (token of its entry, base key)
        self._members: list[str] = []  # dense, for a uniform random pick
        self._index: dict[str, int] = {}
        self._tokens = itertools.count()

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._members))

    def base(self, agent_id: str) -> SortKey | None:
        live = self._live.get(agent_id)
        return None if live is None else live[1]

    def put(self, agent_id: str, base: SortKey, sort_key: SortKey) -> None:
        """Add the agent, or re-key them (their previous heap entry becomes stale)."""
        if agent_id not in self._index:
            self._index[agent_id] = len(self._members)
            self._members.append(agent_id)
        token = next(self._tokens)
        self._live[agent_id] = (token, base)
        heapq.heappush(self._heap, (sort_key, token, agent_id))
        self._compact()

    def reorder(self, agent_id: str, sort_key: SortKey) -> None:
        """Move a present agent to another place in the heap, keeping their base key."""
        self.put(agent_id, self._live[agent_id][1], sort_key)

    def discard(self, agent_id: str) -> None:
        position = self._index.pop(agent_id, None)
        if position is None:
            return
        del self._live[agent_id]
        last = self._members.pop()
        if last != agent_id:
            self._members[position] = last
            self._index[last] = position
        self._compact()

    def peek(self) -> tuple[SortKey, str] | None:
        heap = self._heap
        while heap:
            sort_key, token, agent_id = heap[0]
            live = self._live.get(agent_id)
            if live is not None and live[0] == token:
                return sort_key, agent_id
            heapq.heappop(heap)
        return None

    def choice(self, rng: random.Random) -> str:
        return self._members[rng.randrange(len(self._members))]

    def _compact(self) -> None:
        # Stale entries that never surface would otherwise pile up.
        if len(self._heap) > 2 * len(self._live) + 32:
            self._heap = [
                entry for entry in self._heap if self._live.get(entry[2], (-1,))[0] == entry[1]
            ]
            heapq.heapify(self._heap)


class FreeAgents:
    """One queue's free agents, by group, and the strategy's choice among them.

    Lower penalty tiers go first (as app_queue): among the groups that admit the call, only
    those with the lowest penalty are considered.
    """

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self._groups: dict[GroupKey, FreePool] = {}
        self._skills: dict[GroupKey, dict[str, int]] = {}
        self._group_of: dict[str, GroupKey] = {}
        # Round-robin: (lap, base key) of the last agent offered; () sorts before every key.
        self._cursor: tuple[int, SortKey] = (0, ())

    def __len__(self) -> int:
        return len(self._group_of)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._group_of

    def agents(self) -> dict[str, GroupKey]:
        return dict(self._group_of)

    def group(self, agent_id: str) -> GroupKey | None:
        return self._group_of.get(agent_id)

    def base(self, agent_id: str) -> SortKey | None:
        group = self._group_of.get(agent_id)
        return None if group is None else self._groups[group].base(agent_id)

    def put(self, agent_id: str, group: GroupKey, base: SortKey) -> bool:
        """Make the agent free here with this group and key; False when nothing changed."""
        old = self._group_of.get(agent_id)
        if old == group and self._groups[group].base(agent_id) == base:
            return False
        if old is not None and old != group:
            self.discard(agent_id)
        pool = self._groups.get(group)
        if pool is None:
            pool = self._groups[group] = FreePool()
            self._skills[group] = dict(group[1])
        pool.put(agent_id, base, self._sort_key(base))
        self._group_of[agent_id] = group
        return True

    def discard(self, agent_id: str) -> None:
        group = self._group_of.pop(agent_id, None)
        if group is None:
            return
        pool = self._groups[group]
        pool.discard(agent_id)
        if not pool:
            del self._groups[group]
            del self._skills[group]

    def select(self, requirement: Requirement, rng: random.Random) -> list[str]:
        """The agents to offer the call to: one, or for ringall the whole best tier."""
        tier: list[FreePool] = []
        best: int | None = None
        for group, pool in self._groups.items():
            penalty = group[0]
            if best is not None and penalty > best:
                continue
            if not requirement.admits(penalty, self._skills[group]):
                continue
            if best is None or penalty < best:
                best, tier = penalty, [pool]
            else:
                tier.append(pool)
        if not tier:
            return []
        if self.strategy is Strategy.RINGALL:
            return sorted(agent_id for pool in tier for agent_id in pool)
        if self.strategy is Strategy.RANDOM:
            pick = rng.randrange(sum(len(pool) for pool in tier))
            for pool in tier:
                if pick < len(pool):
                    return [pool.choice(rng)]
                pick -= len(pool)
            raise AssertionError("random pick out of range")  # pragma: no cover
        chosen: tuple[SortKey, str] | None = None
        for pool in tier:
            top = self._top(pool)
            if top is not None and (chosen is None or top < chosen):
                chosen = top
        assert chosen is not None  # every pool in the tier is non-empty
        if self.strategy is Strategy.ROUND_ROBIN:
            lap, base = chosen[0]
            self._cursor = (lap, base)
        return [chosen[1]]

    def _top(self, pool: FreePool) -> tuple[SortKey, str] | None:
        while True:
            top = pool.peek()
            if top is None or self.strategy is not Strategy.ROUND_ROBIN:
                return top
            # A round-robin key is (lap, base); the cursor only moves forward, so a stored key is
            # never above the right one: fix the top until it is right, then it is the minimum.
            sort_key, agent_id = top
            right = self._sort_key(sort_key[1])
            if right == sort_key:
                return top
            pool.reorder(agent_id, right)

    def _sort_key(self, base: SortKey) -> SortKey:
        if self.strategy is not Strategy.ROUND_ROBIN:
            return base
        lap, last = self._cursor
        return (lap, base) if base > last else (lap + 1, base)
