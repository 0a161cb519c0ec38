"""The call quality and evaluation figures of a queue or an agent (acd/figures.py CallScores):
a call's MES is its worse leg's, a call without one is not measured, a failed evaluation
counts as 0."""

from __future__ import annotations

from pbx_stasis.acd.figures import CallScores


def test_a_calls_mes_is_its_worse_leg_and_poor_under_the_bar() -> None:
    scores = CallScores()
    scores.add_quality([88.0, 20.0], poor_below=70.0)
    scores.add_quality([90.0, None], poor_below=70.0)  # one leg measured: that leg
    scores.add_quality([None, None], poor_below=70.0)  # too short for an RTCP report
    scores.add_quality([70.0, 75.0], poor_below=70.0)  # at the bar is not under it
    assert (scores.measured, scores.poor) == (3, 1)
    assert scores.average_mes == round((20.0 + 90.0 + 70.0) / 3, 1)
    assert scores.poor_quality_share == 1 / 3


def test_evaluations_average_with_a_failed_one_as_zero() -> None:
    scores = CallScores()
    scores.add_evaluation(90.0, failed=False)
    scores.add_evaluation(0.0, failed=True)
    scores.add_evaluation(70.0, failed=False)
    assert scores.summary() == {
        "quality_measured": 0, "average_mes": None, "poor_quality": 0,
        "poor_quality_share": None, "evaluations": 3, "average_evaluation": 53.3,
        "failed_evaluations": 1}
