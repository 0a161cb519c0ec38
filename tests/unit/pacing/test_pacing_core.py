"""The pacing core: progressive places one call per free agent, predictive places more only
while the expected abandons fit the target, and never once the window has spent it."""

from __future__ import annotations

from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbx_stasis.pacing.core import (
    DialResult,
    Floor,
    Mode,
    Pacer,
    PacingSettings,
    _expected_overflow,
    _poisson_binomial,
)


def _warmed(target: float = 0.03, *, connect: float = 0.3, answers: int = 60,
            abandons: int = 0, handle: float = 150.0) -> Pacer:
    """A predictive pacer whose window saw `answers` people answer out of answers/connect dials."""
    pacer = Pacer(PacingSettings(mode=Mode.PREDICTIVE, abandon_target=target))
    dials = round(answers / connect)
    for i in range(dials):
        at = i * 2.0
        result = DialResult.PERSON if i < answers else DialResult.NO_ANSWER
        pacer.dial_ended(at, result, 8.0)
        pacer.handled(at, handle + (i % 7) * 10)
    for i in range(abandons):
        pacer.abandoned(float(i))
    return pacer


def test_progressive_places_one_call_per_free_agent_not_yet_served() -> None:
    pacer = Pacer(PacingSettings(mode=Mode.PROGRESSIVE))
    assert pacer.calls_to_place(0.0, Floor(free=5, ringing=2)) == 3
    assert pacer.calls_to_place(0.0, Floor(free=1, ringing=3)) == 0


def test_predictive_is_progressive_until_the_window_has_enough_answers() -> None:
    pacer = Pacer(PacingSettings(mode=Mode.PREDICTIVE, min_answers=30))
    for i in range(20):
        pacer.dial_ended(float(i), DialResult.PERSON, 5.0)
    assert pacer.calls_to_place(30.0, Floor(free=10)) == 10


def test_predictive_dials_ahead_of_a_pool_of_free_agents() -> None:
    pacer = _warmed()
    placed = pacer.calls_to_place(130.0, Floor(free=10))
    assert placed > 10  # a 30% connect rate: 10 lines for 10 agents would leave most idle


def test_a_higher_target_dials_at_least_as_far_ahead() -> None:
    floor = Floor(free=8, busy_elapsed=(140.0, 150.0, 10.0), ringing=4)
    placed = [_warmed(target).calls_to_place(130.0, floor) for target in (0.01, 0.03, 0.05)]
    assert placed == sorted(placed)


def test_once_the_window_spent_its_abandons_it_is_progressive() -> None:
    pacer = _warmed(answers=60, abandons=2)  # 3.3% > 3%
    assert pacer.calls_to_place(130.0, Floor(free=10, ringing=3)) == 7


def test_the_window_forgets_old_calls() -> None:
    pacer = _warmed(answers=60, abandons=2)
    later = 10_000.0  # past the one-hour window: nothing measured, so progressive
    assert pacer.rates(later).dialled == 0
    assert pacer.calls_to_place(later, Floor(free=4)) == 4


def test_agents_about_to_finish_count_toward_the_calls_placed() -> None:
    pacer = _warmed(handle=150.0)
    idle_only = pacer.calls_to_place(130.0, Floor(free=4))
    with_finishing = pacer.calls_to_place(130.0, Floor(free=4, busy_elapsed=(205.0,) * 6))
    assert with_finishing > idle_only


@pytest.mark.parametrize(("field", "value"), [
    ("abandon_target", 1.0), ("abandon_target", -0.1), ("window_s", 0.0), ("min_answers", 0),
    ("max_lines_per_agent", 0.5), ("safety", 0.0), ("recent_s", 0.0),
])
def test_bad_settings_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        PacingSettings(**{field: value})  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------


@given(
    lines=st.integers(0, 25),
    p=st.floats(0.0, 1.0),
    probabilities=st.lists(st.floats(0.0, 1.0), max_size=6),
    certain=st.integers(0, 6),
)
def test_expected_overflow_is_the_brute_force_sum(
    lines: int, p: float, probabilities: list[float], certain: int
) -> None:
    available = _poisson_binomial(probabilities, certain)
    assert sum(available) == pytest.approx(1.0)
    brute = sum(
        comb(lines, x) * p**x * (1 - p) ** (lines - x) * mass * max(0, x - agents)
        for x in range(lines + 1)
        for agents, mass in enumerate(available)
    )
    assert _expected_overflow(lines, p, available) == pytest.approx(brute, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    free=st.integers(0, 30),
    ringing=st.integers(0, 40),
    busy=st.lists(st.floats(0.0, 600.0), max_size=20),
    connect=st.floats(0.05, 0.9),
    abandons=st.integers(0, 3),
)
def test_predictive_stays_between_progressive_and_its_line_limit_and_grows_with_the_target(
    free: int, ringing: int, busy: list[float], connect: float, abandons: int
) -> None:
    floor = Floor(free=free, busy_elapsed=tuple(busy), ringing=ringing)
    progressive = max(0, free - ringing)
    placed = []
    for target in (0.01, 0.03, 0.05):
        pacer = _warmed(target, connect=connect, abandons=abandons)
        n = pacer.calls_to_place(130.0, floor)
        limit = int(max(1, free + len(busy)) * pacer.settings.max_lines_per_agent) - ringing
        assert progressive <= n <= max(progressive, limit)
        rates = pacer.rates(130.0)
        if rates.abandoned >= target * rates.answered:
            assert n == progressive
        placed.append(n)
    assert placed == sorted(placed)
