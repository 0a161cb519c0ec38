"""A tenant's analytics rules as the API takes them: bad input is named field by field."""

from __future__ import annotations

from pbx_stasis.analytics.http import RULES
from pbx_stasis.analytics.rules import AnalyticsRulesFields, categories_of, lead_of


def test_rules_round_trip_into_the_insights_rules() -> None:
    clean, errors = RULES.validate({
        "categories": [{"name": "churn", "phrases": ["cancel", "close my account"],
                        "speaker": "customer"}],
        "lead": {"category_points": {"churn": -20}, "threshold": 10}})
    assert errors == {}
    dumped = AnalyticsRulesFields.model_validate(clean).model_dump()
    [churn] = categories_of(dumped["categories"])
    assert (churn.name, churn.phrases, churn.speaker) == (
        "churn", ("cancel", "close my account"), "customer")
    lead = lead_of(dumped["lead"])
    assert (lead.category_points, lead.threshold) == ({"churn": -20.0}, 10.0)


def test_bad_rules_are_named_field_by_field() -> None:
    for body, field in (
        ({"categories": [{"name": "x", "phrases": []}]}, "categories.0.phrases"),
        ({"categories": [{"name": " ", "phrases": ["a"]}]}, "categories.0.name"),
        ({"categories": [{"name": "x", "phrases": ["a", "a"]}]}, "categories.0.phrases.1"),
        ({"categories": [{"name": "x", "phrases": ["a"], "speaker": "boss"}]},
         "categories.0.speaker"),
        ({"lead": {"threshold": "high"}}, "lead.threshold"),
        ({"lead": {"threshold": 1e9}}, "lead.threshold"),
        ({"lead": {"category_points": {"x": None}}}, "lead.category_points.x"),
        ({"extra": 1}, "extra"),
    ):
        clean, errors = RULES.validate(body)
        assert clean == {} and field in errors, (body, errors)
