"""A call's recording read back from its journal after an app restart, and the track a new
agent's leg gets: what lets an adopted call, transferred after the restart, keep each speaker
on their channel (recording/carry.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from pbx_stasis.recording.carry import (
    JournaledTrack,
    new_agent_track,
    open_recordings,
)
from pbx_stasis.store.journal import JournalEntry

T0 = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
REC = "pbx-call-c1-1"
IDS = itertools.count(1)


def line(seconds: float, event: str, **data: Any) -> JournalEntry:
    return JournalEntry(id=next(IDS), at=T0 + timedelta(seconds=seconds), tenant_id=1,
                        call_id="c1", agent_user_id=7, queue="sales", event=event, data=data)


def started(zero: str | None = None) -> list[JournalEntry]:
    """A recorded call before the restart: the recording, then both parties' tracks."""
    extra = {"zero": zero} if zero is not None else {}
    return [
        line(0.0, "CONNECT"),
        line(0.1, "RECORDSTART", recording=REC, reason="all"),
        line(0.3, "RECORDTRACK", recording=REC, track=f"{REC}-agent", snoop=f"{REC}-agent",
             speaker="agent", leg="agent-leg-1", offset=0.0, **extra),
        line(0.3, "RECORDTRACK", recording=REC, track=f"{REC}-customer",
             snoop=f"{REC}-customer", speaker="customer", leg="caller-leg", offset=0.004,
             **extra),
    ]


def test_an_adopted_calls_recording_is_read_back_with_its_tracks() -> None:
    zero = (T0 + timedelta(seconds=0.25)).isoformat()
    [recording] = open_recordings(started(zero))
    assert (recording.name, recording.segment, recording.started_at) == (REC, 1, T0 + timedelta(
        seconds=0.1))
    assert (recording.queue, recording.agent_user_id) == ("sales", 7)
    assert recording.tracks_zero == T0 + timedelta(seconds=0.25)  # as journaled
    assert recording.tracks == [
        JournaledTrack("agent", f"{REC}-agent", f"{REC}-agent", "agent-leg-1", 0.0),
        JournaledTrack("customer", f"{REC}-customer", f"{REC}-customer", "caller-leg", 0.004)]
    assert recording.paused_since is None and recording.paused_total == 0.0


def test_lines_without_the_tracks_start_time_take_it_from_the_first_track_line() -> None:
    [recording] = open_recordings(started())
    assert recording.tracks_zero == T0 + timedelta(seconds=0.3)


def test_a_recording_stopped_or_failed_is_not_open_but_failed_tracks_leave_it_open() -> None:
    assert open_recordings([*started(), line(5, "RECORDSTOP", recording="r-9", name=REC)]) == []
    assert open_recordings([*started(), line(5, "RECORDFAILED", recording=REC,
                                             error="x")]) == []
    # Tracks that could not be joined (or a new agent's that could not start): the mixed
    # recording goes on, with the tracks the journal has.
    [recording] = open_recordings([*started(), line(5, "RECORDFAILED", recording=REC,
                                                    tracks=True, error="x")])
    assert len(recording.tracks) == 2


def test_pause_and_resume_are_read_back() -> None:
    lines = [*started(), line(2, "RECORDPAUSE", recording=REC),
             line(4, "RECORDRESUME", recording=REC, paused=2.0),
             line(6, "RECORDPAUSE", recording=REC)]
    [recording] = open_recordings(lines)
    assert recording.paused_total == 2.0
    assert recording.paused_since == T0 + timedelta(seconds=6)  # muted in Asterisk still


def test_a_second_recording_of_the_call_is_the_open_one() -> None:
    second = "pbx-call-c1-2"
    lines = [*started(), line(5, "RECORDSTOP", recording="r-1", name=REC),
             line(6, "RECORDSTART", recording=second, reason="agent")]
    [recording] = open_recordings(lines)
    assert (recording.name, recording.segment, recording.tracks) == (second, 2, [])


def test_an_agent_transferred_to_after_the_restart_gets_the_next_agent_track() -> None:
    """The adopted call's tracks as journaled; the transfer brings agent-leg-2."""
    [recording] = open_recordings(started())
    tracks = [(track.speaker, track.leg) for track in recording.tracks]
    assert new_agent_track(REC, tracks, "agent-leg-2") == f"{REC}-agent-2"
    # and a third agent after that one
    assert new_agent_track(REC, [*tracks, ("agent", "agent-leg-2")], "agent-leg-3") == (
        f"{REC}-agent-3")


def test_no_new_track_on_a_leg_already_heard_or_without_tracks() -> None:
    # the tracks began after the transfer, on the new agent's leg
    assert new_agent_track(REC, [("agent", "agent-leg-2"), ("customer", "caller-leg")],
                           "agent-leg-2") is None
    # not split per speaker (or the tracks failed): nothing to add to
    assert new_agent_track(REC, [], "agent-leg-2") is None
