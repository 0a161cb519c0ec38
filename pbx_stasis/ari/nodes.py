"""Several Asterisk nodes behind one client: each request goes to the node its ids live on.

One controller holds the ARI of every node (a cluster behind the SIP edge, docs/deployment.md).
Ids never collide: each node runs with Asterisk's `systemname` set to its name, which prefixes
every channel id Asterisk makes (`node-2-1733140000.17`), and the ids the app chooses (bridges,
playbacks, snoops, originated legs) are unique anyway. Which node holds an id is known from
- the node whose events socket told of it (every event's channel and bridge),
- the node a request that named it went to (a bridge created there, a playback started
  there, a leg originated there),
- else its systemname prefix.
A request that names nothing known goes to the node of the code that sends it: a call's task
runs in the context of the node its StasisStart came from (`CURRENT_NODE`, set for each event
before it is handed on; a call adopted by a resync enters its channel's node: `enter_node_of`),
so the caller's queue bridge, and the agent's leg (originated with the caller as originator),
are made on the caller's node. Resyncs run one at a time, one for the nodes connecting
together, and only with the whole view (ClusterStreams): lists and application state are the
union of every node counted up, and a node among them that does not answer fails the list
rather than leave its calls out (a resync judging from a partial view ended live calls: their
talks, missing from the list, were completed and hung up). Agents' endpoints are provisioned
on every node.

`NodeBook` and `route` are the pure part (unit-tested); `ClusterAri` is the client.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from pbx_stasis.ari import operations as ops
from pbx_stasis.ari.client import AriClient, QueryValue
from pbx_stasis.ari.errors import AriError, AriUnreachable
from pbx_stasis.ari.events import ConnectHook, EventStream, EventStreamStats, InlineHandler
from pbx_stasis.ari.models import AriEvent, event_bridge_id, event_channel_id
from pbx_stasis.ari.operations import Operation

log = logging.getLogger(__name__)

# The node whose event the running code is handling (contextvars: inherited by the tasks it
# starts, so a call's task and its lanes keep their caller's node).
CURRENT_NODE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pbx_ari_node", default=None)

# The first resync (a start, a takeover) waits this long at most for the other nodes' first
# connection attempts (a healthy node's takes milliseconds, a dead host's is refused as fast).
GATHER_S = 2.0
# How often a resync waiting for the whole view looks again.
_VIEW_POLL_S = 0.05
# Ids remembered; the oldest are forgotten first (a channel's id also ends with its events).
BOOK_CAPACITY = 200_000
# What the channel's death takes with it: the cause a call lost with its node is recorded with.
NODE_LOST_CAUSE = 38  # Q.850 network out of order
NODE_LOST_TEXT = "node-lost"

# Path arguments and query parameters that name an object of one node.
_PATH_IDS = ("channelId", "bridgeId", "playbackId", "recordingName")
_CHOSEN_IDS = ("channelId", "otherChannelId", "playbackId", "snoopId", "bridgeId", "name")
# Every node's answer, merged.
_UNION_LISTS = frozenset({ops.CHANNELS_LIST.name, ops.BRIDGES_LIST.name})
_UNION_APPLICATION = frozenset({ops.APPLICATIONS_GET.name})
# Sent to every node (the same state everywhere): agents' endpoints, event filters.
_EVERY_NODE = frozenset({
    ops.ASTERISK_UPDATE_CONFIG.name, ops.ASTERISK_DELETE_CONFIG.name,
    ops.APPLICATIONS_FILTER.name,
})
_SUBSCRIPTIONS = frozenset({ops.APPLICATIONS_SUBSCRIBE.name, ops.APPLICATIONS_UNSUBSCRIBE.name})


class NodeBook:
    """Which node each id lives on, and which nodes are up (pure: no IO)."""

    def __init__(self, names: Sequence[str], *, capacity: int = BOOK_CAPACITY) -> None:
        if not names:
            raise ValueError("a cluster needs at least one node")
        if len(set(names)) != len(names):
            raise ValueError(f"node names repeat: {list(names)}")
        self.names = tuple(names)
        self.up: set[str] = set()
        self._capacity = capacity
        self._ids: dict[str, str] = {}
        self._turn = 0
        # longest first: node-1 must not take node-10's ids
        self._prefixes = sorted(((f"{name}-", name) for name in names),
                                key=lambda pair: -len(pair[0]))

    def learn(self, object_id: str, node: str) -> None:
        ids = self._ids
        if object_id in ids:
            ids[object_id] = node
            return
        if len(ids) >= self._capacity:
            del ids[next(iter(ids))]
        ids[object_id] = node

    def forget(self, object_id: str) -> None:
        self._ids.pop(object_id, None)

    def node_of(self, object_id: str) -> str | None:
        """The node an id lives on: learned, else by its systemname prefix, else None."""
        node = self._ids.get(object_id)
        if node is not None:
            return node
        for prefix, name in self._prefixes:
            if object_id.startswith(prefix):
                return name
        return None

    def on_node(self, node: str, ids: Iterable[str]) -> list[str]:
        """Those of `ids` that live on `node`."""
        return [object_id for object_id in ids if self.node_of(object_id) == node]

    def pick(self, hint: str | None = None) -> str | None:
        """The node for a request that names nothing known: `hint` while it is up, else the
        next node up in turn; None when every node is down."""
        if hint is not None and hint in self.up:
            return hint
        live = [name for name in self.names if name in self.up]
        if not live:
            return None
        self._turn = (self._turn + 1) % len(live)
        return live[self._turn]

    @property
    def size(self) -> int:
        return len(self._ids)


Fan = Literal["one", "every", "union", "application", "probe"]


@dataclass(frozen=True)
class Route:
    """Where one request goes: `one` node, `every` node (the same write everywhere), the
    `union` of every node's list, or `probe` (an id nobody knows: each node in turn until one
    has it)."""

    fan: Fan
    node: str | None = None


def route(operation: Operation, path_args: Mapping[str, str], query: Mapping[str, QueryValue],
          book: NodeBook, hint: str | None) -> Route:
    """Where a request goes (see Route)."""
    name = operation.name
    if name in _UNION_LISTS:
        return Route("union")
    if name in _UNION_APPLICATION:
        return Route("application")
    if name in _EVERY_NODE:
        return Route("every")
    if name in _SUBSCRIPTIONS:
        sources = query.get("eventSource")
        items = [sources] if isinstance(sources, str) else list(sources or ())  # type: ignore[arg-type]
        for source in items:
            kind, _, source_id = str(source).partition(":")
            if kind in ("channel", "bridge"):
                node = book.node_of(source_id)
                return Route("one", node) if node is not None else Route("probe")
        return Route("every")
    for key in _PATH_IDS:
        path_id = path_args.get(key)
        if path_id is not None:
            node = book.node_of(path_id)
            return Route("one", node) if node is not None else Route("probe")
    if name == ops.CHANNELS_ORIGINATE.name:
        originator = query.get("originator")
        if isinstance(originator, str):
            node = book.node_of(originator)
            if node is not None:
                return Route("one", node)
    return Route("one", book.pick(hint))


def chosen_ids(operation: Operation, query: Mapping[str, QueryValue]) -> list[str]:
    """The ids a request gives the objects it makes (learned for the node it goes to)."""
    if operation.method not in ("POST", "PUT"):
        return []
    return [value for key in _CHOSEN_IDS
            if key in operation.query and isinstance(value := query.get(key), str) and value]


def event_ids(event: AriEvent) -> tuple[str | None, str | None]:
    """The channel and bridge an event concerns (either may be None)."""
    return event_channel_id(event), event_bridge_id(event)


def node_lost_event(channel_id: str, node: str) -> AriEvent:
    """What a call's task is told when the node its channel was on is gone."""
    return {
        "type": "ChannelDestroyed",
        "cause": NODE_LOST_CAUSE,
        "cause_txt": NODE_LOST_TEXT,
        "channel": {"id": channel_id},
        "node_lost": node,
    }


class ClusterAri(AriClient):
    """An AriClient over several nodes (same user and password); each request is routed
    (`route`) to a node's own client. Unreachable nodes are left out of lists and of writes
    to every node; a request for a node that is down raises AriUnreachable."""

    def __init__(self, nodes: Mapping[str, str], user: str, password: str, *,
                 timeout: float = 10.0) -> None:
        first = next(iter(nodes.values()))
        super().__init__(first, user, password, timeout=timeout)
        self.nodes = {name: AriClient(url, user, password, timeout=timeout)
                      for name, url in nodes.items()}
        self.book = NodeBook(list(nodes))

    def enter_node_of(self, object_id: str) -> None:
        node = self.book.node_of(object_id)
        if node is not None:
            CURRENT_NODE.set(node)

    def heard(self, node: str, event: AriEvent) -> None:
        """An event came from `node`: its channel and bridge live there (a destroyed channel
        is forgotten)."""
        channel_id, bridge_id = event_ids(event)
        if channel_id is not None:
            if event.get("type") == "ChannelDestroyed":
                self.book.forget(channel_id)
            else:
                self.book.learn(channel_id, node)
        if bridge_id is not None:
            self.book.learn(bridge_id, node)

    async def start(
        self,
        operation: Operation,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
    ) -> Awaitable[bytes]:
        path_args = path_args or {}
        query = query or {}
        where = route(operation, path_args, query, self.book, CURRENT_NODE.get())
        if where.fan == "one":
            if where.node is None:
                raise AriUnreachable(operation.method, operation.path, "no Asterisk node is up")
            if CURRENT_NODE.get() is None:
                # code outside any call (a web request's click-to-call, a callback's dial)
                # keeps to the node of its first request: its legs and bridge meet there
                CURRENT_NODE.set(where.node)
            sent = await self.nodes[where.node].start(operation, path_args, query, body)
            for object_id in chosen_ids(operation, query):
                self.book.learn(object_id, where.node)
            if operation is ops.BRIDGES_CREATE and not query.get("bridgeId"):
                return self._learning(sent, where.node)
            return sent
        return asyncio.ensure_future(self._fanned(where.fan, operation, path_args, query, body))

    async def _learning(self, sent: Awaitable[bytes], node: str) -> bytes:
        payload = await sent
        made = orjson.loads(payload) if payload else None
        if isinstance(made, dict) and isinstance(made.get("id"), str):
            self.book.learn(made["id"], node)
        return payload

    def _targets(self) -> list[str]:
        return [name for name in self.book.names if name in self.book.up] or list(self.book.names)

    async def _fanned(self, fan: Fan, operation: Operation, path_args: Mapping[str, str],
                      query: Mapping[str, QueryValue], body: Any) -> bytes:
        targets = self._targets()
        if fan == "probe":
            last: Exception | None = None
            for name in targets:
                try:
                    payload = await self.nodes[name].send(operation, path_args, query, body)
                except AriUnreachable as exc:
                    last = exc
                    continue
                except AriError as exc:
                    if exc.status != 404:
                        raise
                    last = exc
                    continue
                for object_id in (*path_args.values(), *chosen_ids(operation, query)):
                    self.book.learn(object_id, name)
                return payload
            assert last is not None
            raise last
        answers = await asyncio.gather(
            *(self.nodes[name].send(operation, path_args, query, body) for name in targets),
            return_exceptions=True)
        good: list[tuple[str, bytes]] = []
        for name, answer in zip(targets, answers, strict=True):
            if isinstance(answer, AriUnreachable):
                if fan != "every":  # a list without this node's calls would judge them gone
                    raise answer
                log.info("node %s left out of %s: %s", name, operation.name, answer)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                good.append((name, answer))
        if not good:
            raise AriUnreachable(operation.method, operation.path, "no Asterisk node answered")
        if fan == "every":
            return good[0][1]
        if fan == "union":
            merged: list[Any] = []
            for name, payload in good:
                items = orjson.loads(payload) if payload else []
                for item in items:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        self.book.learn(item["id"], name)
                merged.extend(items)
            return orjson.dumps(merged)
        # application: one application, its lists the union of every node's
        union: dict[str, Any] = {}
        for _, payload in good:
            state = orjson.loads(payload)
            if not union:
                union = dict(state)
                continue
            for key, value in state.items():
                if isinstance(value, list):
                    union[key] = [*union.get(key, []), *value]
        return orjson.dumps(union)

    async def close(self) -> None:
        for client in self.nodes.values():
            await client.close()
        await super().close()


# A node whose events socket stays down this long is lost: its calls end ("node-lost"). A
# healthy node's socket that drops reconnects within the first backoff (0.5 s).
NODE_LOST_AFTER_S = 2.5
_WATCH_EVERY_S = 0.25
RECONNECT_MAX_S = 2.0


def lost_nodes(down_since: dict[str, float], sockets: Mapping[str, bool], now: float,
               lost_after: float) -> list[str]:
    """The nodes whose events socket (`sockets`: node -> up, for the nodes counted up) has been
    down `lost_after` seconds on end at `now`. `down_since` is the caller's record of when each
    went down, kept here: a socket seen up again starts its node's count over (a node back
    within the grace once is not lost at once the next time its socket drops)."""
    lost = []
    for name, connected in sockets.items():
        if connected:
            down_since.pop(name, None)
            continue
        if now - down_since.setdefault(name, now) >= lost_after:
            lost.append(name)
    return lost


def awaited_nodes(sockets: Mapping[str, bool], up: AbstractSet[str],
                  failed_once: AbstractSet[str], *, first: bool) -> list[str]:
    """The nodes a resync waits for before it lists (`sockets`: node -> its socket up).
    The first resync (a start, a takeover): every node not connected whose first attempt has
    not failed yet (a node slow to connect would look empty). Later ones: every node counted up
    whose socket is down, until it is back or declared lost (its calls then end as lost, not
    as gone from a list it was missing from)."""
    if first:
        return [name for name, ok in sockets.items() if not ok and name not in failed_once]
    return [name for name, ok in sockets.items() if not ok and name in up]


class ClusterStreams:
    """The events stream of every node of a ClusterAri, for the app as one stream: events
    handed on in the context of their node (CURRENT_NODE), `on_connect` run for each node's
    (re)connect, and a node whose socket stays down `lost_after` seconds declared lost:
    `on_node_lost(node)` (the app ends the calls that were on it); it is back when its socket
    is (its resync then runs like any reconnect's)."""

    def __init__(self, ari: ClusterAri, app: str, handler: InlineHandler, *,
                 on_connect: ConnectHook, on_replaced: Callable[[], None],
                 on_node_lost: Callable[[str], None],
                 lost_after: float = NODE_LOST_AFTER_S) -> None:
        self._ari = ari
        self._handler = handler
        self._on_connect = on_connect
        self._on_node_lost = on_node_lost
        self._lost_after = lost_after
        self.streams = {
            # a node that died is tried every 2 s at most: it rejoins within moments of its
            # return (one connection attempt is cheap)
            name: EventStream(client, app, self._handler_of(name),
                              on_connect=self._connect_of(name), on_replaced=on_replaced,
                              backoff_max=RECONNECT_MAX_S)
            for name, client in ari.nodes.items()
        }
        self.lost: dict[str, float] = {}  # node -> when it was declared lost (monotonic)
        self._down_since: dict[str, float] = {}
        self._resyncing: set[str] = set()  # nodes whose socket is up, its on_connect running
        # One on_connect at a time, and one for the nodes connecting together: a resync covers
        # every node whose socket is up when it starts (the lists are unions). Two at once
        # (both nodes connecting at a takeover) carried the same calls over twice. And none
        # from a partial view (`awaited_nodes`): a takeover's resync that listed one node's
        # bridges before the other had connected completed that node's talks as ended, and
        # the ACD hung them up (13 live calls in a round, bench-failover --cluster).
        self._one_resync = asyncio.Lock()
        self._gathered = False  # the first resync waited for the nodes connecting with it
        self._covered: set[str] = set()  # nodes waiting to resync that the last one listed
        self._watcher: asyncio.Task[None] | None = None

    def _handler_of(self, node: str) -> InlineHandler:
        heard, handler = self._ari.heard, self._handler

        def handle(event: AriEvent) -> None:
            heard(node, event)
            CURRENT_NODE.set(node)
            handler(event)

        return handle

    def _connect_of(self, node: str) -> ConnectHook:
        async def connected() -> None:
            CURRENT_NODE.set(node)
            self._ari.book.up.add(node)  # the resync's requests may reach it
            self.lost.pop(node, None)
            self._down_since.pop(node, None)
            log.info("Asterisk node %s connected", node)
            self._resyncing.add(node)  # its socket is up: the resync is no time down
            try:
                first = not self._gathered  # a start or a takeover: every node connects at once
                self._gathered = True
                await self._whole_view(first=first)
                async with self._one_resync:
                    if node in self._covered:
                        self._covered.discard(node)  # listed by the resync just done
                        return
                    self._covered = self._resyncing - {node}
                    await self._on_connect()
            finally:
                self._resyncing.discard(node)

        return connected

    async def _whole_view(self, *, first: bool) -> None:
        """Until no node is awaited (`awaited_nodes`), or the bound: GATHER_S for the first
        resync (a node slower than that counts as down), else until a node down is declared
        lost."""
        within = GATHER_S if first else self._lost_after + 2 * _WATCH_EVERY_S
        deadline = time.monotonic() + within
        while True:
            sockets = {name: stream.connected or name in self._resyncing
                       for name, stream in self.streams.items()}
            failed = {name for name, stream in self.streams.items()
                      if stream.stats.failures > 0}
            waiting = awaited_nodes(sockets, self._ari.book.up, failed, first=first)
            if not waiting:
                return
            if time.monotonic() >= deadline:
                log.warning("resync without node(s) %s: no events socket after %.1f s",
                            ", ".join(waiting), within)
                return
            await asyncio.sleep(_VIEW_POLL_S)

    @property
    def connected(self) -> bool:
        """True while at least one node's stream is connected (calls can be taken)."""
        return any(stream.connected for stream in self.streams.values())

    async def wait_connected(self) -> None:
        """Until every node's stream is connected and resynced."""
        for stream in self.streams.values():
            await stream.wait_connected()

    def connected_nodes(self) -> list[str]:
        return [name for name, stream in self.streams.items() if stream.connected]

    @property
    def stats(self) -> EventStreamStats:
        """The streams' figures added up (connected: any)."""
        each = [stream.stats for stream in self.streams.values()]
        errors = [s.last_error for s in each if s.last_error]
        return EventStreamStats(
            connected=self.connected,
            attempts=sum(s.attempts for s in each),
            connects=sum(s.connects for s in each),
            reconnects=sum(s.reconnects for s in each),
            failures=sum(s.failures for s in each),
            received=sum(s.received for s in each),
            dispatched=sum(s.dispatched for s in each),
            handler_errors=sum(s.handler_errors for s in each),
            pending=sum(s.pending for s in each),
            lanes=sum(s.lanes for s in each),
            last_error=errors[-1] if errors else None,
        )

    def start(self) -> None:
        for stream in self.streams.values():
            stream.start()
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="ari-nodes-watch")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        for stream in self.streams.values():
            await stream.close()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(_WATCH_EVERY_S)
            self.check(time.monotonic())

    def check(self, now: float) -> None:
        """Mark nodes down whose socket is down, and lost after `lost_after` seconds."""
        book = self._ari.book
        up = {name: stream.connected or name in self._resyncing
              for name, stream in self.streams.items() if name in book.up}
        for name in lost_nodes(self._down_since, up, now, self._lost_after):
            book.up.discard(name)
            self.lost[name] = now
            log.warning("Asterisk node %s lost (no events socket for %.1f s): its calls "
                        "end", name, now - self._down_since.pop(name))
            self._on_node_lost(name)
