"""The open playbacks and recordings (ari/inflight.py): an end event made after a reconnect
reaches the call waiting on it once, never twice, and nothing stays open after its channel."""

from __future__ import annotations

from pbx_stasis.ari.inflight import InFlight
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.router import CallRouter


def _finished(playback_id: str, channel: str = "c1") -> AriEvent:
    return {"type": "PlaybackFinished",
            "playback": {"id": playback_id, "target_uri": f"channel:{channel}", "state": "done"}}


def _destroyed(channel: str) -> AriEvent:
    return {"type": "ChannelDestroyed", "cause": 16, "channel": {"id": channel}}


def test_an_end_heard_closes_it_and_is_filed() -> None:
    flight = InFlight()
    flight.started("playback", "p1", "channel:c1")
    assert flight.open("playback") == [("p1", "channel:c1")]
    assert flight.heard(_finished("p1"))
    assert len(flight) == 0 and flight.missed("playback", "p1") is None


def test_a_missed_end_is_made_once_and_asterisks_own_after_it_is_dropped() -> None:
    flight = InFlight()
    flight.started("playback", "p1", "channel:c1")
    made = flight.missed("playback", "p1")
    assert made is not None and made["type"] == "PlaybackFinished"
    assert made["playback"] == {"id": "p1", "target_uri": "channel:c1", "state": "done",
                                "media_uri": ""}
    assert flight.heard(made)  # the made one is filed
    assert flight.missed("playback", "p1") is None  # never made twice
    assert not flight.heard(_finished("p1"))  # Asterisk's, crossing the reconnect: dropped
    assert flight.heard(_finished("p2"))  # another playback's end is not


def test_a_recording_that_left_no_file_ends_as_failed() -> None:
    flight = InFlight()
    flight.started("recording", "vm-1", "channel:c1")
    flight.started("recording", "vm-2", "channel:c1")
    failed = flight.missed("recording", "vm-1", failed=True)
    done = flight.missed("recording", "vm-2")
    assert failed is not None and failed["type"] == "RecordingFailed"
    assert done is not None and done["type"] == "RecordingFinished"
    assert "duration" not in done["recording"]  # the file says how long it is


def test_a_refused_request_and_a_destroyed_channel_leave_nothing_open() -> None:
    flight = InFlight()
    flight.started("playback", "p1", "channel:c1")
    flight.started("recording", "r1", "channel:c1")
    flight.started("playback", "p2", "channel:c2")
    flight.started("playback", "b1", "bridge:c1")
    flight.refused("playback", "p2")
    assert flight.heard(_destroyed("c1"))
    assert flight.open("playback") == [("b1", "bridge:c1")]
    assert flight.open("recording") == []


def test_the_made_ends_kept_are_bounded() -> None:
    flight = InFlight()
    for n in range(5000):
        flight.started("playback", f"p{n}", "channel:c1")
        flight.missed("playback", f"p{n}")
    assert flight.heard(_finished("p0"))  # long forgotten: filed like any other
    assert not flight.heard(_finished("p4999"))


async def test_the_router_files_a_made_end_in_the_channels_inbox_once() -> None:
    async def no_call(inbox: EventInbox, start: AriEvent) -> None:
        raise AssertionError("no call starts")

    router = CallRouter(no_call)
    inbox = router.claim("c1")
    router.in_flight.started("playback", "p1", "channel:c1")
    made = router.in_flight.missed("playback", "p1")
    assert made is not None
    router.on_event(made)
    router.on_event(_finished("p1"))  # Asterisk's own, late
    got = await inbox.wait_for({"PlaybackFinished"})
    assert got["playback"]["id"] == "p1" and got.get("missed")
    router.on_event(_finished("p9"))
    # The next end in the inbox is p9's: the late p1 was dropped.
    assert (await inbox.wait_for({"PlaybackFinished"}))["playback"]["id"] == "p9"
