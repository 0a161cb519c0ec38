"""Which bus events become which webhook events: one table. A feature that lands later adds
its line here once it publishes on the bus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pbx_stasis.acd.topics import AGENT_STATE
from pbx_stasis.analytics.events import INSIGHTS_READY, TRANSCRIPT_READY
from pbx_stasis.bus import BusEvent, EventTopic
from pbx_stasis.callbacks.events import CALLBACK_REQUESTED
from pbx_stasis.calls.events import CALL_ENDED, CALL_STATE, CallAnswered, CallStarted
from pbx_stasis.crm.events import DISPOSITION_SET
from pbx_stasis.evaluations.events import EVALUATION_SAVED
from pbx_stasis.recording.events import RECORDING_READY
from pbx_stasis.tickets.events import TICKET_CHANGED, TicketCreated, TicketUpdated


@dataclass(frozen=True)
class WebhookEvent:
    """A webhook event: its name, the bus topic it comes from and, when the topic carries
    several kinds of change, the one it is (a call:state event that is a CallStarted)."""

    name: str
    topic: EventTopic[Any]
    kind: type | None
    summary: str

    def matches(self, event: BusEvent[Any]) -> bool:
        return event.topic == self.topic.name and (
            self.kind is None or isinstance(event.payload, self.kind))


WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = (
    WebhookEvent("call.started", CALL_STATE, CallStarted, "a call entered the contact center"),
    WebhookEvent("call.answered", CALL_STATE, CallAnswered, "a call was answered"),
    WebhookEvent("call.ended", CALL_ENDED, None, "a call ended (its cause and who hung up)"),
    WebhookEvent("disposition.set", DISPOSITION_SET, None, "a call's disposition was saved"),
    WebhookEvent("agent.state", AGENT_STATE, None, "an agent's state changed"),
    WebhookEvent("recording.ready", RECORDING_READY, None, "a recording can be fetched"),
    WebhookEvent("ticket.created", TICKET_CHANGED, TicketCreated, "a ticket was opened"),
    WebhookEvent("ticket.updated", TICKET_CHANGED, TicketUpdated,
                 "a ticket changed (status, priority, assignee, a comment...)"),
    WebhookEvent("transcript.ready", TRANSCRIPT_READY, None,
                 "a recording's transcript is stored (or why it has none)"),
    WebhookEvent("insights.ready", INSIGHTS_READY, None,
                 "a call's insights are stored: lead score, hot lead, categories"),
    WebhookEvent("callback.requested", CALLBACK_REQUESTED, None, "a callback was asked for"),
    WebhookEvent("evaluation.saved", EVALUATION_SAVED, None,
                 "an evaluation was saved, rescored, acknowledged or disputed"),
)
BY_NAME = {event.name: event for event in WEBHOOK_EVENTS}


def named(event: BusEvent[Any]) -> list[str]:
    """The webhook events a bus event is."""
    return [hook.name for hook in WEBHOOK_EVENTS if hook.matches(event)]
