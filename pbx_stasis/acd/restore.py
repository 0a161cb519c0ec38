"""After a (re)start or a reconnect: endpoints and registration states again, and logins and
pauses rebuilt from the journal (the app restarted, agents did not)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.directory import AgentRecord, queue_key
from pbx_stasis.acd.provision import provision_all
from pbx_stasis.acd.reach import PhoneReach
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.ari.nodes import CURRENT_NODE
from pbx_stasis.store import CallStatus, Database
from pbx_stasis.store.tables import Call, CallEvent

# Device states of a phone that cannot take a call (no registered contact).
UNREACHABLE_DEVICE = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN"})
# The pause older versions journaled for an agent whose conversation outlived a restart: it
# waited for a call that a second crash left with no end, so it is no pause to restore (a
# carried-over talk is a call of the core now, rebuilt from Asterisk at each connect).
ADOPTION_PAUSE = "call in progress"
# The pause that holds offers off an agent while their own outside call rings (outbound/
# agent_calls.py): a restart ends that dial, so the pause before it is the one to restore.
OUTBOUND_PAUSE = "outbound call"


# The rows that begin or end an agent's talk on a call (figures.TALK_ROWS without ADOPTED):
# a queue call's (CONNECT) or the agent's own outside call's (OUTCONNECT).
_TALK_ROWS = ("CONNECT", "OUTCONNECT", "COMPLETECALLER", "COMPLETEAGENT", "TRANSFER")


@dataclass(frozen=True)
class OpenTalk:
    """A talk the journal shows begun (CONNECT) and not ended, on a call still live: a
    conversation the app stopped under, unless this process holds it."""

    call_id: str
    channel_id: str  # the caller's (an outbound call's: the far end's, its record's channel
    # the agent's phone until adoption finds the far leg in the call's bridge)
    queue: str  # the queue key ("" for an outbound call done for no queue)
    agent_id: str
    connected_at: float
    entered_at: float
    caller: str  # an outbound call's: the number called
    orig_position: int
    outbound: bool = False  # the agent's own outside call (OUTCONNECT)
    campaign: int | None = None  # a campaign's customer (CONNECT's `campaign`)
    journaled: bool = True  # False: found in Asterisk's bridges, its CONNECT row lost

    def adopted(self, *, ended: bool = False) -> ev.TalkAdopted:
        return ev.TalkAdopted(self.call_id, self.queue, self.agent_id, self.connected_at,
                              self.entered_at, caller=self.caller,
                              orig_position=self.orig_position, ended=ended,
                              outbound=self.outbound, campaign=self.campaign,
                              connect_lost=not self.journaled)


class Restore:
    """Brings the core back in line with Asterisk and the journal (by posting to the owner)."""

    def __init__(
        self,
        *,
        ari: AriClient,
        app: str,
        db: Database,
        agents: dict[str, AgentRecord],
        by_endpoint: dict[str, str],
        post: Callable[[ev.AcdInput], None],
        edge: str | None = None,
    ) -> None:
        self.ari = ari
        self.edge = edge
        self.app = app
        self.db = db
        self.agents = agents
        self.by_endpoint = by_endpoint  # endpoint name -> agent id
        self.post = post
        self.reach: dict[str, PhoneReach] = {}  # agent id -> their phone as each node sees it

    async def on_connect(self) -> None:
        """After every (re)connect: endpoints again (memory objects), registration states."""
        # Subscriptions outlive the socket: drop an endpoint-wide one (older versions made it),
        # which would deliver every channel event twice.
        with contextlib.suppress(AriError):
            await self.ari.applications.unsubscribe(self.app, "endpoint:PJSIP")
        await provision_all(self.ari, list(self.agents.values()), edge=self.edge)
        for agent in self.agents.values():
            await self.refresh_registration(agent)

    def on_device_state(self, event: AriEvent) -> None:
        """DeviceStateChanged of an agent's phone: registered or not.

        Device states, not endpoint events: subscribing the app to an endpoint also delivers
        every event of that endpoint's channels a second time (verified on Asterisk 22).
        """
        device = event.get("device_state") or {}
        name = str(device.get("name", ""))
        agent_id = self.by_endpoint.get(name.removeprefix("PJSIP/"))
        if agent_id is None or self.agents[agent_id].contact:
            return
        self._report(agent_id, device.get("state") not in UNREACHABLE_DEVICE)

    def forget_node(self, node: str) -> None:
        """A lost Asterisk node's view of the phones no longer counts (its calls are over)."""
        for agent_id, reach in self.reach.items():
            if reach.forget(node):
                self._post_reach(agent_id, reach)

    def _report(self, agent_id: str, reachable: bool) -> None:
        """What the node whose event or connect this code runs for (none: one node) says."""
        reach = self.reach.setdefault(agent_id, PhoneReach())
        reach.report(CURRENT_NODE.get(), reachable)
        self._post_reach(agent_id, reach)

    def _post_reach(self, agent_id: str, reach: PhoneReach) -> None:
        self.post(ev.AgentRegistered(agent_id, reach.unreachable_on) if reach.registered
                  else ev.AgentUnregistered(agent_id))

    async def refresh_registration(self, agent: AgentRecord) -> None:
        if agent.contact:  # a desk phone at a fixed address is always reachable
            self.post(ev.AgentRegistered(agent.agent_id))
            return
        try:
            await self.ari.applications.subscribe(self.app, f"deviceState:PJSIP/{agent.endpoint}")
            state = (await self.ari.endpoints.get("PJSIP", agent.endpoint)).get("state")
        except AriError:
            state = None
        self._report(agent.agent_id, state == "online")

    async def logins_and_pauses(self) -> tuple[list[ev.AcdInput], list[ev.AcdInput]]:
        """Logins and pauses as the journal left them (the app restarted, agents did not),
        and, to apply after them as new changes (journaled), the end of the pause of an
        agent's own outside call that was ringing when the app stopped: that dial is over, so
        the agent is as before it (`AgentCalls.script`'s restore, which the app could not run).
        """
        kinds = ("LOGIN", "LOGOUT", "PAUSE", "UNPAUSE")
        async with self.db.session() as session:
            rows = list(
                await session.execute(
                    select(
                        CallEvent.agent_user_id, CallEvent.event, CallEvent.queue, CallEvent.data
                    )
                    .where(CallEvent.event.in_(kinds), CallEvent.agent_user_id.is_not(None))
                    .order_by(CallEvent.id)
                )
            )
        logged: dict[str, set[str]] = {}
        paused: dict[str, str | None] = {}
        dialling: dict[str, str | None] = {}  # agent -> their pause before a dial's
        for user_id, kind, queue, data in rows:
            agent = self.agents.get(str(user_id))
            if agent is None:
                continue
            queues = logged.setdefault(agent.agent_id, set())
            if kind == "LOGIN" and queue:
                queues.add(queue_key(agent.tenant_id, queue))
            elif kind == "LOGOUT":
                queues.discard(queue_key(agent.tenant_id, queue)) if queue else queues.clear()
            elif kind == "PAUSE":
                reason = str((data or {}).get("reason", ""))
                earlier = dialling.pop(agent.agent_id, paused.get(agent.agent_id))
                if reason == OUTBOUND_PAUSE:
                    dialling[agent.agent_id] = earlier
                paused[agent.agent_id] = None if reason == ADOPTION_PAUSE else reason
            elif kind == "UNPAUSE":
                paused[agent.agent_id] = None
                dialling.pop(agent.agent_id, None)
        restored: list[ev.AcdInput] = []
        dials_ended: list[ev.AcdInput] = []
        for agent_id, queues in logged.items():
            if queues:
                restored.append(ev.AgentLogin(agent_id, sorted(queues)))
                if paused.get(agent_id) is not None:
                    restored.append(ev.AgentPause(agent_id, paused[agent_id] or ""))
                if agent_id in dialling:
                    earlier = dialling[agent_id]
                    dials_ended.append(ev.AgentUnpause(agent_id) if earlier is None
                                       else ev.AgentPause(agent_id, earlier))
        return restored, dials_ended

    async def open_talks(self) -> dict[str, OpenTalk]:
        """The talks the journal leaves open, by call id (live calls whose last talk row is a
        CONNECT). Reads what the write-behind queue holds too."""
        await self.db.writes.settle()
        by_user = {agent.user_id: agent for agent in self.agents.values()}
        async with self.db.session() as session:
            rows = list(
                await session.execute(
                    select(CallEvent.call_id, CallEvent.event, CallEvent.at, CallEvent.queue,
                           CallEvent.agent_user_id, CallEvent.data, Call.channel_id,
                           Call.from_number)
                    .join(Call, Call.id == CallEvent.call_id)
                    .where(Call.status == CallStatus.LIVE, CallEvent.event.in_(_TALK_ROWS))
                    .order_by(CallEvent.id)
                )
            )
        talks: dict[str, OpenTalk | None] = {}
        for call_id, kind, at, queue, user_id, data, channel_id, caller in rows:
            agent = by_user.get(user_id)
            values = data or {}
            connected = at.timestamp()
            if kind == "OUTCONNECT" and agent is not None:
                for_queue = values.get("for_queue")
                talks[call_id] = OpenTalk(
                    call_id=call_id, channel_id=channel_id,
                    queue=_for_queue(agent.tenant_id, for_queue),
                    agent_id=agent.agent_id, connected_at=connected, entered_at=connected,
                    caller=str(values.get("number") or ""), orig_position=0, outbound=True)
                continue
            if kind != "CONNECT" or agent is None or not queue:
                talks[call_id] = None  # ended (or nobody this app knows)
                continue
            wait = values.get("wait")
            campaign = values.get("campaign")
            talks[call_id] = OpenTalk(
                call_id=call_id, channel_id=channel_id, queue=queue_key(agent.tenant_id, queue),
                agent_id=agent.agent_id, connected_at=connected,
                entered_at=connected - (float(wait) if isinstance(wait, int | float) else 0.0),
                caller=caller, orig_position=int(values.get("orig_position") or 0),
                campaign=campaign if isinstance(campaign, int) else None)
        return {call_id: talk for call_id, talk in talks.items() if talk is not None}


def _for_queue(tenant_id: int, value: object) -> str:
    """The queue key of an OUTCONNECT's `for_queue` (the core writes its key), "" for none."""
    if not isinstance(value, str) or not value:
        return ""
    return value if ":" in value else queue_key(tenant_id, value)
