"""The floor: the least Python that serves the benchmark's calls through ARI as the ACD does.

One WebSocket, Asterisk's own event filter as the app sets it, the requests sent on that socket
(REST over the WebSocket, as the app sends them) without waiting for their answers, and a free
agent taken from a deque: no database, no journal, no actors, no core. Each call costs what the
ACD's costs Asterisk (a bridge created and destroyed, the caller rung then answered, an agent's
leg originated into the app, both legs bridged, the agent hung up after the caller) with 7
events instead of 9 (no subscription to the caller's channel for its ChannelDestroyed).

What it says: how much of Python's CPU per call the ARI protocol itself costs (the WebSocket,
JSON both ways), and so how far any Python app can come towards app_queue's cost.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, deque
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from sandbox import Sandbox

from benchlib.load import DeskPhones, Load
from benchlib.phases import PhaseResult, measure
from benchlib.report import Figures, _fmt
from pbx_stasis.app import UNUSED_EVENTS


class FloorApp:
    """A queue with `endpoints` as agents: each caller rings the next free one."""

    def __init__(self, sandbox: Sandbox, app: str, endpoints: list[str]) -> None:
        self.sandbox, self.app = sandbox, app
        self.free = deque(endpoints)
        self.outbox: list[str] = []  # requests to send once the event at hand is handled
        self.numbers: dict[str, str] = {}  # callers in the app -> their calling number
        self.ids = itertools.count(1)
        self.legs: dict[str, str] = {}  # caller channel -> its agent's leg
        self.callers: dict[str, str] = {}  # agent leg -> its caller
        self.agents: dict[str, str] = {}  # agent leg -> the agent's endpoint
        self.events: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()  # answers that were not 2xx, by request
        self.waiting: deque[str] = deque()  # callers with no free agent when they came
        self._pending: dict[str, str] = {}  # request id -> its name

    async def run(self, ready: asyncio.Event) -> None:
        root = self.sandbox.ari_url.rstrip("/").removesuffix("/ari") + "/ari"
        auth = aiohttp.BasicAuth(self.sandbox.user, self.sandbox.password)
        async with aiohttp.ClientSession(auth=auth) as http, \
                http.ws_connect(root.replace("http", "ws", 1) + "/events",
                                params={"app": self.app}) as ws:
            filtered = await http.put(  # the app exists once its socket is up
                f"{root}/applications/{self.app}/eventFilter",
                json={"disallowed": [{"type": kind} for kind in UNUSED_EVENTS]})
            filtered.raise_for_status()
            ready.set()
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.on_message(orjson.loads(message.data))
                    outbox, self.outbox = self.outbox, []
                    for text in outbox:  # as the app sends: written now, awaited in turn
                        await ws.send_str(text)

    def send(self, name: str, method: str, uri: str) -> None:
        request_id = f"f{next(self.ids)}"
        self._pending[request_id] = name
        self.requests[name] += 1
        message = {"type": "RESTRequest", "transaction_id": request_id,
                   "request_id": request_id, "method": method, "uri": uri}
        self.outbox.append(orjson.dumps(message).decode())

    def on_message(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "RESTResponse":
            name = self._pending.pop(str(event.get("request_id")), "?")
            if not 200 <= int(event.get("status_code") or 0) < 300:
                self.errors[name] += 1
            return
        self.events[str(kind)] += 1
        channel = event.get("channel") or {}
        channel_id = str(channel.get("id", ""))
        if kind == "StasisStart":
            args = event.get("args") or []
            if args and args[0] == "agent":
                self.answered(channel_id)
            else:
                self.arrived(channel_id, str((channel.get("caller") or {}).get("number", "")))
        elif kind in ("StasisEnd", "ChannelDestroyed"):  # a leg never answered has no StasisEnd
            self.left(channel_id)

    def arrived(self, caller: str, number: str) -> None:
        self.numbers[caller] = number
        self.send("bridges.create", "POST", f"bridges?type=mixing&bridgeId={_bridge(caller)}")
        self.send("channels.ring", "POST", f"channels/{caller}/ring")
        if self.free:
            self.ring(caller, number, self.free.popleft())
        else:
            self.waiting.append(caller)

    def ring(self, caller: str, number: str, endpoint: str) -> None:
        leg = f"{caller}-o1"
        self.legs[caller], self.callers[leg], self.agents[leg] = leg, caller, endpoint
        self.send("channels.originate", "POST",
                  f"channels?endpoint=PJSIP/{endpoint}&app={self.app}&appArgs=agent"
                  f"&callerId={quote(number, safe='')}&timeout=60&channelId={leg}"
                  f"&originator={caller}")

    def answered(self, leg: str) -> None:
        caller = self.callers.get(leg)
        if caller is None or caller not in self.numbers:
            self.send("channels.hangup", "DELETE", f"channels/{leg}")
            return
        self.send("channels.answer", "POST", f"channels/{caller}/answer")
        self.send("bridges.add_channel", "POST",
                  f"bridges/{_bridge(caller)}/addChannel?channel={caller},{leg}")

    def left(self, channel_id: str) -> None:
        if self.numbers.pop(channel_id, None) is not None:  # a caller: its leg and bridge go
            leg = self.legs.pop(channel_id, None)
            if leg is not None:
                self.send("channels.hangup", "DELETE", f"channels/{leg}")
            self.send("bridges.destroy", "DELETE", f"bridges/{_bridge(channel_id)}")
            return
        caller = self.callers.pop(channel_id, None)
        endpoint = self.agents.pop(channel_id, None)
        if caller is not None and caller in self.numbers:  # the agent left first
            self.legs.pop(caller, None)
            self.send("channels.hangup", "DELETE", f"channels/{caller}")
        if endpoint is not None:
            self.free.append(endpoint)
            while self.waiting and self.free:
                waiting = self.waiting.popleft()
                if waiting in self.numbers:
                    self.ring(waiting, self.numbers[waiting], self.free.popleft())


def _bridge(caller: str) -> str:
    return f"fb-{caller}"


async def run_floor(sandbox: Sandbox, load: Load, agents: int, workdir: Path,
                    app: str = "pbx") -> PhaseResult:
    """The floor app in this process, on the trunk's Stasis(pbx) like the ACD. `workdir`
    must exist."""
    lifetime = (load.calls + load.warmup) / load.rate + load.talk_ms / 1000 + 180
    phones = await asyncio.to_thread(DeskPhones, workdir, ring_ms=load.ring_ms, lifetime=lifetime)
    endpoints = [f"bench-fl-{n}" for n in range(1, agents + 1)]
    for endpoint in endpoints:
        await asyncio.to_thread(sandbox.provision_desk_phone, endpoint, phones.sip_port)
    floor = FloorApp(sandbox, app, endpoints)
    ready = asyncio.Event()
    task = asyncio.create_task(floor.run(ready))
    try:
        connected = asyncio.ensure_future(ready.wait())
        try:
            async with asyncio.timeout(15):
                await asyncio.wait([task, connected], return_when=asyncio.FIRST_COMPLETED)
        finally:
            connected.cancel()
        if task.done():
            task.result()  # why it could not connect
        events_before, requests_before = Counter(floor.events), Counter(floor.requests)
        window = await asyncio.to_thread(measure, sandbox, load, workdir, phones, 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        phones_result = await asyncio.to_thread(phones.stop)
    return PhaseResult.of(
        "floor", load, agents, window, phones, phones_result, bridged_source="not timed",
        extra={"channels_left": window.channels_left,
               "ari_events": dict(floor.events - events_before),
               "ari_requests": dict(floor.requests - requests_before),
               "request_errors": dict(floor.errors)},
    )


def floor_text(floor: Figures, phase: PhaseResult, ours: Figures | None,
               base: Figures | None) -> list[str]:
    """The floor beside ours and app_queue from the same run."""
    calls = max(1, floor.offered + phase.load.warmup)  # the counts include the warm-up's
    python, asterisk = floor.per_call_ms(floor.python_cpu), floor.per_call_ms(floor.asterisk_cpu)
    both = floor.cpu_per_call_ms()
    lines = [f"floor (benchlib/floor.py: the least Python serving the same calls over ARI): "
             f"Python {python:.2f} ms a call, Asterisk {asterisk:.2f}, both {both:.2f}"]
    if ours is not None:
        lines.append(
            f"floor: ours spends {ours.per_call_ms(ours.python_cpu):.2f} ms of Python a call, "
            f"{ours.per_call_ms(ours.python_cpu) - python:.2f} above the floor; Asterisk "
            f"{ours.per_call_ms(ours.asterisk_cpu):.2f} on ours")
    if base is not None:
        aq = base.cpu_per_call_ms()
        lines.append(f"floor: Asterisk + Python {both / aq:.2f}x app_queue's {aq:.2f} ms a call "
                     f"(Asterisk alone {asterisk / aq:.2f}x)")
    events, requests = phase.extra["ari_events"], phase.extra["ari_requests"]
    lines.append(
        f"floor: ARI events per call {sum(events.values()) / calls:.1f} ("
        + ", ".join(f"{k} {v / calls:.2f}" for k, v in sorted(events.items())) + "), requests "
        f"{sum(requests.values()) / calls:.1f}, answers not 2xx {phase.extra['request_errors']}"
        f", p99 caller INVITE -> agent INVITE {_fmt(floor.pct('agent_invite', 99))} ms")
    return lines
