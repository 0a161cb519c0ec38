"""The free-agent index picks exactly what a brute-force reading of each strategy picks."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pbx_stasis.acd.free import FreeAgents, FreePool, Requirement, SortKey, group_key
from pbx_stasis.acd.model import Strategy

AGENTS = [f"a{i}" for i in range(8)]
SKILL_SETS = [{}, {"sales": 1}, {"sales": 3}, {"fr": 2}, {"sales": 2, "fr": 2}]
REQUIREMENTS = [
    Requirement({}),
    Requirement({"sales": 2}),
    Requirement({"sales": 3}, relax=1),
    Requirement({"fr": 1, "sales": 1}),
    Requirement({}, max_penalty=0),
    Requirement({"sales": 9}),
]

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.sampled_from(AGENTS),
            st.integers(0, 2),  # penalty
            st.integers(0, len(SKILL_SETS) - 1),
            st.integers(0, 5),  # key
        ),
        st.tuples(st.just("discard"), st.sampled_from(AGENTS)),
        st.tuples(st.just("select"), st.integers(0, len(REQUIREMENTS) - 1)),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(strategy=st.sampled_from(list(Strategy)), ops=operations, seed=st.integers(0, 3))
def test_select_matches_brute_force(strategy: Strategy, ops: list[tuple], seed: int) -> None:  # type: ignore[type-arg]
    free = FreeAgents(strategy)
    rng = random.Random(seed)
    model: dict[str, tuple[int, dict[str, int], SortKey]] = {}
    last: SortKey | None = None  # round-robin: base key of the last agent picked
    for op in ops:
        if op[0] == "put":
            _, agent_id, penalty, skills, key = op
            base = (key, agent_id)
            model[agent_id] = (penalty, SKILL_SETS[skills], base)
            free.put(agent_id, group_key(penalty, SKILL_SETS[skills]), base)
        elif op[0] == "discard":
            model.pop(op[1], None)
            free.discard(op[1])
        else:
            requirement = REQUIREMENTS[op[1]]
            admitted = {a: m for a, m in model.items() if requirement.admits(m[0], m[1])}
            tier = {}
            if admitted:
                best = min(m[0] for m in admitted.values())
                tier = {a: m[2] for a, m in admitted.items() if m[0] == best}
            picked = free.select(requirement, rng)
            if not tier:
                assert picked == []
            elif strategy is Strategy.RINGALL:
                assert picked == sorted(tier)
            elif strategy is Strategy.RANDOM:
                assert len(picked) == 1 and picked[0] in tier
            elif strategy is Strategy.ROUND_ROBIN:
                after = sorted((b, a) for a, b in tier.items() if last is None or b > last)
                expected = after[0][1] if after else min((b, a) for a, b in tier.items())[1]
                assert picked == [expected]
                last = tier[expected]
            else:
                assert picked == [min(tier, key=lambda a: tier[a])]
        assert len(free) == len(model)
        assert set(free.agents()) == set(model)


def test_random_pick_is_uniform_across_groups() -> None:
    free = FreeAgents(Strategy.RANDOM)
    for i, agent_id in enumerate(AGENTS):
        free.put(agent_id, group_key(0, SKILL_SETS[i % 2]), (agent_id,))
    rng = random.Random(7)
    counts = dict.fromkeys(AGENTS, 0)
    for _ in range(4000):
        (agent_id,) = free.select(Requirement({}), rng)
        counts[agent_id] += 1
    assert min(counts.values()) > 400 and max(counts.values()) < 600


def test_stale_heap_entries_are_compacted() -> None:
    pool = FreePool()
    for i in range(1000):
        pool.put("a", (i,), (i,))  # re-keyed a thousand times
        pool.put("b", (0,), (0,))
    assert len(pool) == 2
    assert len(pool._heap) <= 2 * 2 + 32 + 1
    assert pool.peek() == ((0,), "b")


def test_round_robin_moves_on_from_an_agent_picked_through_another_group() -> None:
    """The cursor moves past agents of other groups: their stored keys must not win."""
    free = FreeAgents(Strategy.ROUND_ROBIN)
    rng = random.Random(0)
    free.put("first", group_key(0, {}), (3, "first"))
    assert free.select(Requirement({}), rng) == ["first"]
    free.put("x", group_key(0, {}), (5, "x"))  # keyed while the cursor is at 3
    free.put("sales", group_key(0, {"sales": 3}), (7, "sales"))
    assert free.select(Requirement({"sales": 3}), rng) == ["sales"]  # cursor jumps to 7
    free.put("z", group_key(0, {}), (8, "z"))
    # After 7 comes 8: x (5) waits for the next lap even though it was keyed before the jump.
    assert free.select(Requirement({}), rng) == ["z"]
    assert free.select(Requirement({}), rng) == ["first"]
