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


# Asterisk stopping (`core stop`) hangs every channel up itself: its request's reason flag is
# AST_SOFTHANGUP_SHUTDOWN (4); the channel's own cause says nothing of it.
SHUTDOWN = _request(4, soft=True)


def test_a_node_stopping_is_the_system_recorded_node_stopped() -> None:
    inbox = _inbox(SHUTDOWN, STASIS_END, DESTROYED_16)
    assert inbox.hung_up_remotely
    assert inbox.hangup.side() == "system"
    assert inbox.hangup.recorded(inbox.hangup.side()) == ("system", 38, "node-stopped")


def test_a_node_stopping_is_why_even_when_the_app_released_the_caller_first() -> None:
    # The agent's leg, hung up by the same stop, left first: the app released the caller for
    # the agent; the caller's own shutdown request crossed that release.
    inbox = _inbox(SHUTDOWN, _request(32, soft=True), STASIS_END, DESTROYED_16, ours=True)
    assert inbox.hangup.recorded("agent") == ("system", 38, "node-stopped")


def test_a_caller_who_hung_up_before_the_node_stopped_is_the_caller() -> None:
    inbox = _inbox(_request(), SHUTDOWN, STASIS_END, DESTROYED_16)
    assert inbox.hangup.side() == "caller"
    assert inbox.hangup.recorded("caller") == ("caller", 16, "Normal Clearing")


def test_other_ends_keep_their_own_cause() -> None:
    ours = _inbox(_request(32, soft=True), STASIS_END, DESTROYED_16, ours=True)
    assert ours.hangup.recorded("app") == ("app", 16, "Normal Clearing")
    # Asterisk ended it and closed the link before ChannelDestroyed: its request's cause
    timed_out = _inbox(_request(44, soft=True), STASIS_END)
    assert timed_out.hangup.recorded("system") == ("system", 44, None)


def test_our_own_hangup_unfollowed_is_recorded_as_normal_clearing() -> None:
    """The ACD released a caller before the app's subscription to the channel was made (a
    refused follow): no ChannelDestroyed, yet the cause is known, the one our hangup asks for."""
    inbox = _inbox(_request(32, soft=True), STASIS_END, ours=True)
    inbox.hangup.for_side = "app"
    assert not inbox.destroyed
    assert inbox.hangup.recorded("app") == ("app", 16, "Normal Clearing")


def test_a_caller_hangup_crossing_ours_keeps_no_made_up_cause() -> None:
    inbox = _inbox(_request(), STASIS_END, ours=True)
    assert inbox.hangup.remote
    assert inbox.hangup.recorded("caller") == ("caller", None, None)
