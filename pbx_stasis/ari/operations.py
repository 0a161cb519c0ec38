"""The ARI operations the project calls, as data: verb, path template and parameter names.

The table holds only what the application (or a test, as a tool) calls, not all of ARI. Every
REST call of `AriClient` goes through one of these entries, and the client refuses to send a
parameter its entry does not declare. To add an operation, add one `_op(...)` entry here and
one method on its resource class in `client.py`, and a call of it with every option to
`every_call` in `tests/integration/test_ari_contract.py`: that test checks the table against
Asterisk's own REST API description files (`rest-api/*.json`), that each method has exactly one
entry, and what goes on the wire, so a typo in a path or a parameter name fails a test instead
of a call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

HttpMethod = Literal["GET", "POST", "PUT", "DELETE"]

_PATH_PARAM = re.compile(r"\{(\w+)\}")
_SAFE = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch  # what quote() leaves as it is


@dataclass(frozen=True, slots=True)
class Operation:
    """One ARI REST operation as the client calls it.

    `query` are the query parameter names the client may send; `body` is the name of the
    swagger body parameter when the client sends a JSON body (e.g. `variables`, `fields`).
    """

    name: str
    method: HttpMethod
    path: str
    query: frozenset[str] = frozenset()
    body: str | None = None
    binary: bool = False  # the answer is a file, not JSON: HTTP only (not over the WebSocket)
    path_params: frozenset[str] = field(init=False)
    # the path cut at its parameters: (text before, parameter name), then the text after
    _pieces: tuple[tuple[str, str], ...] = field(init=False)
    _tail: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_params", frozenset(_PATH_PARAM.findall(self.path)))
        cut = _PATH_PARAM.split(self.path)  # text, name, text, name, ..., text
        object.__setattr__(self, "_pieces", tuple(zip(cut[:-1:2], cut[1::2], strict=True)))
        object.__setattr__(self, "_tail", cut[-1])

    def render(self, path_args: Mapping[str, str]) -> str:
        """The concrete path, each id percent-encoded as one path segment."""
        if path_args.keys() != self.path_params:
            raise TypeError(
                f"{self.name}: path arguments {sorted(path_args)} do not match {self.path}"
            )
        if not self._pieces:
            return self.path
        parts: list[str] = []
        for text, name in self._pieces:
            value = path_args[name]
            if not value:
                raise ValueError(f"{self.name}: empty {name}")
            # safe="" so an id holding "/" (recording names do) stays one segment.
            parts += (text, value if _SAFE(value) else quote(value, safe=""))
        parts.append(self._tail)
        return "".join(parts)


OPERATIONS: dict[str, Operation] = {}
"""Every operation the client may call, by name (`resource.method`)."""


def _op(
    name: str, method: HttpMethod, path: str, query: str = "", body: str | None = None,
    *, binary: bool = False,
) -> Operation:
    operation = Operation(name, method, path, frozenset(query.split()), body, binary)
    if name in OPERATIONS:
        raise ValueError(f"operation {name} declared twice")
    OPERATIONS[name] = operation
    return operation


# The events WebSocket is opened by EventStream, not AriClient, but it is part of the contract.
EVENTS_WEBSOCKET = _op("events.websocket", "GET", "/events", "app subscribeAll")

_ORIGINATE = (
    "endpoint extension context priority label app appArgs callerId timeout "
    "channelId otherChannelId originator formats"
)
CHANNELS_LIST = _op("channels.list", "GET", "/channels")
CHANNELS_ORIGINATE = _op("channels.originate", "POST", "/channels", _ORIGINATE, "variables")
CHANNELS_GET = _op("channels.get", "GET", "/channels/{channelId}")
CHANNELS_HANGUP = _op("channels.hangup", "DELETE", "/channels/{channelId}", "reason reason_code")
CHANNELS_ANSWER = _op("channels.answer", "POST", "/channels/{channelId}/answer")
CHANNELS_RING = _op("channels.ring", "POST", "/channels/{channelId}/ring")
CHANNELS_CONTINUE = _op(
    "channels.continue_in_dialplan",
    "POST",
    "/channels/{channelId}/continue",
    "context extension priority label",
)
CHANNELS_SEND_DTMF = _op(
    "channels.send_dtmf",
    "POST",
    "/channels/{channelId}/dtmf",
    "dtmf before between duration after",
)
CHANNELS_MUTE = _op("channels.mute", "POST", "/channels/{channelId}/mute", "direction")
CHANNELS_UNMUTE = _op("channels.unmute", "DELETE", "/channels/{channelId}/mute", "direction")
CHANNELS_START_MOH = _op("channels.start_moh", "POST", "/channels/{channelId}/moh", "mohClass")
CHANNELS_STOP_MOH = _op("channels.stop_moh", "DELETE", "/channels/{channelId}/moh")
CHANNELS_PLAY = _op(
    "channels.play",
    "POST",
    "/channels/{channelId}/play",
    "media lang offsetms skipms playbackId",
)
CHANNELS_RECORD = _op(
    "channels.record",
    "POST",
    "/channels/{channelId}/record",
    "name format maxDurationSeconds maxSilenceSeconds ifExists beep terminateOn",
)
CHANNELS_GET_VARIABLE = _op(
    "channels.get_variable", "GET", "/channels/{channelId}/variable", "variable"
)
CHANNELS_SET_VARIABLE = _op(
    "channels.set_variable",
    "POST",
    "/channels/{channelId}/variable",
    "variable value report_events",
)
CHANNELS_GET_VARIABLES = _op(
    "channels.get_variables", "GET", "/channels/{channelId}/variables", "variables"
)
CHANNELS_SNOOP = _op(
    "channels.snoop",
    "POST",
    "/channels/{channelId}/snoop",
    "spy whisper app appArgs snoopId",
)
CHANNELS_RTP_STATISTICS = _op(
    "channels.rtp_statistics", "GET", "/channels/{channelId}/rtp_statistics"
)
CHANNELS_EXTERNAL_MEDIA = _op(
    "channels.external_media",
    "POST",
    "/channels/externalMedia",
    "channelId app external_host encapsulation transport connection_type format direction "
    "data transport_data",
    "variables",
)

BRIDGES_LIST = _op("bridges.list", "GET", "/bridges")
BRIDGES_CREATE = _op("bridges.create", "POST", "/bridges", "type bridgeId name")
BRIDGES_GET = _op("bridges.get", "GET", "/bridges/{bridgeId}")
BRIDGES_DESTROY = _op("bridges.destroy", "DELETE", "/bridges/{bridgeId}")
BRIDGES_ADD_CHANNEL = _op(
    "bridges.add_channel",
    "POST",
    "/bridges/{bridgeId}/addChannel",
    "channel role absorbDTMF mute inhibitConnectedLineUpdates",
)
BRIDGES_REMOVE_CHANNEL = _op(
    "bridges.remove_channel", "POST", "/bridges/{bridgeId}/removeChannel", "channel"
)
BRIDGES_PLAY = _op(
    "bridges.play",
    "POST",
    "/bridges/{bridgeId}/play",
    "media announcer_format lang offsetms skipms playbackId",
)
BRIDGES_RECORD = _op(
    "bridges.record",
    "POST",
    "/bridges/{bridgeId}/record",
    "name format recorder_format maxDurationSeconds maxSilenceSeconds ifExists beep terminateOn",
)

PLAYBACKS_GET = _op("playbacks.get", "GET", "/playbacks/{playbackId}")
PLAYBACKS_STOP = _op("playbacks.stop", "DELETE", "/playbacks/{playbackId}")

RECORDINGS_GET_LIVE = _op("recordings.get_live", "GET", "/recordings/live/{recordingName}")
RECORDINGS_STOP = _op("recordings.stop", "POST", "/recordings/live/{recordingName}/stop")
RECORDINGS_MUTE = _op("recordings.mute", "POST", "/recordings/live/{recordingName}/mute")
RECORDINGS_UNMUTE = _op("recordings.unmute", "DELETE", "/recordings/live/{recordingName}/mute")
RECORDINGS_GET_STORED = _op("recordings.get_stored", "GET", "/recordings/stored/{recordingName}")
RECORDINGS_DELETE_STORED = _op(
    "recordings.delete_stored", "DELETE", "/recordings/stored/{recordingName}"
)
RECORDINGS_STORED_FILE = _op(
    "recordings.stored_file", "GET", "/recordings/stored/{recordingName}/file", binary=True
)

ENDPOINTS_GET = _op("endpoints.get", "GET", "/endpoints/{tech}/{resource}")

SOUNDS_GET = _op("sounds.get", "GET", "/sounds/{soundId}")

APPLICATIONS_GET = _op("applications.get", "GET", "/applications/{applicationName}")
APPLICATIONS_SUBSCRIBE = _op(
    "applications.subscribe",
    "POST",
    "/applications/{applicationName}/subscription",
    "eventSource",
)
APPLICATIONS_UNSUBSCRIBE = _op(
    "applications.unsubscribe",
    "DELETE",
    "/applications/{applicationName}/subscription",
    "eventSource",
)
APPLICATIONS_FILTER = _op(
    "applications.set_event_filter",
    "PUT",
    "/applications/{applicationName}/eventFilter",
    "",
    "filter",
)

ASTERISK_INFO = _op("asterisk.info", "GET", "/asterisk/info", "only")
ASTERISK_PING = _op("asterisk.ping", "GET", "/asterisk/ping")
_CONFIG_OBJECT = "/asterisk/config/dynamic/{configClass}/{objectType}/{id}"
ASTERISK_GET_CONFIG = _op("asterisk.get_config", "GET", _CONFIG_OBJECT)
ASTERISK_UPDATE_CONFIG = _op("asterisk.update_config", "PUT", _CONFIG_OBJECT, "", "fields")
ASTERISK_DELETE_CONFIG = _op("asterisk.delete_config", "DELETE", _CONFIG_OBJECT)
ASTERISK_LIST_MODULES = _op("asterisk.list_modules", "GET", "/asterisk/modules")
