"""Who ended a call, read from the channel's events: the caller (a hangup request of its own),
Asterisk (a soft hangup we did not ask for: shutdown, RTP timeout), or nobody knows (the channel
vanished while the ARI link was down); the cause is ChannelDestroyed's."""

from __future__ import annotations

from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.actor import EventInbox


def _inbox(*events: AriEvent, ours: bool = False) -> EventInbox:
    inbox = EventInbox("c1")
    inbox.hangup.by_us = ours
    for event in events:
        inbox.put(event)
    inbox.settle()
    return inbox


def _request(cause: int | None = None, *, soft: bool = False) -> AriEvent:
    event: AriEvent = {"type": "ChannelHangupRequest", "channel": {"id": "c1"}}
    if cause is not None:
        event["cause"] = cause
    if soft:
        event["soft"] = True
    return event


DESTROYED_16: AriEvent = {"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal Clearing",
                          "channel": {"id": "c1"}}
STASIS_END: AriEvent = {"type": "StasisEnd", "channel": {"id": "c1"}}


def test_a_caller_hanging_up_is_the_caller_with_the_destroyed_cause() -> None:
    # A BYE: a hangup request without a cause, StasisEnd, then (subscribed) ChannelDestroyed.
    inbox = _inbox(_request(), STASIS_END, _request(16, soft=True), DESTROYED_16)
    assert inbox.hung_up_remotely and inbox.destroyed
    assert inbox.hangup.side() == "caller"
    assert (inbox.hangup.cause, inbox.hangup.cause_text) == (16, "Normal Clearing")


def test_asterisk_ending_the_channel_is_the_system() -> None:
    # Shutdown or RTP timeout: a soft request we did not send.
    inbox = _inbox(_request(44, soft=True), STASIS_END,
                   {"type": "ChannelDestroyed", "cause": 44,
                    "cause_txt": "Requested channel not available", "channel": {"id": "c1"}})
    assert inbox.hung_up_remotely
    assert inbox.hangup.side() == "system"
    assert inbox.hangup.cause == 44


def test_our_own_hangup_is_not_the_system() -> None:
    inbox = _inbox(_request(32, soft=True), STASIS_END, DESTROYED_16, ours=True)
    assert not inbox.hung_up_remotely
    assert not inbox.hangup.system


def test_a_channel_that_vanished_during_a_gap_is_unknown() -> None:
    inbox = _inbox({"type": "ChannelDestroyed", "cause": 0, "vanished": True,
                    "cause_txt": "channel vanished while the ARI socket was down",
                    "channel": {"id": "c1"}})
    assert inbox.hung_up_remotely
    assert inbox.hangup.side() == "unknown"
