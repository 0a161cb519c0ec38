"""The typed asyncio ARI REST client: one method per Asterisk operation the project uses."""

from __future__ import annotations

import asyncio
import base64
import builtins
import json
import time
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeAlias, TypedDict, Unpack, cast

import aiohttp
import orjson
from yarl import URL

from pbx_stasis.ari import operations as ops
from pbx_stasis.ari.errors import AriAuthError, AriError, AriUnreachable
from pbx_stasis.ari.inflight import InFlight
from pbx_stasis.ari.metrics import time_request
from pbx_stasis.ari.models import (
    Application,
    AsteriskInfo,
    AsteriskPing,
    Bridge,
    Channel,
    ConfigTuple,
    Endpoint,
    LiveRecording,
    Module,
    Playback,
    RtpStat,
    Sound,
    StoredRecording,
)
from pbx_stasis.ari.operations import Operation
from pbx_stasis.ari.socket_rest import RestSockets

QueryValue: TypeAlias = str | int | bool | Sequence[str] | None
"""A query value as callers give it; `encode_query` turns it into what Asterisk parses."""

StrOrList: TypeAlias = str | Sequence[str]

HangupReason: TypeAlias = Literal[
    "normal",
    "busy",
    "congestion",
    "no_answer",
    "timeout",
    "rejected",
    "unallocated",
    "normal_unspecified",
    "number_incomplete",
    "codec_mismatch",
    "interworking",
    "failure",
    "answered_elsewhere",
]
MuteDirection: TypeAlias = Literal["both", "in", "out"]
SnoopDirection: TypeAlias = Literal["none", "both", "out", "in"]
IfExists: TypeAlias = Literal["fail", "overwrite", "append"]
TerminateOn: TypeAlias = Literal["none", "any", "*", "#"]
InfoPart: TypeAlias = Literal["build", "system", "config", "status"]
BridgeRole: TypeAlias = str
ExternalMediaEncapsulation: TypeAlias = Literal["rtp", "audiosocket", "none"]
ExternalMediaTransport: TypeAlias = Literal["udp", "tcp", "websocket"]
ExternalMediaConnection: TypeAlias = Literal["client", "server"]


def encode_query(operation: Operation, query: Mapping[str, QueryValue]) -> dict[str, str]:
    """Query parameters as Asterisk parses them.

    None is left out; bools are "true"/"false"; lists are comma-joined, because Asterisk
    splits a multi-valued parameter on commas and keeps only the last of repeated keys.
    Refuses names the operation does not declare, so the contract test covers every call.
    """
    unknown = set(query) - operation.query
    if unknown:
        raise TypeError(f"{operation.name}: undeclared query parameters {sorted(unknown)}")
    encoded: dict[str, str] = {}
    for name, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[name] = "true" if value else "false"
        elif isinstance(value, int | str):
            encoded[name] = str(value)
        else:
            items = list(value)
            if not items:
                raise ValueError(f"{operation.name}: empty list for {name}")
            encoded[name] = ",".join(items)
    return encoded


def _join(value: StrOrList | None) -> str | None:
    """App arguments as one comma-separated string (Asterisk splits them for StasisStart)."""
    if value is None or isinstance(value, str):
        return value
    return ",".join(value)


def _variables_body(variables: Mapping[str, str] | None) -> dict[str, Any] | None:
    return None if variables is None else {"variables": dict(variables)}


def _error_message(payload: bytes, reason: str | None) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        text = payload.decode("utf-8", "replace").strip()
        return text or (reason or "")
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return cast(str, data["message"])
    return reason or ""


class AriClient:
    """ARI REST client. Use as `async with AriClient(url, user, password) as ari:`.

    `base_url` is the ARI root, e.g. `http://127.0.0.1:8088/ari` (`/ari` is added to a bare
    `http://host:port`). Operations are grouped by resource like Asterisk's documentation:
    `ari.channels.answer(id)`, `ari.bridges.add_channel(bridge_id, [a, b])`. Non-2xx answers
    raise `AriError`
    (`AriAuthError` for 401), connection failures and timeouts raise `AriUnreachable`.
    A session passed in is used but not closed.
    """

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
    ) -> None:
        url = URL(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"ARI URL must be http(s)://host[:port][/ari], not {base_url!r}")
        if url.path in ("", "/"):
            # http://host:8088 means Asterisk's default ARI prefix; a custom http.conf
            # prefix is given in full (http://host/asterisk/ari).
            url = url.with_path("/ari")
        self._base = str(url)
        self._user = user
        if ":" in user:
            raise ValueError("an ARI user name cannot contain ':' (HTTP basic auth)")
        # A plain header rather than aiohttp.BasicAuth, deprecated in recent aiohttp.
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Sockets that carry requests while they are up (ari/socket_rest.py), else HTTP.
        self.sockets = RestSockets()
        # Playbacks and recordings started, until their end event (ari/inflight.py).
        self.in_flight = InFlight()
        self.channels = Channels(self)
        self.bridges = Bridges(self)
        self.playbacks = Playbacks(self)
        self.recordings = Recordings(self)
        self.endpoints = Endpoints(self)
        self.sounds = Sounds(self)
        self.applications = Applications(self)
        self.asterisk = AsteriskSystem(self)

    @property
    def base_url(self) -> str:
        return self._base

    @property
    def user(self) -> str:
        return self._user

    @property
    def timeout(self) -> float:
        """Seconds a request is given for its answer."""
        return self._timeout.total or 10.0

    def headers(self) -> dict[str, str]:
        """Headers every ARI request carries (basic auth)."""
        return {"Authorization": self._authorization}

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session, created on first use when none was given."""
        if self._session is None or (self._owns_session and self._session.closed):
            # No total timeout on the session: the events WebSocket shares it and lives for
            # hours. Each REST request carries its own timeout.
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10.0)
            )
            self._owns_session = True
        return self._session

    def enter_node_of(self, object_id: str) -> None:
        """Send the running task's requests that name nothing known to the node holding
        `object_id` (a cluster's, ari/nodes.py); one Asterisk: nothing to choose."""

    def url(self, path: str) -> URL:
        """Absolute URL of an already rendered ARI path."""
        return URL(self._base + path, encoded=True)

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> AriClient:
        _ = self.session
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def send(
        self,
        operation: Operation,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
    ) -> bytes:
        """Perform one operation; the raw body of a 2xx answer, else raise an AriError."""
        return await (await self.start(operation, path_args, query, body))

    async def start(
        self,
        operation: Operation,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
    ) -> Awaitable[bytes]:
        """Put one operation on its way now and return the awaitable of what `send` returns,
        which the caller must await: on a socket the request is written before this returns,
        so a caller that must not wait for Asterisk's answer (the ACD's owner) loses no turn
        of the event loop. Over HTTP the request runs in a task of its own."""
        sent = time.perf_counter()
        path = operation.render(path_args or {})
        params = encode_query(operation, query or {})
        if body is not None and operation.body is None:
            raise TypeError(f"{operation.name} takes no body")
        data = orjson.dumps(body).decode() if body is not None else None
        socket = None if operation.binary else self.sockets.pick()
        if socket is None:
            http = self._http(operation.method, path, params, data)
            return asyncio.ensure_future(self._checked(operation, path, http, sent))
        answer = await socket.send(operation.method, path, params, data, self._timeout.total)
        return self._checked(operation, path, answer, sent)

    async def _checked(
        self, operation: Operation, path: str,
        answer: Awaitable[tuple[int, str | None, bytes]], sent: float,
    ) -> bytes:
        status, reason, payload = await answer
        time_request(operation.name, time.perf_counter() - sent)
        method = operation.method
        if 200 <= status < 300:
            return payload
        message = _error_message(payload, reason)
        if status == 401:
            raise AriAuthError(method, path, self._user, message)
        raise AriError(method, path, status, message)

    async def _http(
        self, method: str, path: str, params: dict[str, str], data: str | None
    ) -> tuple[int, str | None, bytes]:
        headers = self.headers()
        headers["Accept"] = "application/json"
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self.session.request(
                method, self.url(path), params=params, data=data, headers=headers,
                timeout=self._timeout,
            ) as response:
                return response.status, response.reason, await response.read()
        except aiohttp.ClientError as exc:
            raise AriUnreachable(method, path, _describe(exc)) from exc
        except TimeoutError as exc:
            raise AriUnreachable(method, path, f"no answer within {self._timeout.total}s") from exc

    async def call(
        self,
        operation: Operation,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
    ) -> Any:
        """Perform one operation and return its parsed JSON (None for an empty answer)."""
        return await _parsed(operation, path_args, self.send(operation, path_args, query, body))


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class _Resource:
    def __init__(self, ari: AriClient) -> None:
        self._ari = ari

    async def _started(self, kind: str, key: str, target_uri: str,
                       request: Awaitable[Any]) -> Any:
        """A playback or recording request: open in `in_flight` until its end event is heard
        (noted before it is sent: the event may come before the answer)."""
        in_flight = self._ari.in_flight
        in_flight.started(kind, key, target_uri)
        try:
            return await request
        except AriError as exc:
            if not isinstance(exc, AriUnreachable):  # refused; unreachable: it may be playing
                in_flight.refused(kind, key)
            raise


class OriginateOptions(TypedDict, total=False):
    app: str | None
    app_args: StrOrList | None
    extension: str | None
    context: str | None
    priority: int | None
    label: str | None
    caller_id: str | None
    dial_timeout: int | None
    variables: Mapping[str, str] | None
    channel_id: str | None
    other_channel_id: str | None
    originator: str | None
    formats: StrOrList | None


async def _parsed(
    operation: Operation, path_args: Mapping[str, str] | None, sent: Awaitable[bytes]
) -> Any:
    """The JSON of an answer (None when empty)."""
    payload = await sent
    if not payload:
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        path = operation.render(path_args or {})
        raise AriError(operation.method, path, 200, f"answer is not JSON: {exc}") from exc


class Channels(_Resource):
    """`/channels`: the legs of calls."""

    async def list(self) -> builtins.list[Channel]:
        return cast(list[Channel], await self._ari.call(ops.CHANNELS_LIST))

    async def get(self, channel_id: str) -> Channel:
        return cast(Channel, await self._ari.call(ops.CHANNELS_GET, {"channelId": channel_id}))

    async def originate(self, endpoint: str, **options: Unpack[OriginateOptions]) -> Channel:
        """Dial `endpoint` (e.g. `PJSIP/agent-1001`); when it answers it enters `app`
        (or the dialplan at context/extension/priority). `dial_timeout`: seconds to ring,
        -1 for no limit."""
        return await (await self.start_originate(endpoint, **options))

    async def start_originate(
        self, endpoint: str, **options: Unpack[OriginateOptions]
    ) -> Awaitable[Channel]:
        """`originate`, sent now; the awaitable of its answer (AriClient.start)."""
        query: dict[str, QueryValue] = {
            "endpoint": endpoint,
            "app": options.get("app"),
            "appArgs": _join(options.get("app_args")),
            "extension": options.get("extension"),
            "context": options.get("context"),
            "priority": options.get("priority"),
            "label": options.get("label"),
            "callerId": options.get("caller_id"),
            "timeout": options.get("dial_timeout"),
            "channelId": options.get("channel_id"),
            "otherChannelId": options.get("other_channel_id"),
            "originator": options.get("originator"),
            "formats": options.get("formats"),
        }
        body = _variables_body(options.get("variables"))
        sent = await self._ari.start(ops.CHANNELS_ORIGINATE, None, query, body)
        return _parsed(ops.CHANNELS_ORIGINATE, None, sent)

    async def hangup(
        self,
        channel_id: str,
        reason: HangupReason | None = None,
        *,
        reason_code: str | None = None,
    ) -> None:
        await self._ari.call(
            ops.CHANNELS_HANGUP,
            {"channelId": channel_id},
            {"reason": reason, "reason_code": reason_code},
        )

    async def answer(self, channel_id: str) -> None:
        await self._ari.call(ops.CHANNELS_ANSWER, {"channelId": channel_id})

    async def ring(self, channel_id: str) -> None:
        await self._ari.call(ops.CHANNELS_RING, {"channelId": channel_id})

    async def continue_in_dialplan(self, channel_id: str, *, context: str,
                                   extension: str = "s", priority: int = 1) -> None:
        """The channel leaves Stasis (StasisEnd) for the dialplan at context/extension/priority
        (a campaign call's answering-machine detection, which only the dialplan can run)."""
        await self._ari.call(ops.CHANNELS_CONTINUE, {"channelId": channel_id},
                             {"context": context, "extension": extension, "priority": priority})

    async def send_dtmf(
        self,
        channel_id: str,
        dtmf: str,
        *,
        before: int | None = None,
        between: int | None = None,
        duration: int | None = None,
        after: int | None = None,
    ) -> None:
        """Send DTMF digits; timings in milliseconds."""
        await self._ari.call(
            ops.CHANNELS_SEND_DTMF,
            {"channelId": channel_id},
            {
                "dtmf": dtmf,
                "before": before,
                "between": between,
                "duration": duration,
                "after": after,
            },
        )

    async def mute(self, channel_id: str, direction: MuteDirection = "both") -> None:
        await self._ari.call(ops.CHANNELS_MUTE, {"channelId": channel_id}, {"direction": direction})

    async def unmute(self, channel_id: str, direction: MuteDirection = "both") -> None:
        await self._ari.call(
            ops.CHANNELS_UNMUTE, {"channelId": channel_id}, {"direction": direction}
        )

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        await self._ari.call(
            ops.CHANNELS_START_MOH, {"channelId": channel_id}, {"mohClass": moh_class}
        )

    async def stop_moh(self, channel_id: str) -> None:
        await self._ari.call(ops.CHANNELS_STOP_MOH, {"channelId": channel_id})

    async def play(
        self,
        channel_id: str,
        media: StrOrList,
        *,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
        playback_id: str | None = None,
    ) -> Playback:
        """Play media URIs (`sound:hello-world`, `digits:123`, `recording:name`...) in turn."""
        playback_id = playback_id or uuid.uuid4().hex  # ours: known before Asterisk answers
        data = await self._started("playback", playback_id, f"channel:{channel_id}", self._ari.call(
            ops.CHANNELS_PLAY,
            {"channelId": channel_id},
            {
                "media": media,
                "lang": lang,
                "offsetms": offsetms,
                "skipms": skipms,
                "playbackId": playback_id,
            },
        ))
        return cast(Playback, data)

    async def record(
        self,
        channel_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: IfExists | None = None,
        beep: bool | None = None,
        terminate_on: TerminateOn | None = None,
    ) -> LiveRecording:
        data = await self._started("recording", name, f"channel:{channel_id}", self._ari.call(
            ops.CHANNELS_RECORD,
            {"channelId": channel_id},
            {
                "name": name,
                "format": format,
                "maxDurationSeconds": max_duration_seconds,
                "maxSilenceSeconds": max_silence_seconds,
                "ifExists": if_exists,
                "beep": beep,
                "terminateOn": terminate_on,
            },
        ))
        return cast(LiveRecording, data)

    async def get_variable(self, channel_id: str, variable: str) -> str:
        """The value of a channel variable or function, e.g. `CALLERID(num)`."""
        data = await self._ari.call(
            ops.CHANNELS_GET_VARIABLE, {"channelId": channel_id}, {"variable": variable}
        )
        return cast(str, data["value"])

    async def set_variable(
        self,
        channel_id: str,
        variable: str,
        value: str | None,
        *,
        report_events: bool | None = None,
    ) -> None:
        """Set (or with None, unset) a channel variable; `report_events` adds it to the
        channel's `channelvars` in later events."""
        await self._ari.call(
            ops.CHANNELS_SET_VARIABLE,
            {"channelId": channel_id},
            {"variable": variable, "value": value, "report_events": report_events},
        )

    async def get_variables(self, channel_id: str, variables: Sequence[str]) -> dict[str, str]:
        """Several channel variables in one request (Asterisk 22+)."""
        data = await self._ari.call(
            ops.CHANNELS_GET_VARIABLES, {"channelId": channel_id}, {"variables": variables}
        )
        return cast(dict[str, str], data["variables"])

    async def snoop(
        self,
        channel_id: str,
        app: str,
        *,
        spy: SnoopDirection | None = None,
        whisper: SnoopDirection | None = None,
        app_args: StrOrList | None = None,
        snoop_id: str | None = None,
    ) -> Channel:
        """A snoop channel on `channel_id` that enters `app`: `spy` hears, `whisper` speaks."""
        data = await self._ari.call(
            ops.CHANNELS_SNOOP,
            {"channelId": channel_id},
            {
                "app": app,
                "spy": spy,
                "whisper": whisper,
                "appArgs": _join(app_args),
                "snoopId": snoop_id,
            },
        )
        return cast(Channel, data)

    async def rtp_statistics(self, channel_id: str) -> RtpStat:
        data = await self._ari.call(ops.CHANNELS_RTP_STATISTICS, {"channelId": channel_id})
        return cast(RtpStat, data)

    async def external_media(
        self,
        app: str,
        format: str,
        *,
        external_host: str | None = None,
        channel_id: str | None = None,
        encapsulation: ExternalMediaEncapsulation | None = None,
        transport: ExternalMediaTransport | None = None,
        connection_type: ExternalMediaConnection | None = None,
        direction: Literal["both"] | None = None,
        data: str | None = None,
        transport_data: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """A channel whose media goes to/from an external host (speech recognition...)."""
        answer = await self._ari.call(
            ops.CHANNELS_EXTERNAL_MEDIA,
            None,
            {
                "app": app,
                "format": format,
                "external_host": external_host,
                "channelId": channel_id,
                "encapsulation": encapsulation,
                "transport": transport,
                "connection_type": connection_type,
                "direction": direction,
                "data": data,
                "transport_data": transport_data,
            },
            _variables_body(variables),
        )
        return cast(Channel, answer)


class Bridges(_Resource):
    """`/bridges`: where channels meet."""

    async def list(self) -> builtins.list[Bridge]:
        return cast(list[Bridge], await self._ari.call(ops.BRIDGES_LIST))

    async def get(self, bridge_id: str) -> Bridge:
        return cast(Bridge, await self._ari.call(ops.BRIDGES_GET, {"bridgeId": bridge_id}))

    async def create(
        self,
        type: StrOrList | None = None,
        *,
        bridge_id: str | None = None,
        name: str | None = None,
    ) -> Bridge:
        """`type` is a list of features: mixing, holding, dtmf_events, proxy_media,
        video_sfu, video_single, sdp_label (e.g. `["mixing", "dtmf_events"]`)."""
        data = await self._ari.call(
            ops.BRIDGES_CREATE, None, {"type": type, "bridgeId": bridge_id, "name": name}
        )
        return cast(Bridge, data)

    async def destroy(self, bridge_id: str) -> None:
        await self._ari.call(ops.BRIDGES_DESTROY, {"bridgeId": bridge_id})

    async def add_channel(
        self,
        bridge_id: str,
        channel: StrOrList,
        *,
        role: BridgeRole | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
        inhibit_connected_line_updates: bool | None = None,
    ) -> None:
        await self._ari.call(
            ops.BRIDGES_ADD_CHANNEL,
            {"bridgeId": bridge_id},
            {
                "channel": channel,
                "role": role,
                "absorbDTMF": absorb_dtmf,
                "mute": mute,
                "inhibitConnectedLineUpdates": inhibit_connected_line_updates,
            },
        )

    async def remove_channel(self, bridge_id: str, channel: StrOrList) -> None:
        await self._ari.call(
            ops.BRIDGES_REMOVE_CHANNEL, {"bridgeId": bridge_id}, {"channel": channel}
        )

    async def play(
        self,
        bridge_id: str,
        media: StrOrList,
        *,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
        playback_id: str | None = None,
        announcer_format: str | None = None,
    ) -> Playback:
        playback_id = playback_id or uuid.uuid4().hex
        data = await self._started("playback", playback_id, f"bridge:{bridge_id}", self._ari.call(
            ops.BRIDGES_PLAY,
            {"bridgeId": bridge_id},
            {
                "media": media,
                "lang": lang,
                "offsetms": offsetms,
                "skipms": skipms,
                "playbackId": playback_id,
                "announcer_format": announcer_format,
            },
        ))
        return cast(Playback, data)

    async def record(
        self,
        bridge_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: IfExists | None = None,
        beep: bool | None = None,
        terminate_on: TerminateOn | None = None,
        recorder_format: str | None = None,
    ) -> LiveRecording:
        data = await self._started("recording", name, f"bridge:{bridge_id}", self._ari.call(
            ops.BRIDGES_RECORD,
            {"bridgeId": bridge_id},
            {
                "name": name,
                "format": format,
                "maxDurationSeconds": max_duration_seconds,
                "maxSilenceSeconds": max_silence_seconds,
                "ifExists": if_exists,
                "beep": beep,
                "terminateOn": terminate_on,
                "recorder_format": recorder_format,
            },
        ))
        return cast(LiveRecording, data)


class Playbacks(_Resource):
    """`/playbacks`: media being played."""

    async def get(self, playback_id: str) -> Playback:
        return cast(Playback, await self._ari.call(ops.PLAYBACKS_GET, {"playbackId": playback_id}))

    async def stop(self, playback_id: str) -> None:
        await self._ari.call(ops.PLAYBACKS_STOP, {"playbackId": playback_id})


class Recordings(_Resource):
    """`/recordings`: live recordings and the stored files they leave."""

    async def get_live(self, name: str) -> LiveRecording:
        data = await self._ari.call(ops.RECORDINGS_GET_LIVE, {"recordingName": name})
        return cast(LiveRecording, data)

    async def stop(self, name: str) -> None:
        """Stop a live recording and keep it."""
        await self._ari.call(ops.RECORDINGS_STOP, {"recordingName": name})

    async def mute(self, name: str) -> None:
        await self._ari.call(ops.RECORDINGS_MUTE, {"recordingName": name})

    async def unmute(self, name: str) -> None:
        await self._ari.call(ops.RECORDINGS_UNMUTE, {"recordingName": name})

    async def get_stored(self, name: str) -> StoredRecording:
        data = await self._ari.call(ops.RECORDINGS_GET_STORED, {"recordingName": name})
        return cast(StoredRecording, data)

    async def delete_stored(self, name: str) -> None:
        await self._ari.call(ops.RECORDINGS_DELETE_STORED, {"recordingName": name})

    async def stored_file(self, name: str) -> bytes:
        """The audio file of a stored recording, as bytes."""
        return await self._ari.send(ops.RECORDINGS_STORED_FILE, {"recordingName": name})


class Endpoints(_Resource):
    """`/endpoints`: SIP peers and the like, with their state."""

    async def get(self, tech: str, resource: str) -> Endpoint:
        data = await self._ari.call(ops.ENDPOINTS_GET, {"tech": tech, "resource": resource})
        return cast(Endpoint, data)


class Sounds(_Resource):
    """`/sounds`: the prompts Asterisk can play."""

    async def get(self, sound_id: str) -> Sound:
        return cast(Sound, await self._ari.call(ops.SOUNDS_GET, {"soundId": sound_id}))


class Applications(_Resource):
    """`/applications`: Stasis applications and their subscriptions."""

    async def get(self, app: str) -> Application:
        data = await self._ari.call(ops.APPLICATIONS_GET, {"applicationName": app})
        return cast(Application, data)

    async def subscribe(self, app: str, event_source: StrOrList) -> Application:
        """Subscribe to sources: `channel:<id>`, `bridge:<id>`, `endpoint:<tech>[/<resource>]`,
        `deviceState:<name>`."""
        data = await self._ari.call(
            ops.APPLICATIONS_SUBSCRIBE, {"applicationName": app}, {"eventSource": event_source}
        )
        return cast(Application, data)

    async def unsubscribe(self, app: str, event_source: StrOrList) -> Application:
        data = await self._ari.call(
            ops.APPLICATIONS_UNSUBSCRIBE, {"applicationName": app}, {"eventSource": event_source}
        )
        return cast(Application, data)

    async def set_event_filter(
        self,
        app: str,
        *,
        allowed: Sequence[str] | None = None,
        disallowed: Sequence[str] | None = None,
    ) -> Application:
        """Limit the event types sent to `app`. A list left None is not changed; an empty
        `allowed` list allows everything."""
        body: dict[str, list[dict[str, str]]] = {}
        if allowed is not None:
            body["allowed"] = [{"type": kind} for kind in allowed]
        if disallowed is not None:
            body["disallowed"] = [{"type": kind} for kind in disallowed]
        data = await self._ari.call(ops.APPLICATIONS_FILTER, {"applicationName": app}, None, body)
        return cast(Application, data)


class AsteriskSystem(_Resource):
    """`/asterisk`: system info, ping, dynamic configuration, modules."""

    async def info(self, only: Sequence[InfoPart] | None = None) -> AsteriskInfo:
        return cast(AsteriskInfo, await self._ari.call(ops.ASTERISK_INFO, None, {"only": only}))

    async def ping(self) -> AsteriskPing:
        return cast(AsteriskPing, await self._ari.call(ops.ASTERISK_PING))

    @staticmethod
    def _config_path(config_class: str, object_type: str, object_id: str) -> dict[str, str]:
        return {"configClass": config_class, "objectType": object_type, "id": object_id}

    async def get_config(
        self, config_class: str, object_type: str, object_id: str
    ) -> list[ConfigTuple]:
        """A dynamic configuration object, e.g. `("res_pjsip", "endpoint", "agent-1001")`."""
        data = await self._ari.call(
            ops.ASTERISK_GET_CONFIG, self._config_path(config_class, object_type, object_id)
        )
        return cast(list[ConfigTuple], data)

    async def update_config(
        self,
        config_class: str,
        object_type: str,
        object_id: str,
        fields: Mapping[str, str] | Sequence[tuple[str, str]],
    ) -> list[ConfigTuple]:
        """Create or update a dynamic configuration object (needs a writable sorcery wizard,
        see docs on sorcery.conf)."""
        pairs = fields.items() if isinstance(fields, Mapping) else fields
        body = {"fields": [{"attribute": key, "value": value} for key, value in pairs]}
        data = await self._ari.call(
            ops.ASTERISK_UPDATE_CONFIG,
            self._config_path(config_class, object_type, object_id),
            None,
            body,
        )
        return cast(list[ConfigTuple], data)

    async def delete_config(self, config_class: str, object_type: str, object_id: str) -> None:
        await self._ari.call(
            ops.ASTERISK_DELETE_CONFIG, self._config_path(config_class, object_type, object_id)
        )

    async def list_modules(self) -> builtins.list[Module]:
        return cast(list[Module], await self._ari.call(ops.ASTERISK_LIST_MODULES))

