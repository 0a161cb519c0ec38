"""After a (re)start or a reconnect: endpoints and registration states again, and logins and
pauses rebuilt from the journal (the app restarted, agents did not)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sqlalchemy import select

from pbx_stasis.acd import events as ev
from pbx_stasis.acd.directory import AgentRecord, queue_key
from pbx_stasis.acd.provision import provision_all
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.store import Database
from pbx_stasis.store.tables import CallEvent

# Device states of a phone that cannot take a call (no registered contact).
UNREACHABLE_DEVICE = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN"})


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
    ) -> None:
        self.ari = ari
        self.app = app
        self.db = db
        self.agents = agents
        self.by_endpoint = by_endpoint  # endpoint name -> agent id
        self.post = post

    async def on_connect(self) -> None:
        """After every (re)connect: endpoints again (memory objects), registration states."""
        # Subscriptions outlive the socket: drop an endpoint-wide one (older versions made it),
        # which would deliver every channel event twice.
        with contextlib.suppress(AriError):
            await self.ari.applications.unsubscribe(self.app, "endpoint:PJSIP")
        await provision_all(self.ari, list(self.agents.values()))
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
        reachable = device.get("state") not in UNREACHABLE_DEVICE
        self.post(ev.AgentRegistered(agent_id) if reachable else ev.AgentUnregistered(agent_id))

    async def refresh_registration(self, agent: AgentRecord) -> None:
        if agent.contact:  # a desk phone at a fixed address is always reachable
            self.post(ev.AgentRegistered(agent.agent_id))
            return
        try:
            await self.ari.applications.subscribe(self.app, f"deviceState:PJSIP/{agent.endpoint}")
            state = (await self.ari.endpoints.get("PJSIP", agent.endpoint)).get("state")
        except AriError:
            state = None
        registered = state == "online"
        self.post(
            ev.AgentRegistered(agent.agent_id)
            if registered
            else ev.AgentUnregistered(agent.agent_id)
        )

    async def logins_and_pauses(self) -> list[ev.AcdInput]:
        """Logins and pauses as the journal left them (the app restarted, agents did not)."""
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
                paused[agent.agent_id] = str((data or {}).get("reason", ""))
            elif kind == "UNPAUSE":
                paused[agent.agent_id] = None
        restored: list[ev.AcdInput] = []
        for agent_id, queues in logged.items():
            if queues:
                restored.append(ev.AgentLogin(agent_id, sorted(queues)))
                if paused.get(agent_id) is not None:
                    restored.append(ev.AgentPause(agent_id, paused[agent_id] or ""))
        return restored
