"""The insights of a call from each side's speech and its transcript (pure)."""

from __future__ import annotations

from pbx_stasis.analytics.insights import (
    CategoryRule,
    LeadRules,
    Line,
    categorize,
    insights_of,
    lead_score,
    sentiment_of,
    talk_figures,
)
from pbx_stasis.analytics.speech import Interval


def test_talk_non_talk_overtalk_and_the_longest_monologue() -> None:
    speech = {
        "agent": [Interval(0.0, 2.0), Interval(2.2, 3.0), Interval(9.0, 10.0)],
        "customer": [Interval(2.5, 6.0), Interval(6.5, 8.0)],
    }
    talk, non_talk, overtalk, interruptions, longest, who = talk_figures(speech, 12.0)
    assert talk == {"agent": 3.8, "customer": 5.0}
    assert round(non_talk, 2) == 3.7  # nobody: 2.0-2.2, 6.0-6.5, 8-9, 10-12
    assert round(overtalk, 2) == 0.5 and interruptions == 1  # 2.5-3.0: the customer cut in
    assert (round(longest, 2), who) == (5.5, "customer")  # 2.5 .. 8.0, the agent silent


def test_a_short_overlap_is_overtalk_but_no_interruption() -> None:
    speech = {"agent": [Interval(0.0, 1.0)], "customer": [Interval(0.9, 2.0)]}
    _, _, overtalk, interruptions, _, _ = talk_figures(speech, 2.0)
    assert round(overtalk, 2) == 0.1 and interruptions == 0


def test_categories_match_whole_words_on_the_side_asked() -> None:
    lines = [Line("agent", 0.0, 1.0, "We can lower the price today"),
             Line("customer", 1.0, 2.0, "I want to cancel, the PRICE is too high"),
             Line("customer", 3.0, 4.0, "cancellation fees?")]
    rules = [CategoryRule("churn", ("cancel",), "customer"),
             CategoryRule("pricing", ("price", "too expensive")),
             CategoryRule("agent-churn", ("cancel",), "agent"),
             CategoryRule("fees", ("cancellation fee",))]  # "fees" is not "fee"
    found = categorize(lines, rules)
    assert [(m.category, m.speaker, m.at) for m in found] == [
        ("churn", "customer", 1.0), ("pricing", "agent", 0.0)]


def test_sentiment_reads_the_lexicon() -> None:
    assert sentiment_of("I am very happy with the service, thank you") > 0.5
    assert sentiment_of("this is terrible and I am angry") < -0.5
    assert sentiment_of("the meeting is at ten") == 0.0


def test_the_lead_score_adds_categories_sentiment_and_outcome() -> None:
    rules = LeadRules({"buying": 40.0, "churn": -30.0}, positive_points=20.0,
                      negative_points=-10.0, outcome_points={"Sale": 50.0}, threshold=55.0)
    lines = [Line("customer", 0.0, 2.0, "great, we would like to buy the premium plan")]
    buying = categorize(lines, [CategoryRule("buying", ("like to buy",))])
    assert lead_score(buying, 0.6, None, rules) == (
        60.0, ["category buying: +40", "customer positive: +20"], True)
    assert lead_score(buying, -0.4, None, rules)[2] is False  # 30
    assert lead_score([], None, "Sale", rules) == (50.0, ["outcome Sale: +50"], False)


def test_insights_of_a_call_as_json() -> None:
    speech = {"agent": [Interval(0.0, 1.5)], "customer": [Interval(2.0, 5.0)]}
    lines = [Line("agent", 0.0, 1.5, "hello thank you for calling"),
             Line("customer", 2.0, 5.0, "we would like to buy, this is great")]
    insights = insights_of(speech, 6.0, lines, [CategoryRule("buying", ("like to buy",))],
                           LeadRules({"buying": 40.0}, positive_points=20.0, threshold=50.0))
    figures = insights.figures()
    assert figures["talk"] == {"agent": 1.5, "customer": 3.0}
    assert figures["non_talk"] == 1.5
    assert figures["longest_monologue"] == {"speaker": "customer", "seconds": 3.0}
    assert figures["sentiment"]["customer"] > 0.5
    assert [c["category"] for c in figures["categories"]] == ["buying"]
    assert figures["lead"]["hot"] is True and figures["lead"]["score"] == 60.0
