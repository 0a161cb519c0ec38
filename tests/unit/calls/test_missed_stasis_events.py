"""Stasis entries and exits the ARI sockets were silent for: a channel the app made (an agent's
leg, a campaign's customer, a snoop) that entered Stasis gets the StasisStart it missed, with
its arguments, exactly when Asterisk had sent one; a channel that left Stasis (a caller who hung
up, not yet gone) gets its StasisEnd. Asterisk's own arriving after that is a repeat."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from pbx_stasis.ari.models import AriEvent, Channel, stasis_entry
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.resync import missed_starts, missed_stasis_ends
from pbx_stasis.calls.router import CallRouter

APP = "pbx"


def _channel(channel_id: str, app_name: str, app_data: str) -> Channel:
    # What GET /channels gave for each kind (seen on the sandbox Asterisk 22).
    return cast(Channel, {"id": channel_id, "state": "Up", "dialplan": {
        "context": "from-trunk", "exten": "100", "priority": 1,
        "app_name": app_name, "app_data": app_data}})


RINGING_LEG = _channel("leg", "AppDial2", "(Outgoing Line)")
ANSWERED_LEG = _channel("leg", "Stasis", "pbx")
CAMPAIGN_BACK = _channel("far", "Stasis", "pbx,amd,MACHINE,LONGGREETING")
SNOOP = _channel("snoop", "Stasis", "pbx,x, y")
OTHER_APP = _channel("other", "Stasis", "wallboard,inbound")
IN_DIALPLAN = _channel("amd", "AMD", "")


def test_stasis_entry_reads_the_arguments_only_of_a_channel_in_this_app() -> None:
    assert stasis_entry(ANSWERED_LEG, APP) == []
    assert stasis_entry(CAMPAIGN_BACK, APP) == ["amd", "MACHINE", "LONGGREETING"]
    assert stasis_entry(SNOOP, APP) == ["x", "y"]
    assert stasis_entry(RINGING_LEG, APP) is None  # not in Stasis until it answers
    assert stasis_entry(OTHER_APP, APP) is None
    assert stasis_entry(IN_DIALPLAN, APP) is None
    assert stasis_entry(cast(Channel, {"id": "x"}), APP) is None


async def _no_call(inbox: EventInbox, start: AriEvent) -> None:
    pass


def _queued(inbox: EventInbox) -> list[AriEvent]:
    events: list[AriEvent] = []
    while not inbox._queue.empty():
        events.append(inbox._queue.get_nowait())
    return events


def test_each_claimed_channel_in_stasis_gets_the_start_it_missed_once() -> None:
    router = CallRouter(_no_call)
    leg, far, snoop = router.claim("leg"), router.claim("far"), router.claim("snoop")
    ringing = router.claim("ringing")
    heard = router.claim("heard")
    router.on_event({"type": "StasisStart", "channel": {"id": "heard"}, "args": []})
    router.claim("gone")  # not in Asterisk any more: the resync hands it ChannelDestroyed
    existing: dict[str, Channel] = {
        "leg": ANSWERED_LEG, "far": CAMPAIGN_BACK, "snoop": SNOOP,
        "ringing": {**RINGING_LEG, "id": "ringing"},
        "heard": {**ANSWERED_LEG, "id": "heard"},
    }

    assert missed_starts(APP, router, existing) == 3
    assert missed_starts(APP, router, existing) == 0  # never twice
    assert missed_stasis_ends(APP, router, set(existing), existing) == 0  # all in Stasis

    [made] = _queued(leg)
    assert made["type"] == "StasisStart" and made["missed"] and made["args"] == []
    assert cast(dict[str, Any], made["channel"])["id"] == "leg"
    assert [e["args"] for e in _queued(far)] == [["amd", "MACHINE", "LONGGREETING"]]
    assert [e["args"] for e in _queued(snoop)] == [["x", "y"]]
    assert _queued(ringing) == []
    assert len(_queued(heard)) == 1  # Asterisk's own only

    # Asterisk's own StasisStart, crossing the reconnect, is a repeat: dropped.
    router.on_event({"type": "StasisStart", "channel": {"id": "leg"}, "args": []})
    assert _queued(leg) == []


def test_a_channel_running_another_app_gets_no_start() -> None:
    router = CallRouter(_no_call)
    leg = router.claim("leg")
    assert missed_starts(APP, router, {"leg": {**OTHER_APP, "id": "leg"}}) == 0
    assert missed_starts(APP, router, {"leg": {**IN_DIALPLAN, "id": "leg"}}) == 0
    assert _queued(leg) == []


def test_a_channel_that_left_stasis_gets_the_end_it_missed_once() -> None:
    router = CallRouter(_no_call)
    followed, unfollowed = router.claim("followed"), router.claim("unfollowed")
    for inbox in (followed, unfollowed):
        inbox.put({"type": "StasisStart", "channel": {"id": inbox.channel_id}, "args": []})
    ringing = router.claim("ringing")  # never entered: not an end
    over = router.claim("over")
    over.put({"type": "StasisStart", "channel": {"id": "over"}, "args": []})
    over.put({"type": "StasisEnd", "channel": {"id": "over"}})  # heard already
    # A caller that hung up: followed still (subscribed), its dialplan runs on after Stasis().
    hanging_up = _channel("followed", "GosubIf", '$["SUCCESS" = "FAILED"]?pbx-away,s,1')
    # Still showing Stasis as its last application, but no longer in the app's list.
    leaving = {**ANSWERED_LEG, "id": "unfollowed"}
    existing = {"followed": hanging_up, "unfollowed": leaving,
                "ringing": {**RINGING_LEG, "id": "ringing"}, "over": {**hanging_up, "id": "over"}}
    in_app = {"followed", "ringing", "over"}

    assert missed_stasis_ends(APP, router, in_app, existing) == 2
    assert missed_stasis_ends(APP, router, in_app, existing) == 0  # never twice
    for inbox in (followed, unfollowed):
        made = _queued(inbox)
        assert [e["type"] for e in made] == ["StasisStart", "StasisEnd"] and made[1]["missed"]
    assert _queued(ringing) == []
    assert [e["type"] for e in _queued(over)] == ["StasisStart", "StasisEnd"]
    router.on_event({"type": "StasisEnd", "channel": {"id": "followed"}})  # Asterisk's, late
    assert _queued(followed) == []


async def test_a_call_the_router_started_counts_as_entered() -> None:
    started: list[str] = []

    async def on_call(inbox: EventInbox, start: AriEvent) -> None:
        started.append(inbox.channel_id)

    router = CallRouter(on_call)
    router.on_event({"type": "StasisStart", "channel": {"id": "caller"}, "args": ["inbound"]})
    inbox = router.inbox("caller")
    assert inbox is not None and inbox.entered
    existing = {"caller": _channel("caller", "Stasis", "pbx,inbound")}
    assert missed_starts(APP, router, existing) == 0
    await router.shutdown(1.0)
    assert started == ["caller"]


async def test_a_stopping_app_starts_no_call_and_leaves_the_channel_for_the_next_start() -> None:
    """An adoption that a stop interrupts (resync goes on after `shutdown` took its list of
    tasks): its calls are not begun (before: they ran on, unwatched, while the app closed under
    them, and a waiting caller was hung up); the channel is not claimed, so the next start
    adopts it."""
    started: list[str] = []
    release = asyncio.Event()

    async def on_call(inbox: EventInbox, start: AriEvent) -> None:
        started.append(inbox.channel_id)
        await release.wait()

    router = CallRouter(on_call)
    router.start_call({"type": "StasisStart", "channel": {"id": "talking"}, "args": []})
    stopping = asyncio.create_task(router.shutdown(5.0))
    await asyncio.sleep(0)  # the stop has begun: it waits for the call it found
    router.start_call({"type": "StasisStart", "channel": {"id": "waiting"}, "args": []})
    router.on_event({"type": "StasisStart", "channel": {"id": "new"}, "args": ["inbound"]})
    release.set()
    await stopping
    assert started == ["talking"]
    assert router.inbox("waiting") is None and router.inbox("new") is None
    assert router.live_calls == 0
