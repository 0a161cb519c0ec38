"""A queue's figure settings: the service level formula and the short-abandon threshold, as
stored and read back, and refused with the field when wrong."""

from __future__ import annotations

import pytest

from pbx_stasis.acd.figures import QueueRules, QueueTally
from pbx_stasis.acd.model import QueueConfig, ServiceLevelMode
from pbx_stasis.acd.settings import SettingsInvalid, queue_config, queue_settings


def test_the_formula_and_the_short_abandon_threshold_round_trip() -> None:
    config = queue_config("sales", {"service_level": 30, "service_level_mode": "answered",
                                    "short_abandon": 5})
    assert (config.service_level_mode, config.short_abandon) == (ServiceLevelMode.ANSWERED, 5.0)
    saved = queue_settings(config)
    assert (saved["service_level_mode"], saved["short_abandon"]) == ("answered", 5.0)
    assert queue_config("sales", saved) == config
    assert QueueRules.of(config) == QueueRules(30.0, 5.0, ServiceLevelMode.ANSWERED)


def test_a_queue_without_them_keeps_the_old_service_level() -> None:
    rules = QueueRules.of(QueueConfig("sales", service_level=15))
    # The rule the wallboard and the reports always had: S = T, short waits do not count.
    assert (rules.mode, rules.short) == (ServiceLevelMode.WITHOUT_SHORT_ABANDONS, 15.0)


def test_bad_settings_name_their_field() -> None:
    with pytest.raises(SettingsInvalid) as caught:
        queue_config("sales", {"service_level_mode": "sl9", "short_abandon": "soon"})
    assert caught.value.problems == {
        "service_level_mode": "must be one of answered, answered-and-abandoned, "
                              "without-short-abandons",
        "short_abandon": "must be a number",
    }
    with pytest.raises(SettingsInvalid) as caught:
        queue_config("sales", {"short_abandon": -1})
    # the queue's schema (acd/settings.py) names the field itself
    assert caught.value.problems == {"short_abandon": "must be at least 0"}


def test_the_three_formulas_on_one_day() -> None:
    # 8 answered (6 within T), 4 left unanswered: 1 within S, 2 within T, 2 after T.
    day = QueueTally(answered=8, answered_within=6, unanswered=4, unanswered_within=2, short=1)
    assert day.service_level(ServiceLevelMode.ANSWERED) == 6 / 8
    assert day.service_level(ServiceLevelMode.ANSWERED_AND_ABANDONED) == (6 + 2) / (8 + 4)
    assert day.service_level(ServiceLevelMode.WITHOUT_SHORT_ABANDONS) == 6 / (8 + 4 - 1)
    assert QueueTally().service_level(ServiceLevelMode.ANSWERED) is None
