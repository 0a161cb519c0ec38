"""An agent's own outside calls: dialled from their phone (the dialplan's from-agents context
hands the call to Stasis with `outbound`), or click-to-call from the desk (their phone is rung
first, then the number). Every number is judged by the tenant's dialling policy before anything
reaches the trunk; while it rings the agent is paused so no queue call is offered. Once the
number answers, the call is the ACD's like a queue call (acd/outbound.py): the agent's call box,
hold, mute, tones, transfers, the live calls, supervision, recording, a wrap-up and the figures.

The call presents one of the tenant's numbers as its caller ID (dialing/caller_ids.py): the one
the agent chose for a click-to-call, else their queues', the tenant's default or the trunk's;
never the agent's extension nor the number called. It is also the call record's from_number."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pbx_stasis.acd.directory import AgentRecord
from pbx_stasis.acd.model import is_personal_queue
from pbx_stasis.acd.restore import OUTBOUND_PAUSE
from pbx_stasis.acd.runner import AcdService
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.client import HangupReason
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.actor import EventInbox
from pbx_stasis.calls.handoff import Outcome
from pbx_stasis.calls.inbound import Call, CallScript, dialed_number, stasis_args
from pbx_stasis.dialing import Dialer, DialPolicies, DialRefused, PhoneNotRegistered, Verdict
from pbx_stasis.dialing.caller_ids import NotOwnedNumber, Presented
from pbx_stasis.dialing.compliance import Purpose
from pbx_stasis.dialing.errors import CallerIdRefused
from pbx_stasis.store import Database, Directory, StoreUnavailable, UserRecord
from pbx_stasis.transfer.outside import TrunkLine

log = logging.getLogger(__name__)

# An agent's account is read for each outside call, waiting no longer than this for it.
USER_READ_TIMEOUT_S = 1.0
# How an outside call the dialling policy refused is ended: Q.850 21, which a SIP phone gets
# as 403 Forbidden (nothing was answered, nothing reached the trunk).
REJECTED: tuple[HangupReason, int, str] = ("rejected", 21, "Call Rejected")


@dataclass(frozen=True)
class OutsideCallEnded:
    """An agent's outside call is over, as the outside line ended it: `talked` once the
    number answered (then `answered_at` and `talk_s`, to the end of the agent's part), else
    its `reason` (transfer/outside.py's: busy, no_answer, refused, failed, caller_hangup: the
    agent hung up while it rang, not_allowed: the dialling policy or compliance refused it)
    and the far leg's hangup `cause` (Q.850). What other features learn of it (a preview
    campaign's attempt: campaigns/dialer.py)."""

    tenant_id: int
    call_id: str
    agent_user_id: int
    number: str
    talked: bool
    reason: str
    cause: int | None
    answered_at: datetime | None
    talk_s: float | None
    ended_at: datetime


OutsideCallWatcher = Callable[[OutsideCallEnded], Awaitable[None]]


class AgentCalls:
    """Agents' outside calls for the Stasis app `app`; `ended` is told of each one's end."""

    def __init__(self, ari: AriClient, db: Database, acd: AcdService, line: TrunkLine,
                 dialing: DialPolicies, app: str) -> None:
        self.ari = ari
        self.db = db
        self.acd = acd
        self.line = line
        self.dialing = dialing
        self.app = app
        self._users: dict[int, UserRecord | None] = {}  # accounts as last read, for outages
        self.ended: list[OutsideCallWatcher] = []  # told of each call's end (campaigns)

    def agent_of(self, start: AriEvent) -> AgentRecord | None:
        """The agent whose phone a channel is (PJSIP/agent-17-0000002a)."""
        name = str((start.get("channel") or {}).get("name", ""))
        endpoint = name.removeprefix("PJSIP/").rsplit("-", 1)[0]
        for agent in self.acd.agents.values():
            if agent.endpoint == endpoint:
                return agent
        return None

    def queue_for(self, agent: AgentRecord, caller_id: str | None) -> str | None:
        """The queue (key) an agent's outbound call is done for: its wrap-up time and recording
        policy apply. The queue whose caller ID the call presents, else the first queue the agent
        is logged into; None when they are in none."""
        view = self.acd.core.agent(agent.agent_id)
        keys = sorted(k for k in (view.queues if view else ()) if not is_personal_queue(k))
        for key in keys:
            config = self.acd.core.queue(key)
            if caller_id and config is not None and config.caller_id == caller_id:
                return key
        return keys[0] if keys else None

    def _queue_caller_ids(self, agent: AgentRecord) -> list[str | None]:
        """The caller IDs of the queues the agent is logged in to (the core's live view)."""
        view = self.acd.core.agent(agent.agent_id)
        if view is None:
            return []
        configs = (self.acd.core.queue(key) for key in sorted(view.queues))
        return [config.caller_id for config in configs if config is not None]

    async def presented(self, start: AriEvent, agent: AgentRecord | None,
                        tenant_id: int) -> Presented:
        """The caller ID of an agent's outside call that entered Stasis: the number chosen for
        a click-to-call (StasisStart's 4th argument, checked again: it may have been removed
        from the tenant's numbers since), else the rule's default."""
        args = stasis_args(start)
        chosen = args[3] if len(args) > 3 and args[3] else None
        queues = self._queue_caller_ids(agent) if agent is not None else []
        try:
            return await self.line.presented_for_agent(tenant_id, chosen=chosen,
                                                       queue_caller_ids=queues)
        except NotOwnedNumber:
            return await self.line.presented_for_agent(tenant_id, queue_caller_ids=queues)

    def script(self, start: AriEvent, agent: AgentRecord | None,
               presented: Presented | None = None) -> CallScript:
        """The script of an agent's call from their phone or click-to-call (we rang their phone
        first), presenting `presented` (see `presented`). A number the tenant's dialling policy
        refuses is rejected unanswered (the phone gets 403 Forbidden, the journal DIAL_REFUSED
        with why)."""
        args = stasis_args(start)
        number = args[1] if len(args) > 1 else dialed_number(start)
        caller_id = presented or Presented(None, "none")

        async def outbound(call: Call) -> None:
            dialer = await self._dialer(agent, call.record.tenant_id, number, call.record.id)
            verdict = None if dialer is None else await self.line.permit(
                call.record.tenant_id, number, dialer, call_id=call.record.id,
                purpose=Purpose.AGENT)
            if agent is None or verdict is None or not verdict.allowed:
                await call.note("OUTBOUND", number=number, reason="not_allowed",
                                agent=agent.username if agent else None)
                await call.hang_up(*REJECTED)
                if agent is not None:
                    await self._tell(call, agent, number, Outcome(False, "not_allowed"),
                                     None, None)
                return
            await call.answer()
            view = self.acd.core.agent(agent.agent_id)
            earlier_pause = view.paused if view is not None else None
            self.acd.pause(agent.agent_id, OUTBOUND_PAUSE)
            paused = True

            def restore() -> None:
                """Back to how the agent was (e.g. still on a break): once the number answered
                (posted after OutboundConnected, the agent on a call meanwhile, so no offer
                slips in, and before the wrap-up's pause for a disposition), or when it failed."""
                nonlocal paused
                if not paused:
                    return
                paused = False
                if earlier_pause is not None:
                    self.acd.pause(agent.agent_id, earlier_pause)
                else:
                    self.acd.unpause(agent.agent_id)

            queue = self.queue_for(agent, caller_id.number)
            dialled = verdict.number or number
            answered: list[tuple[datetime, float]] = []  # when the number answered

            async def talk(far: EventInbox, bridge_id: str, gone: asyncio.Task[None]) -> str:
                answered.append((datetime.now(UTC), time.monotonic()))
                return await self.acd.outbound_talk(call, far, bridge_id, gone, agent, dialled,
                                                    queue, connected=restore)

            self.acd.outbound_dialled(call, agent, dialled)
            try:
                outcome = await self.line.connect_number(call, number, dialer=dialer,
                                                         caller_id=caller_id, talk=talk,
                                                         purpose=Purpose.AGENT)
                await call.note("OUTBOUND", number=number, reason=outcome.reason,
                                agent=agent.username)
            finally:
                restore()
            at, since = answered[0] if answered else (None, None)
            await self._tell(call, agent, dialled, outcome, at,
                             None if since is None else time.monotonic() - since)

        return outbound

    async def _tell(self, call: Call, agent: AgentRecord, number: str, outcome: Outcome,
                    answered_at: datetime | None, talk_s: float | None) -> None:
        """Tell the watchers the call is over (a watcher that fails is logged, the call's
        end goes on)."""
        ended = OutsideCallEnded(
            tenant_id=call.record.tenant_id, call_id=call.record.id,
            agent_user_id=agent.user_id, number=number, talked=outcome.talked,
            reason=outcome.reason, cause=outcome.cause,
            answered_at=answered_at, talk_s=None if talk_s is None else round(talk_s, 1),
            ended_at=datetime.now(UTC))
        for watcher in self.ended:
            try:
                await watcher(ended)
            except Exception:
                log.exception("call %s: a watcher of its end failed", call.record.id)

    async def dial(self, agent: AgentRecord, number: str, call_id: str,
                   caller_id: str | None = None) -> None:
        """Click-to-call: ring the agent's own phone (answered by itself, the softphone sees
        X-PBX-Auto-Answer), then the number once they are on the line, presenting `caller_id`
        (one of the tenant's numbers; None: the default rule).

        Raises CallerIdRefused when `caller_id` is not the tenant's, DialRefused when the
        tenant's dialling policy refuses the number (journaled), PhoneNotRegistered when there
        is no phone to ring."""
        if caller_id is not None:
            try:
                await self.line.presented_for_agent(agent.tenant_id, chosen=caller_id)
            except NotOwnedNumber as exc:
                raise CallerIdRefused(str(exc)) from exc
        dialer = await self._dialer(agent, agent.tenant_id, number)
        if dialer is None:
            raise DialRefused(Verdict(False, "disabled", "your account is disabled"))
        verdict = await self.line.permit(agent.tenant_id, number, dialer,
                                         purpose=Purpose.AGENT)
        if not verdict.allowed:
            raise DialRefused(verdict)
        if not await self._phone_registered(agent):
            raise PhoneNotRegistered()
        try:
            await self.ari.channels.originate(
                f"PJSIP/{agent.endpoint}",
                app=self.app,
                # The chosen caller ID travels with the call (checked again when it starts).
                app_args=["outbound", number, call_id, *([caller_id] if caller_id else [])],
                # The number they call, masked for an agent whose role sees numbers masked
                # (they called a contact or a call back by id) with their caller ID.
                caller_id=self.acd.masked_caller_id(agent.user_id, number, caller_id, None)
                or f'"{number}" <{number}>',
                dial_timeout=30,
                variables={
                    "PJSIP_HEADER(add,X-PBX-Auto-Answer)": "yes",
                    "PJSIP_HEADER(add,X-PBX-Call-Id)": call_id,
                },
            )
        except AriError as exc:
            # Asterisk answers 500 "Allocation failed" for an endpoint without a contact: the
            # phone went away between the check and the originate.
            if not await self._phone_registered(agent):
                raise PhoneNotRegistered() from exc
            raise

    async def _dialer(self, agent: AgentRecord | None, tenant_id: int, number: str,
                      call_id: str | None = None) -> Dialer | None:
        """The user behind an agent's phone, as the dialling policy sees them; None (and a
        DIAL_REFUSED line) for a phone that is nobody's or a disabled account's."""
        user = None
        unreadable = False
        if agent is not None:
            try:
                async with asyncio.timeout(USER_READ_TIMEOUT_S):
                    user = await Directory(self.db).get_user_by_id(agent.user_id)
                self._users[agent.user_id] = user
            except (StoreUnavailable, TimeoutError) as exc:
                # A call never waits on the database: the account as last read decides.
                user = self._users.get(agent.user_id)
                unreadable = user is None
                log.warning("agent %s: account %s: %s", agent.username,
                            "unknown" if unreadable else "as last read",
                            exc or f"no answer within {USER_READ_TIMEOUT_S:g} s")
        if agent is not None and user is not None and not user.disabled:
            return Dialer(user.id, user.username, user.role)
        reason, message = (
            ("unknown-phone", "the phone placing the call is no agent's") if agent is None
            else ("unavailable", "the account cannot be read now; try again shortly")
            if unreadable
            else ("disabled", f"the account of {agent.username} is disabled"))
        self.dialing.journal_refusal(
            tenant_id, number, Verdict(False, reason, message), call_id=call_id,
            agent_user_id=agent.user_id if agent else None,
            by=agent.username if agent else None)
        return None

    async def _phone_registered(self, agent: AgentRecord) -> bool:
        """Whether the agent's phone can be rung: a desk phone at a fixed address always, a
        softphone while it has a registered contact (endpoint state `online`)."""
        if agent.contact:
            return True
        try:
            endpoint = await self.ari.endpoints.get("PJSIP", agent.endpoint)
        except AriError as exc:
            if exc.status == 404:  # not provisioned (yet): nothing to ring either
                return False
            raise
        return endpoint.get("state") == "online"
