"""A tenant's analytics rules as an admin writes them: keyword categories and the lead score
(insights.CategoryRule and insights.LeadRules once read)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from pbx_stasis.analytics.insights import CategoryRule, LeadRules
from pbx_stasis.validation import UNIQUE, Model, Number, text

Points = Annotated[Number, Field(ge=-1000, le=1000)]
Name = Annotated[str, text(max_length=60)]


class CategoryFields(Model):
    """A category: found when one of its phrases is said (by one side only, if given)."""

    name: Name
    phrases: Annotated[list[Annotated[str, text(max_length=100)]],
                       Field(min_length=1, max_length=50), UNIQUE]
    speaker: Literal["agent", "customer"] | None = None


class LeadFields(Model):
    """Points that make a lead score; a call at `threshold` or more is a hot lead."""

    category_points: Annotated[dict[Name, Points], Field(max_length=100)] = Field(
        default_factory=dict)
    positive_points: Points = 0.0
    negative_points: Points = 0.0
    outcome_points: Annotated[dict[Name, Points], Field(max_length=100)] = Field(
        default_factory=dict)
    threshold: Points = 50.0


class AnalyticsRulesFields(Model):
    """The tenant's categories and lead rules (PUT /api/analytics/rules)."""

    categories: Annotated[list[CategoryFields], Field(max_length=100)] = Field(
        default_factory=list)
    lead: LeadFields = Field(default_factory=LeadFields)


def categories_of(stored: list[dict[str, Any]]) -> list[CategoryRule]:
    return [CategoryRule(item["name"], tuple(item["phrases"]), item.get("speaker"))
            for item in stored]


def lead_of(stored: dict[str, Any]) -> LeadRules:
    fields = LeadFields.model_validate(stored) if stored else LeadFields()
    return LeadRules(dict(fields.category_points), fields.positive_points,
                     fields.negative_points, dict(fields.outcome_points), fields.threshold)
