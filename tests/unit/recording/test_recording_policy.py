"""Recording policies and rules, pure: which calls are recorded, what an agent may, what expires."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.recording.policy import PolicyMode, RecordingPolicy, RecordingRules

draws = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


@given(draws)
def test_all_records_every_call_none_and_on_demand_none_at_connect(draw: float) -> None:
    assert RecordingPolicy(PolicyMode.ALL).records_at_connect(draw)
    assert not RecordingPolicy(PolicyMode.NONE).records_at_connect(draw)
    assert not RecordingPolicy(PolicyMode.ON_DEMAND).records_at_connect(draw)


@given(st.floats(min_value=0.001, max_value=100.0), draws)
def test_a_sample_records_exactly_the_draws_below_its_share(percent: float, draw: float) -> None:
    policy = RecordingPolicy(PolicyMode.SAMPLE, percent)
    assert policy.records_at_connect(draw) == (draw * 100 < percent)


def test_a_sample_records_its_share_of_evenly_spread_calls() -> None:
    calls = 10_000
    for percent in (1.0, 12.5, 50.0, 100.0):
        policy = RecordingPolicy(PolicyMode.SAMPLE, percent)
        recorded = sum(policy.records_at_connect(n / calls) for n in range(calls))
        assert recorded == math.ceil(calls * percent / 100)


def test_only_on_demand_lets_the_agent_start() -> None:
    assert [m for m in PolicyMode if RecordingPolicy(m, 10.0).agent_may_start] == [
        PolicyMode.ON_DEMAND
    ]


@pytest.mark.parametrize("percent", [-1.0, 100.5, math.nan, math.inf])
def test_a_share_outside_0_100_is_refused(percent: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        RecordingPolicy(PolicyMode.SAMPLE, percent)


def test_a_sample_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="above 0"):
        RecordingPolicy(PolicyMode.SAMPLE, 0.0)


def test_rules_expire_after_their_days_or_never() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert RecordingRules().cutoff(now) is None
    assert RecordingRules(retention_days=30).cutoff(now) == now - timedelta(days=30)
    with pytest.raises(ValueError, match="at least 1"):
        RecordingRules(retention_days=0)
