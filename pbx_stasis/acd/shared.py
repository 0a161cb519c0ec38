"""The pieces of state the ACD service's parts share, each handed only to the parts that use
it: the owner's inbox, the calls held, agents' current calls and wrap-ups, background hangups."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.stay import CallControlError, Leg, Waiting
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.calls.handoff import Outcome
from pbx_stasis.calls.mailbox import Mailbox

# The caller ID a user's phone is rung with when callers' numbers are masked for them, given
# the user id, the caller, the number the caller dialled and a callback's number; None: whole,
# the ACD's own (masking/agents.py, handed over by app.py through AcdService.mask_callers).
MaskedCallerId = Callable[[int, str, str | None, str | None], str | None]


def not_masked(user_id: int, caller: str, via: str | None, callback: str | None) -> None:
    return None


class Inbox:
    """The owner's events: any task posts (never blocks), only the owner reads them."""

    def __init__(self) -> None:
        self.queue: Mailbox[ev.AcdInput] = Mailbox()
        self.owner_running = False

    def post(self, event: ev.AcdInput) -> None:
        """Hand an event to the owner task (callable from any task)."""
        self.queue.put_nowait(event)

    async def barrier(self) -> None:
        """Return once the owner has applied everything posted before this call (at once if
        the owner is not running)."""
        if not self.owner_running:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait(done)  # type: ignore[arg-type]
        await done

    def release_barriers(self) -> None:
        """The owner stopped: nobody may wait on a barrier it will never reach."""
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if isinstance(item, asyncio.Future) and not item.done():
                item.set_result(None)


class Calls:
    """The calls the ACD holds, by call id, from `enqueue` until they leave it."""

    def __init__(self) -> None:
        self.by_id: dict[str, Waiting] = {}

    def get(self, call_id: str) -> Waiting | None:
        return self.by_id.get(call_id)

    def live(self, call_id: str) -> Waiting:
        waiting = self.by_id.get(call_id)
        if waiting is None:
            raise CallControlError("not-found", "no such call in a queue or with an agent")
        return waiting

    def talking(self, call_id: str) -> Waiting:
        waiting = self.live(call_id)
        if not waiting.connected or waiting.agent_leg is None:
            raise CallControlError("conflict", "the call is not connected to an agent")
        return waiting

    def settle(self, call_id: str | None, outcome: Outcome) -> None:
        """The core let the call go: its `enqueue` returns `outcome`."""
        waiting = self.by_id.get(call_id or "")
        if waiting is not None and not waiting.outcome.done():
            waiting.outcome.set_result(outcome)

    def owns_bridge(self, bridge_id: str) -> bool:
        return any(w.bridge_id == bridge_id for w in self.by_id.values())


@dataclass
class AgentCalls:
    """What the owner notes about agents beside the core, for their page and their next call."""

    # agent id -> the call they are ringing for, talking on or wrapping up
    current: dict[str, str] = field(default_factory=dict)
    wrapup_ends: dict[str, float] = field(default_factory=dict)  # agent id -> when it is over
    # (agent id, call id) whose agent saved their outcome: each agent of a transferred call
    # saves their own part's
    dispositioned: set[tuple[str, str]] = field(default_factory=set)
    # Tenants whose agents choose a disposition in wrap-up (they have at least one); None until
    # first read: then every tenant does. A tenant with none never traps an agent in wrap-up.
    disposition_tenants: set[int] | None = None

    def disposition_required(self, tenant_id: int) -> bool:
        return self.disposition_tenants is None or tenant_id in self.disposition_tenants


class Hangups:
    """Hangs channels up in the background (a leg the core let go, a consultation's end);
    the tasks are kept referenced until they are done."""

    def __init__(self, ari: AriClient) -> None:
        self.ari = ari
        self._tasks: set[asyncio.Task[None]] = set()

    def drop(self, leg: Leg) -> None:
        """Hang up an agent's leg once, whether or not it is still there."""
        if not leg.dropped:
            leg.dropped = True
            self.spawn(self.hangup(leg.channel_id))

    async def hangup(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(channel_id)

    def spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
