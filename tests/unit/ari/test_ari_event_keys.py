"""Which channel (or bridge) an ARI event concerns: the key that orders its handling."""

from __future__ import annotations

from typing import Any

from ari_fake_server import channel, channel_event
from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.ari import event_bridge_id, event_channel_id, event_key

BRIDGE = {"id": "b1", "technology": "simple_bridge", "channels": []}


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "application": "pbx", "timestamp": "t", **fields}


def test_channel_events_are_keyed_by_their_channel() -> None:
    for kind in ("StasisStart", "ChannelDtmfReceived", "ChannelDestroyed", "StasisEnd"):
        assert event_channel_id(channel_event(kind, "c1")) == "c1"
        assert event_key(channel_event(kind, "c1")) == "channel:c1"


def test_bridge_entry_and_exit_belong_to_the_channel() -> None:
    entered = channel_event("ChannelEnteredBridge", "c1", bridge=BRIDGE)
    assert event_key(entered) == "channel:c1"
    assert event_bridge_id(entered) == "b1"


def test_playbacks_and_recordings_follow_their_target() -> None:
    on_channel = {"id": "p1", "target_uri": "channel:c1", "media_uri": "sound:x", "state": "done"}
    on_bridge = {**on_channel, "target_uri": "bridge:b1"}
    assert event_key(event("PlaybackFinished", playback=on_channel)) == "channel:c1"
    assert event_key(event("PlaybackStarted", playback=on_bridge)) == "bridge:b1"
    recording = {"name": "r1", "format": "wav", "target_uri": "channel:c2", "state": "done"}
    assert event_channel_id(event("RecordingFinished", recording=recording)) == "c2"


def test_dial_belongs_to_the_dialed_channel() -> None:
    dial = event("Dial", caller=channel("caller"), peer=channel("agent"), dialstatus="RINGING")
    assert event_channel_id(dial) == "agent"


def test_transfers_belong_to_the_transferring_channel() -> None:
    attended = event(
        "BridgeAttendedTransfer",
        transferer_first_leg=channel("a"),
        transferer_second_leg=channel("b"),
    )
    assert event_channel_id(attended) == "a"
    refer = event("ChannelTransfer", referred_by={"source_channel": channel("c")}, refer_to={})
    assert event_channel_id(refer) == "c"


def test_bridge_only_and_global_events() -> None:
    assert event_key(event("BridgeDestroyed", bridge=BRIDGE)) == "bridge:b1"
    endpoint = {"technology": "PJSIP", "resource": "agent-1", "channel_ids": []}
    assert event_key(event("EndpointStateChange", endpoint=endpoint)) is None
    assert event_key(event("ChannelVarset", variable="GLOBAL_X", value="1")) is None
    assert event_key(event("ApplicationReplaced")) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    ["channel", "bridge", "playback", "recording", "peer", "referred_by", "target_uri", "id"]
)


@given(
    kind=st.sampled_from(["Dial", "ChannelTransfer", "BridgeAttendedTransfer", "PlaybackStarted"]),
    body=st.dictionaries(fields | st.text(max_size=6), json_values, max_size=5),
)
def test_the_key_is_total_on_any_json(kind: str, body: dict[str, Any]) -> None:
    key = event_key({**body, "type": kind})
    assert key is None or key.startswith(("channel:", "bridge:"))
