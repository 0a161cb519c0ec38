"""Playbacks and recordings the app started and has not heard end: their end events, made
again when Asterisk sent them while the events socket was down.

Asterisk keeps no event backlog. A prompt that ends while the socket is down (a drop, a
heartbeat missed under load) sends its PlaybackFinished into the void, and the call waiting for
it (an IVR play node, a greeting, a voicemail recording) would wait forever in silence. The
client notes every playback and recording it starts (ari/client.py); after each reconnect
the resync asks Asterisk about each one still open (calls/resync.py), and one that is gone gets
the end event it missed, made here and filed like Asterisk's own. Pure: no IO.
"""

from __future__ import annotations

from pbx_stasis.ari.models import AriEvent

_ENDS: dict[object, str] = {"PlaybackFinished": "playback", "RecordingFinished": "recording",
         "RecordingFailed": "recording"}
# The ends made lately: Asterisk's own, arriving after one was made (its event crossed the
# reconnect), is dropped. Bounded: a reconnect makes at most as many as were open.
_MADE_KEPT = 4096


class InFlight:
    """The open playbacks (by id) and live recordings (by name), with their target URIs."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], str] = {}  # ("playback"|"recording", key) -> target
        self._by_target: dict[str, set[tuple[str, str]]] = {}
        self._made: dict[tuple[str, str], None] = {}  # insertion-ordered: the oldest first

    def __len__(self) -> int:
        return len(self._open)

    def started(self, kind: str, key: str, target_uri: str) -> None:
        """A playback or recording was asked for on `target_uri` (`channel:<id>`...)."""
        self._open[(kind, key)] = target_uri
        self._by_target.setdefault(target_uri, set()).add((kind, key))

    def refused(self, kind: str, key: str) -> None:
        """Its request failed: no end event will come for it."""
        self._close((kind, key))

    def _close(self, entry: tuple[str, str]) -> str | None:
        target = self._open.pop(entry, None)
        if target is not None:
            entries = self._by_target.get(target)
            if entries is not None:
                entries.discard(entry)
                if not entries:
                    del self._by_target[target]
        return target

    def open(self, kind: str) -> list[tuple[str, str]]:
        """(key, target URI) of each open one of `kind` (`playback`, `recording`)."""
        return [(key, target) for (k, key), target in self._open.items() if k == kind]

    def heard(self, event: AriEvent) -> bool:
        """Take note of an event from Asterisk; False for an end already made (drop it)."""
        kind = event.get("type")
        field = _ENDS.get(kind)
        if field is None:
            if kind == "ChannelDestroyed":
                self._forget_target(event)
            return True
        resource = event.get(field)
        key = resource.get("id" if field == "playback" else "name") if isinstance(
            resource, dict) else None
        if not isinstance(key, str) or event.get("missed"):
            return True  # one made here (`missed`) is filed
        self._close((field, key))
        return (field, key) not in self._made

    def missed(self, kind: str, key: str, *, failed: bool = False) -> AriEvent | None:
        """The end event of an open one Asterisk no longer has (None if it is not open);
        `failed`: a recording that left no file."""
        target = self._close((kind, key))
        if target is None:
            return None
        self._made[(kind, key)] = None
        if len(self._made) > _MADE_KEPT:
            del self._made[next(iter(self._made))]
        if kind == "playback":
            return {"type": "PlaybackFinished", "missed": True,
                    "playback": {"id": key, "target_uri": target, "state": "done",
                                 "media_uri": ""}}
        # No duration: the file itself says how long it is (recording/store.py audio_seconds).
        return {"type": "RecordingFailed" if failed else "RecordingFinished", "missed": True,
                "recording": {"name": key, "target_uri": target, "state": "done",
                              "format": ""}}

    def _forget_target(self, event: AriEvent) -> None:
        """The channel is gone: nothing waits on its playbacks and recordings any more."""
        channel = event.get("channel")
        ident = channel.get("id") if isinstance(channel, dict) else None
        if isinstance(ident, str) and self._by_target:
            for entry in self._by_target.pop(f"channel:{ident}", ()):
                self._open.pop(entry, None)
