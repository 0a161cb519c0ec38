"""Analytics' bus events: `TranscriptReady` on transcript:ready when the worker stores a
recording's transcript (or why it has none), `InsightsReady` on insights:ready when a call's
insights are stored (with its transcript, or scored again). Supervisors and up read them on the
feed (agents do not read transcripts); the webhooks send them as transcript.ready and
insights.ready. They say what is ready, not the text: a client fetches
/api/recordings/{id}/transcript with its token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pbx_stasis.bus import EventTopic
from pbx_stasis.store.tables import Role
from pbx_stasis.web.routing import at_least


@dataclass(frozen=True)
class TranscriptReady:
    recording_id: str
    call_id: str
    kind: str  # call, voicemail
    status: str  # done, failed, no-engine
    language: str
    engine: str | None
    lines: int
    audio_seconds: float
    agent_user_id: int | None
    queue: str | None
    error: str | None = None


@dataclass(frozen=True)
class InsightsReady:
    recording_id: str
    call_id: str
    agent_user_id: int | None
    queue: str | None
    lead_score: float
    hot: bool
    categories: tuple[str, ...]
    customer_sentiment: float | None
    outcome: str | None  # the call's disposition the lead score used
    rescored: bool = False  # scored again (a disposition given later), not first made

    @classmethod
    def of(cls, recording_id: str, call_id: str, agent_user_id: int | None, queue: str | None,
           figures: Mapping[str, Any], outcome: str | None, *, rescored: bool = False
           ) -> InsightsReady:
        """From a call's insights as stored (insights.Insights.figures())."""
        lead = figures.get("lead", {})
        customer = figures.get("sentiment", {}).get("customer")
        return cls(recording_id, call_id, agent_user_id, queue, float(lead.get("score", 0.0)),
                   bool(lead.get("hot")),
                   tuple(sorted({str(m["category"]) for m in figures.get("categories", [])})),
                   None if customer is None else float(customer), outcome, rescored)


TRANSCRIPT_READY = EventTopic("transcript:ready", TranscriptReady,
                              readers=at_least(Role.SUPERVISOR))
INSIGHTS_READY = EventTopic("insights:ready", InsightsReady, readers=at_least(Role.SUPERVISOR))

__all__ = ["INSIGHTS_READY", "TRANSCRIPT_READY", "InsightsReady", "TranscriptReady"]
