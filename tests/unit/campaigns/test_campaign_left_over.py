"""How an attempt a stopped process left without a result ended (campaigns/core.py `left_over`):
a person who reached an agent talked, their talk carried over the restart; else nothing known."""

from __future__ import annotations

from pbx_stasis.campaigns.core import LeftOver, Result, left_over


def test_no_person_answered_it() -> None:
    assert left_over(None, []) == LeftOver(Result.FAILED)


def test_a_person_who_waited_for_an_agent_when_the_app_stopped() -> None:
    rows = [("CAMPAIGN_ANSWERED", None, {"attempt": 3}), ("ENTERQUEUE", None, {})]
    assert left_over("c1", rows) == LeftOver(Result.FAILED, "c1")


def test_a_person_talking_with_an_agent_is_connected_the_talk_carried_over() -> None:
    rows = [("CAMPAIGN_ANSWERED", None, {}), ("ENTERQUEUE", None, {}), ("CONNECT", 7, {}),
            ("ADOPTED", 7, {"action": "talk"})]
    assert left_over("c1", rows) == LeftOver(Result.CONNECTED, "c1", 7, None)


def test_a_talk_that_ended_meanwhile_gives_its_talk() -> None:
    rows = [("CONNECT", 7, {}), ("COMPLETECALLER", 7, {"talk": 42.5, "ended_away": True})]
    assert left_over("c1", rows) == LeftOver(Result.CONNECTED, "c1", 7, 42.5)
    # the first agent's part only (a transfer hands the person to another agent)
    rows = [("CONNECT", 7, {}), ("TRANSFER", 7, {"talk": 10}), ("CONNECT", 8, {}),
            ("COMPLETEAGENT", 8, {"talk": 30})]
    assert left_over("c1", rows) == LeftOver(Result.CONNECTED, "c1", 7, 10.0)
