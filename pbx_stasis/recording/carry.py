"""What a call's journal says of its recordings, and which track a new agent's leg gets (pure).

An app restart loses the recorder's memory, not Asterisk's recordings: the mixed recording of
the bridge and the snoops of the per-speaker tracks go on. The journal has what is needed to
take them up again: RECORDSTART (the recording), RECORDTRACK (each track: its recording and
snoop, the leg it hears, its offset in the tracks file and the wall-clock time of that file's
start), RECORDPAUSE/RECORDRESUME, and RECORDSTOP or RECORDFAILED once it is over.
`open_recordings` reads it back; the recorder then files such a recording when the adopted call
ends, or, when the ACD serves the adopted call again, carries on with it: a transfer after the
restart adds the new agent's track (`new_agent_track`) as it would before one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pbx_stasis.recording.tracks import AGENT
from pbx_stasis.store.journal import JournalEntry

# The recorder's journal lines (recorder.py writes them).
RECORDSTART = "RECORDSTART"
RECORDTRACK = "RECORDTRACK"
RECORDPAUSE = "RECORDPAUSE"
RECORDRESUME = "RECORDRESUME"
RECORDSTOP = "RECORDSTOP"
RECORDFAILED = "RECORDFAILED"


@dataclass(frozen=True)
class JournaledTrack:
    speaker: str
    name: str  # its recording in Asterisk
    snoop: str  # the snoop channel that records it
    leg: str  # the channel it hears ("" in lines written before the leg was journaled)
    offset: float  # seconds after the tracks file's start


@dataclass
class OpenRecording:
    """A recording the journal shows started and neither stopped nor failed."""

    name: str
    started_at: datetime
    queue: str | None
    agent_user_id: int | None
    segment: int  # its number among the call's recordings (the name's suffix)
    paused_since: datetime | None = None  # paused now (muted in Asterisk), since then
    paused_total: float = 0.0  # seconds paused and resumed before
    tracks_zero: datetime | None = None  # when its tracks began (time 0 of the tracks file)
    tracks: list[JournaledTrack] = field(default_factory=list)


def open_recordings(entries: Iterable[JournalEntry]) -> list[OpenRecording]:
    """The call's recordings still going on in Asterisk, oldest first, from its journal.

    A RECORDFAILED about tracks (`tracks`: they could not be started, or joined) leaves the
    recording itself open: its mixed file goes on."""
    found: dict[str, OpenRecording] = {}
    started = 0
    for entry in entries:
        data = entry.data
        name = str(data.get("recording", ""))
        if entry.event == RECORDSTART:
            started += 1
            found[name] = OpenRecording(name, entry.at, entry.queue, entry.agent_user_id,
                                        started)
        elif entry.event == RECORDSTOP:
            found.pop(str(data.get("name", "")), None)
        elif entry.event == RECORDFAILED and not data.get("tracks"):
            found.pop(name, None)
        elif (recording := found.get(name)) is None:
            continue
        elif entry.event == RECORDTRACK:
            offset = float(data.get("offset", 0.0))
            recording.tracks.append(JournaledTrack(
                str(data["speaker"]), str(data["track"]), str(data["snoop"]),
                str(data.get("leg", "")), offset))
            if recording.tracks_zero is None:
                zero = data.get("zero")
                recording.tracks_zero = (datetime.fromisoformat(zero) if isinstance(zero, str)
                                         else entry.at - timedelta(seconds=offset))
        elif entry.event == RECORDPAUSE:
            recording.paused_since = entry.at
        elif entry.event == RECORDRESUME:
            recording.paused_since = None
            recording.paused_total += float(data.get("paused", 0.0))
    return list(found.values())


def new_agent_track(recording: str, tracks: Sequence[tuple[str, str]], leg: str
                    ) -> str | None:
    """The name of the track to record for an agent whose leg `leg` joined a recorded call
    (a transfer), given its tracks so far as (speaker, leg); None when there is nothing to add:
    no tracks (not split per speaker, or they failed), or one hears that leg already (the
    tracks began after the transfer, on this leg)."""
    if not tracks or any(heard == leg for _, heard in tracks):
        return None
    count = sum(speaker == AGENT for speaker, _ in tracks) + 1
    return f"{recording}-{AGENT}-{count}"
