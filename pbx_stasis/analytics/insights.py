"""Insights of one call, pure: from each party's speech (when) and the transcript (what).

- talk time per side, non-talk time (neither speaks), overtalk (both at once) and
  interruptions (a party starting to speak while the other is, overlapping by at least
  `INTERRUPTION_S`), the longest monologue (one party's turn: their speech until the other
  speaks);
- sentiment per side and over time: VADER's compound score per line (an offline lexicon,
  -1..1), averaged per side;
- categories from the tenant's keyword and phrase rules (whole words, any case, optionally one
  side only);
- a lead score: points per category found, for the customer's sentiment, for the call's
  outcome; a call at or over the threshold is a hot lead.

Contact Lens (Amazon Connect) names the same figures; the definitions here are this module's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pbx_stasis.analytics.speech import Interval

INTERRUPTION_S = 0.3
POSITIVE, NEGATIVE = 0.05, -0.05  # VADER's own cut-offs for a positive / negative text


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a transcript: who, when (seconds from the recording's start), what."""

    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """A category found when any of its phrases is said (by `speaker` only, when set)."""

    name: str
    phrases: tuple[str, ...]
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class LeadRules:
    """How a call scores as a lead; `threshold` or more is hot."""

    category_points: Mapping[str, float] = field(default_factory=dict)
    positive_points: float = 0.0  # the customer's sentiment is positive
    negative_points: float = 0.0  # ... negative (usually below zero)
    outcome_points: Mapping[str, float] = field(default_factory=dict)  # by the call's outcome
    threshold: float = 50.0


@dataclass(frozen=True, slots=True)
class Match:
    category: str
    speaker: str
    at: float
    phrase: str


@dataclass(frozen=True, slots=True)
class Insights:
    duration: float
    talk: Mapping[str, float]  # seconds per speaker
    non_talk: float
    overtalk: float
    interruptions: int
    longest_monologue: float
    longest_monologue_speaker: str | None
    sentiment: Mapping[str, float | None]  # mean compound score per speaker
    sentiment_over_time: Sequence[tuple[float, str, float]]  # (start, speaker, score)
    categories: Sequence[Match]
    lead_score: float
    lead_reasons: Sequence[str]
    hot: bool

    def figures(self) -> dict[str, Any]:
        """As JSON (what the API shows and the table stores)."""
        return {
            "duration": round(self.duration, 2),
            "talk": {side: round(value, 2) for side, value in self.talk.items()},
            "non_talk": round(self.non_talk, 2),
            "overtalk": round(self.overtalk, 2),
            "interruptions": self.interruptions,
            "longest_monologue": {"speaker": self.longest_monologue_speaker,
                                  "seconds": round(self.longest_monologue, 2)},
            "sentiment": {side: None if v is None else round(v, 3)
                          for side, v in self.sentiment.items()},
            "sentiment_over_time": [{"at": at, "speaker": side, "score": round(score, 3)}
                                    for at, side, score in self.sentiment_over_time],
            "categories": [{"category": m.category, "speaker": m.speaker, "at": m.at,
                            "phrase": m.phrase} for m in self.categories],
            "lead": {"score": round(self.lead_score, 2), "hot": self.hot,
                     "reasons": list(self.lead_reasons)},
        }


def _union(intervals: Sequence[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for item in sorted(intervals, key=lambda i: i.start):
        if merged and item.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, item.end))
        else:
            merged.append(item)
    return merged


def _overlap(a: Interval, b: Interval) -> float:
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


def talk_figures(speech: Mapping[str, Sequence[Interval]], duration: float
                 ) -> tuple[dict[str, float], float, float, int, float, str | None]:
    """(talk per speaker, non-talk, overtalk, interruptions, longest monologue, its speaker)."""
    talk = {side: sum(i.seconds for i in _union(spans)) for side, spans in speech.items()}
    everyone = _union([i for spans in speech.values() for i in spans])
    non_talk = max(0.0, duration - sum(i.seconds for i in everyone))
    sides = list(speech)
    overtalk, interruptions = 0.0, 0
    for n, side in enumerate(sides):
        for other in sides[n + 1:]:
            for a in _union(speech[side]):
                for b in _union(speech[other]):
                    shared = _overlap(a, b)
                    overtalk += shared
                    if shared >= INTERRUPTION_S:
                        interruptions += 1
    # Turns: a party's speech from when they start until the other party speaks.
    timeline = sorted(((i, side) for side, spans in speech.items() for i in _union(spans)),
                      key=lambda pair: pair[0].start)
    longest, longest_side = 0.0, None
    turn_side, turn_start, turn_end = None, 0.0, 0.0
    for interval, side in timeline:
        if side == turn_side:
            turn_end = max(turn_end, interval.end)
        else:
            turn_side, turn_start, turn_end = side, interval.start, interval.end
        if turn_end - turn_start > longest:
            longest, longest_side = turn_end - turn_start, turn_side
    return talk, non_talk, overtalk, interruptions, longest, longest_side


@cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_of(text: str) -> float:
    """VADER's compound score of a text, -1 (negative) .. 1 (positive)."""
    return float(_analyzer().polarity_scores(text)["compound"])


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in phrase.lower().split()]
    return re.compile(r"\b" + r"\s+".join(words) + r"\b")


def categorize(lines: Sequence[Line], rules: Sequence[CategoryRule]) -> list[Match]:
    """The first time each category's phrase is said in the transcript (one match each)."""
    found: list[Match] = []
    for rule in rules:
        patterns = [(phrase, _phrase_pattern(phrase)) for phrase in rule.phrases if phrase.split()]
        hit = next(((line, phrase) for line in lines
                    if rule.speaker in (None, line.speaker)
                    for phrase, pattern in patterns if pattern.search(line.text.lower())), None)
        if hit is not None:
            line, phrase = hit
            found.append(Match(rule.name, line.speaker, line.start, phrase))
    return found


def lead_score(categories: Sequence[Match], customer_sentiment: float | None,
               outcome: str | None, rules: LeadRules) -> tuple[float, list[str], bool]:
    """(score, why, hot) of a call by the tenant's lead rules."""
    score, reasons = 0.0, []
    for name in sorted({match.category for match in categories}):
        points = rules.category_points.get(name, 0.0)
        if points:
            score += points
            reasons.append(f"category {name}: {points:+g}")
    if customer_sentiment is not None:
        if customer_sentiment >= POSITIVE and rules.positive_points:
            score += rules.positive_points
            reasons.append(f"customer positive: {rules.positive_points:+g}")
        elif customer_sentiment <= NEGATIVE and rules.negative_points:
            score += rules.negative_points
            reasons.append(f"customer negative: {rules.negative_points:+g}")
    if outcome is not None and rules.outcome_points.get(outcome):
        points = rules.outcome_points[outcome]
        score += points
        reasons.append(f"outcome {outcome}: {points:+g}")
    return score, reasons, score >= rules.threshold


def rescored(figures: Mapping[str, Any], rules: LeadRules, outcome: str | None
             ) -> dict[str, Any]:
    """A call's stored figures with the lead score again, for a new outcome (a disposition
    given or changed after the call was transcribed) by the tenant's lead rules now: the
    categories and sentiment found stay as they were."""
    matches = [Match(str(m["category"]), str(m["speaker"]), float(m["at"]), str(m["phrase"]))
               for m in figures.get("categories", [])]
    customer = figures.get("sentiment", {}).get("customer")
    score, reasons, hot = lead_score(matches, customer, outcome, rules)
    return {**figures, "lead": {"score": round(score, 2), "hot": hot, "reasons": reasons}}


def insights_of(speech: Mapping[str, Sequence[Interval]], duration: float,
                lines: Sequence[Line], categories: Sequence[CategoryRule],
                lead: LeadRules, outcome: str | None = None) -> Insights:
    """Every figure of a call from its speech, its transcript and the tenant's rules."""
    talk, non_talk, overtalk, interruptions, longest, longest_side = talk_figures(
        speech, duration)
    timeline = [(line.start, line.speaker, sentiment_of(line.text)) for line in lines]
    per_side: dict[str, float | None] = {}
    for side in speech:
        scores = [score for _, who, score in timeline if who == side]
        per_side[side] = sum(scores) / len(scores) if scores else None
    matches = categorize(lines, categories)
    score, reasons, hot = lead_score(matches, per_side.get("customer"), outcome, lead)
    return Insights(duration, talk, non_talk, overtalk, interruptions, longest, longest_side,
                    per_side, timeline, matches, score, reasons, hot)
