"""Typed shapes of what ARI returns and sends: resources (Channel, Bridge...) and events.

These are TypedDicts over Asterisk's own JSON, so a value is the parsed dict itself, with no
copying or validation cost; `tests/integration/test_ari_contract.py` checks every field name,
type and required-ness against Asterisk's REST API description files. Events stay plain dicts
(`AriEvent`); the event TypedDicts below are views a handler can `cast` to once it has looked at
`event["type"]`.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypeAlias, TypedDict


class CallerID(TypedDict):
    """Caller or connected-line id of a channel."""

    name: str
    number: str


class DialplanCEP(TypedDict):
    """Where a channel is in the dialplan (context, extension, priority)."""

    context: str
    exten: str
    priority: int
    app_name: str
    app_data: str


class Channel(TypedDict):
    """A channel snapshot: one leg of a call as Asterisk sees it."""

    id: str
    protocol_id: str
    name: str
    state: str
    caller: CallerID
    connected: CallerID
    accountcode: str
    dialplan: DialplanCEP
    creationtime: str
    language: str
    channelvars: NotRequired[dict[str, str]]
    caller_rdnis: NotRequired[str]
    tenantid: NotRequired[str]


class Bridge(TypedDict):
    """A bridge: mixes the media of the channels in it."""

    id: str
    technology: str
    bridge_type: str
    bridge_class: str
    creator: str
    name: str
    channels: list[str]
    video_mode: NotRequired[str]
    video_source_id: NotRequired[str]
    creationtime: str
    bridgevars: NotRequired[dict[str, str]]


class Playback(TypedDict):
    """Media being played to a channel or bridge (`target_uri` says which)."""

    id: str
    media_uri: str
    next_media_uri: NotRequired[str]
    target_uri: str
    language: NotRequired[str]
    state: str


class LiveRecording(TypedDict):
    """A recording in progress on a channel or bridge."""

    name: str
    format: str
    target_uri: str
    state: str
    duration: NotRequired[int]
    talking_duration: NotRequired[int]
    silence_duration: NotRequired[int]
    cause: NotRequired[str]


class StoredRecording(TypedDict):
    """A finished recording on disk."""

    name: str
    format: str


class Endpoint(TypedDict):
    """A technology/resource pair, e.g. PJSIP/agent-1001, and its channels."""

    technology: str
    resource: str
    state: NotRequired[str]
    channel_ids: list[str]


class Variable(TypedDict):
    """The value of one channel, bridge or global variable."""

    value: str


class Variables(TypedDict):
    variables: dict[str, str]


class BuildInfo(TypedDict):
    os: str
    kernel: str
    options: str
    machine: str
    date: str
    user: str


class SystemInfo(TypedDict):
    version: str
    entity_id: str


class SetId(TypedDict):
    user: str
    group: str


class ConfigInfo(TypedDict):
    name: str
    default_language: str
    max_channels: NotRequired[int]
    max_open_files: NotRequired[int]
    max_load: NotRequired[float]
    setid: SetId


class StatusInfo(TypedDict):
    startup_time: str
    last_reload_time: str


class AsteriskInfo(TypedDict):
    """System information; each part is present unless filtered out with `only`."""

    build: NotRequired[BuildInfo]
    system: NotRequired[SystemInfo]
    config: NotRequired[ConfigInfo]
    status: NotRequired[StatusInfo]


class AsteriskPing(TypedDict):
    asterisk_id: str
    ping: str
    timestamp: str


class Module(TypedDict):
    name: str
    description: str
    use_count: int
    status: str
    support_level: str


class ConfigTuple(TypedDict):
    """One attribute of a dynamic configuration object (e.g. a PJSIP endpoint)."""

    attribute: str
    value: str


class Application(TypedDict):
    """A Stasis application and what it is subscribed to."""

    name: str
    channel_ids: list[str]
    bridge_ids: list[str]
    endpoint_ids: list[str]
    device_names: list[str]
    events_allowed: list[dict[str, Any]]
    events_disallowed: list[dict[str, Any]]


class FormatLangPair(TypedDict):
    language: str
    format: str


class Sound(TypedDict):
    id: str
    text: NotRequired[str]
    formats: list[FormatLangPair]


class DeviceState(TypedDict):
    name: str
    state: str


class RtpStat(TypedDict):
    """RTP statistics of a channel."""

    txcount: int
    rxcount: int
    txjitter: NotRequired[float]
    rxjitter: NotRequired[float]
    remote_maxjitter: NotRequired[float]
    remote_minjitter: NotRequired[float]
    remote_normdevjitter: NotRequired[float]
    remote_stdevjitter: NotRequired[float]
    local_maxjitter: NotRequired[float]
    local_minjitter: NotRequired[float]
    local_normdevjitter: NotRequired[float]
    local_stdevjitter: NotRequired[float]
    txploss: int
    rxploss: int
    remote_maxrxploss: NotRequired[float]
    remote_minrxploss: NotRequired[float]
    remote_normdevrxploss: NotRequired[float]
    remote_stdevrxploss: NotRequired[float]
    local_maxrxploss: NotRequired[float]
    local_minrxploss: NotRequired[float]
    local_normdevrxploss: NotRequired[float]
    local_stdevrxploss: NotRequired[float]
    rtt: NotRequired[float]
    maxrtt: NotRequired[float]
    minrtt: NotRequired[float]
    normdevrtt: NotRequired[float]
    stdevrtt: NotRequired[float]
    local_ssrc: int
    remote_ssrc: int
    txoctetcount: int
    rxoctetcount: int
    channel_uniqueid: str


# "from" is a Python keyword, hence the functional form.
TextMessage = TypedDict(
    "TextMessage",
    {"from": str, "to": str, "body": str, "variables": NotRequired[dict[str, str]]},
)


class ContactInfo(TypedDict):
    uri: str
    contact_status: str
    aor: str
    roundtrip_usec: NotRequired[str]


class Peer(TypedDict):
    peer_status: str
    cause: NotRequired[str]
    address: NotRequired[str]
    port: NotRequired[str]
    time: NotRequired[str]


AriEvent: TypeAlias = dict[str, Any]
"""One message from the events WebSocket: a JSON object with at least a `type`."""


class EventBase(TypedDict):
    """Fields every ARI event carries (swagger models `Message` and `Event`)."""

    type: str
    asterisk_id: NotRequired[str]
    application: str
    timestamp: str


class StasisStart(EventBase):
    args: list[str]
    channel: Channel
    replace_channel: NotRequired[Channel]


class StasisEnd(EventBase):
    channel: Channel


class ChannelCreated(EventBase):
    channel: Channel


class ChannelDestroyed(EventBase):
    cause: int
    cause_txt: str
    tech_cause: NotRequired[int]
    channel: Channel


class ChannelStateChange(EventBase):
    channel: Channel


class ChannelDtmfReceived(EventBase):
    digit: str
    duration_ms: int
    channel: Channel


class ChannelHangupRequest(EventBase):
    cause: NotRequired[int]
    tech_cause: NotRequired[int]
    soft: NotRequired[bool]
    channel: Channel


class ChannelEnteredBridge(EventBase):
    bridge: Bridge
    channel: NotRequired[Channel]


class ChannelLeftBridge(EventBase):
    bridge: Bridge
    channel: Channel


class ChannelVarset(EventBase):
    variable: str
    value: str
    channel: NotRequired[Channel]


class ChannelHold(EventBase):
    channel: Channel
    musicclass: NotRequired[str]


class ChannelUnhold(EventBase):
    channel: Channel


class ChannelTalkingStarted(EventBase):
    channel: Channel


class ChannelTalkingFinished(EventBase):
    channel: Channel
    duration: int


class ChannelCallerId(EventBase):
    caller_presentation: int
    caller_presentation_txt: str
    channel: Channel


class ChannelConnectedLine(EventBase):
    channel: Channel


class ChannelDialplan(EventBase):
    channel: Channel
    dialplan_app: str
    dialplan_app_data: str


class ChannelUserevent(EventBase):
    eventname: str
    channel: NotRequired[Channel]
    bridge: NotRequired[Bridge]
    endpoint: NotRequired[Endpoint]
    userevent: dict[str, Any]


class ChannelToneDetected(EventBase):
    channel: Channel


class Dial(EventBase):
    caller: NotRequired[Channel]
    peer: Channel
    forward: NotRequired[str]
    forwarded: NotRequired[Channel]
    dialstring: NotRequired[str]
    dialstatus: str


class PlaybackStarted(EventBase):
    playback: Playback


class PlaybackContinuing(EventBase):
    playback: Playback


class PlaybackFinished(EventBase):
    playback: Playback


class RecordingStarted(EventBase):
    recording: LiveRecording


class RecordingFinished(EventBase):
    recording: LiveRecording


class RecordingFailed(EventBase):
    recording: LiveRecording


class BridgeCreated(EventBase):
    bridge: Bridge


class BridgeDestroyed(EventBase):
    bridge: Bridge


class BridgeMerged(EventBase):
    bridge: Bridge
    bridge_from: Bridge


class BridgeBlindTransfer(EventBase):
    channel: Channel
    replace_channel: NotRequired[Channel]
    transferee: NotRequired[Channel]
    exten: str
    context: str
    result: str
    is_external: bool
    bridge: NotRequired[Bridge]


class BridgeAttendedTransfer(EventBase):
    transferer_first_leg: Channel
    transferer_second_leg: Channel
    replace_channel: NotRequired[Channel]
    transferee: NotRequired[Channel]
    transfer_target: NotRequired[Channel]
    result: str
    is_external: bool
    transferer_first_leg_bridge: NotRequired[Bridge]
    transferer_second_leg_bridge: NotRequired[Bridge]
    destination_type: str
    destination_bridge: NotRequired[str]
    destination_application: NotRequired[str]
    destination_link_first_leg: NotRequired[Channel]
    destination_link_second_leg: NotRequired[Channel]
    destination_threeway_channel: NotRequired[Channel]
    destination_threeway_bridge: NotRequired[Bridge]


class EndpointStateChange(EventBase):
    endpoint: Endpoint


class DeviceStateChanged(EventBase):
    device_state: DeviceState


class ContactStatusChange(EventBase):
    endpoint: Endpoint
    contact_info: ContactInfo


class PeerStatusChange(EventBase):
    endpoint: Endpoint
    peer: Peer


class ApplicationReplaced(EventBase):
    pass


class ApplicationMoveFailed(EventBase):
    channel: Channel
    destination: str
    args: list[str]


class ApplicationRegistered(EventBase):
    pass


class ApplicationUnregistered(EventBase):
    pass


class TextMessageReceived(EventBase):
    message: TextMessage
    endpoint: NotRequired[Endpoint]


MODELS: dict[str, Any] = {
    "CallerID": CallerID,
    "DialplanCEP": DialplanCEP,
    "Channel": Channel,
    "Bridge": Bridge,
    "Playback": Playback,
    "LiveRecording": LiveRecording,
    "StoredRecording": StoredRecording,
    "Endpoint": Endpoint,
    "Variable": Variable,
    "Variables": Variables,
    "BuildInfo": BuildInfo,
    "SystemInfo": SystemInfo,
    "SetId": SetId,
    "ConfigInfo": ConfigInfo,
    "StatusInfo": StatusInfo,
    "AsteriskInfo": AsteriskInfo,
    "AsteriskPing": AsteriskPing,
    "Module": Module,
    "ConfigTuple": ConfigTuple,
    "Application": Application,
    "FormatLangPair": FormatLangPair,
    "Sound": Sound,
    "DeviceState": DeviceState,
    "RTPstat": RtpStat,
    "TextMessage": TextMessage,
    "ContactInfo": ContactInfo,
    "Peer": Peer,
}
"""Resource TypedDicts by their swagger model name (for the contract test)."""

EVENT_MODELS: dict[str, Any] = {
    "StasisStart": StasisStart,
    "StasisEnd": StasisEnd,
    "ChannelCreated": ChannelCreated,
    "ChannelDestroyed": ChannelDestroyed,
    "ChannelStateChange": ChannelStateChange,
    "ChannelDtmfReceived": ChannelDtmfReceived,
    "ChannelHangupRequest": ChannelHangupRequest,
    "ChannelEnteredBridge": ChannelEnteredBridge,
    "ChannelLeftBridge": ChannelLeftBridge,
    "ChannelVarset": ChannelVarset,
    "ChannelHold": ChannelHold,
    "ChannelUnhold": ChannelUnhold,
    "ChannelTalkingStarted": ChannelTalkingStarted,
    "ChannelTalkingFinished": ChannelTalkingFinished,
    "ChannelCallerId": ChannelCallerId,
    "ChannelConnectedLine": ChannelConnectedLine,
    "ChannelDialplan": ChannelDialplan,
    "ChannelUserevent": ChannelUserevent,
    "ChannelToneDetected": ChannelToneDetected,
    "Dial": Dial,
    "PlaybackStarted": PlaybackStarted,
    "PlaybackContinuing": PlaybackContinuing,
    "PlaybackFinished": PlaybackFinished,
    "RecordingStarted": RecordingStarted,
    "RecordingFinished": RecordingFinished,
    "RecordingFailed": RecordingFailed,
    "BridgeCreated": BridgeCreated,
    "BridgeDestroyed": BridgeDestroyed,
    "BridgeMerged": BridgeMerged,
    "BridgeBlindTransfer": BridgeBlindTransfer,
    "BridgeAttendedTransfer": BridgeAttendedTransfer,
    "EndpointStateChange": EndpointStateChange,
    "DeviceStateChanged": DeviceStateChanged,
    "ContactStatusChange": ContactStatusChange,
    "PeerStatusChange": PeerStatusChange,
    "ApplicationReplaced": ApplicationReplaced,
    "ApplicationMoveFailed": ApplicationMoveFailed,
    "ApplicationRegistered": ApplicationRegistered,
    "ApplicationUnregistered": ApplicationUnregistered,
    "TextMessageReceived": TextMessageReceived,
}
"""Event TypedDicts by event type (for the contract test and for readers)."""


def stasis_entry(channel: Channel, app: str) -> list[str] | None:
    """The arguments a channel entered Stasis `app` with, read from the dialplan application
    it runs (`Stasis(pbx,inbound)`: app_data "pbx,inbound"; an originated or snooped channel
    in the app runs `Stasis` too): None while it runs anything else (an originated leg still
    ringing runs `AppDial2`), so Asterisk has sent its StasisStart exactly when this is not
    None."""
    dialplan = channel.get("dialplan")
    if not isinstance(dialplan, dict) or str(dialplan.get("app_name", "")).lower() != "stasis":
        return None
    name, *args = str(dialplan.get("app_data", "")).split(",")
    return [arg.strip() for arg in args] if name.strip() == app else None


def stasis_args_of(channel: Channel, app: str) -> list[str]:
    """`stasis_entry`'s arguments, [] when the channel is not in the app."""
    return stasis_entry(channel, app) or []


def _id_of(value: object) -> str | None:
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str) and ident:
            return ident
    return None


def _target(event: AriEvent, kind: str) -> str | None:
    """The id in a playback's or recording's target URI (`channel:<id>`, `bridge:<id>`)."""
    for field in ("playback", "recording"):
        resource = event.get(field)
        if isinstance(resource, dict):
            uri = resource.get("target_uri")
            if isinstance(uri, str):
                prefix, _, ident = uri.partition(":")
                if prefix == kind and ident:
                    return ident
    return None


def event_channel_id(event: AriEvent) -> str | None:
    """The id of the channel an event concerns, or None if it concerns no single channel.

    `channel.id` for channel events; the target of a playback or recording on a channel;
    the dialed channel (`peer`) for `Dial`; the first transferer leg for an attended transfer;
    the referring channel for `ChannelTransfer`.
    """
    direct = _id_of(event.get("channel"))
    if direct is not None:
        return direct
    target = _target(event, "channel")
    if target is not None:
        return target
    kind = event.get("type")
    if kind == "Dial":
        return _id_of(event.get("peer"))
    if kind == "BridgeAttendedTransfer":
        return _id_of(event.get("transferer_first_leg"))
    if kind == "ChannelTransfer":
        referred_by = event.get("referred_by")
        if isinstance(referred_by, dict):
            return _id_of(referred_by.get("source_channel"))
    return None


def event_bridge_id(event: AriEvent) -> str | None:
    """The id of the bridge an event concerns (bridge events, playbacks/recordings on a bridge)."""
    direct = _id_of(event.get("bridge"))
    if direct is not None:
        return direct
    return _target(event, "bridge")


def event_key(event: AriEvent) -> str | None:
    """The ordering key of an event: events with the same key are handled one after another.

    A channel's events (including playbacks and recordings on it, and its bridge entries and
    exits) share `channel:<id>`, so a call's story is seen in the order Asterisk told it.
    Bridge-only events (created, destroyed, merged, playback on a bridge) share `bridge:<id>`.
    Everything else (endpoints, device states, application events) returns None: one global
    ordered lane.
    """
    channel_id = event_channel_id(event)
    if channel_id is not None:
        return f"channel:{channel_id}"
    bridge_id = event_bridge_id(event)
    if bridge_id is not None:
        return f"bridge:{bridge_id}"
    return None
