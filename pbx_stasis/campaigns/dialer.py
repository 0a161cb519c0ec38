"""The campaigns' live dialling on the Stasis side: every running progressive or predictive
campaign is ticked twice a second; its pacer (pbx_stasis.pacing) says how many calls to place
for the agents of its queue now, and each call is one task:

1. the lead's number goes through the trunk's one check (`TrunkLine.permit`: the dialling
   policy, then compliance for a campaign's dial: do-not-call lists, calling hours); a refusal
   is journaled there and the attempt ends `refused`;
2. the trunk rings it (the campaign's caller ID, else the tenant's default); busy, no answer
   and failures end the attempt (retried per the campaign's policy);
3. answered, the call goes to the dialplan's `pbx-amd` (Asterisk's AMD()) and comes back with
   the verdict; a machine gets the campaign's action (hang up, a message, reschedule);
4. a person becomes a call of the campaign's queue (the ACD: recorded, supervised, wrapped up
   like any other), waiting at most `ABANDON_GRACE_S` for an agent: with none it is an
   abandon, the abandon message plays and the call ends.

What each call did goes back to the pacer (connect rate, handle times, abandons) and to the
attempt's row, which the dashboard and reports fold (core.fold)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pbx_stasis.acd.directory import queue_key
from pbx_stasis.acd.model import AgentState
from pbx_stasis.acd.runner import AcdService
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.bus import Bus
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.handoff import QueueRequest
from pbx_stasis.calls.inbound import Call, run_call, stasis_args
from pbx_stasis.calls.records import CallLog
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.campaigns.core import (
    ANSWERED_NOTE,
    MachineAction,
    Mode,
    Result,
    pacing_mode,
    pacing_result,
    preview_result,
    unanswered,
)
from pbx_stasis.campaigns.service import Campaigns, CampaignView, LeadPick
from pbx_stasis.dialing.caller_ids import NotOwnedNumber, Presented, caller_id_header
from pbx_stasis.dialing.compliance import Purpose
from pbx_stasis.outbound.agent_calls import OutsideCallEnded
from pbx_stasis.pacing.core import ABANDON_GRACE_S, Floor, Pacer, PacingSettings
from pbx_stasis.store import Database
from pbx_stasis.store.polling import poll
from pbx_stasis.transfer.outside import TrunkLine

log = logging.getLogger(__name__)

TICK_S = 0.5  # how often each running campaign is paced
REFRESH_S = 2.0  # how often the running campaigns are read again (started, paused, changed)
AMD_CONTEXT = "pbx-amd"  # dialplan/extensions.conf: AMD(), then back to Stasis(pbx,amd,...)
AMD_WAIT_S = 15.0  # AMD's own total analysis time is 5 s by default
STASIS_ARG = "campaign"  # StasisStart.args[0] of a campaign's far leg
CALL_PRIORITY = 100  # a campaign's answered customer goes before queued callers


@dataclass
class Running:
    """A running campaign as the dialer paces it."""

    campaign: CampaignView
    pacer: Pacer
    ringing: set[int] = field(default_factory=set)  # attempts placed, no person with an agent


class CampaignDialer:
    """Dials the running progressive and predictive campaigns (preview campaigns are dialled
    by their agents, through the API)."""

    def __init__(self, ari: AriClient, router: CallRouter, db: Database, calls: CallLog,
                 acd: AcdService, line: TrunkLine, app: str, *,
                 clock: Callable[[], float] = time.time, bus: Bus | None = None) -> None:
        self.ari = ari
        self.router = router
        self.calls = calls
        self.acd = acd
        self.line = line
        self.app = app
        self.clock = clock
        self.store = Campaigns(db, bus)
        self.running: dict[int, Running] = {}
        self._pacers: dict[int, Pacer] = {}  # kept over a pause: what the campaign measured
        self._live: set[int] = set()  # attempts this process has under way
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="campaigns")

    async def stop(self, grace: float = 5.0) -> None:
        """No new dials; the calls under way get `grace` seconds, then are cancelled (their
        attempts end as failed at the next start: close_dangling)."""
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # --- pacing -------------------------------------------------------------------------------

    async def _run(self) -> None:
        refreshed = 0.0

        async def tick() -> None:  # the database away: tried again next tick
            nonlocal refreshed
            if self.clock() - refreshed >= REFRESH_S:
                await self._refresh()
                refreshed = self.clock()
            for running in list(self.running.values()):
                await self._tick(running)

        await poll(tick, TICK_S, "campaigns", wait_first=False)

    async def _refresh(self) -> None:
        found = {c.id: c for c in await self.store.running() if c.settings.mode is not Mode.PREVIEW}
        for campaign_id in list(self.running):
            if campaign_id not in found:
                del self.running[campaign_id]  # paused or stopped: calls under way finish
        for campaign_id, campaign in found.items():
            pacing = PacingSettings(mode=pacing_mode(campaign.settings.mode),
                                    abandon_target=campaign.settings.abandon_target,
                                    min_answers=campaign.settings.learn_answers)
            running = self.running.get(campaign_id)
            if running is None:
                if campaign_id not in self._pacers:  # first seen since the start
                    await self.store.close_dangling(campaign, now=datetime.now(UTC),
                                                    keep=self._live)
                pacer = self._pacers.setdefault(campaign_id, Pacer(pacing))
                pacer.settings = pacing
                self.running[campaign_id] = Running(campaign, pacer)
            else:
                running.campaign = campaign
                running.pacer.settings = pacing

    def floor(self, campaign: CampaignView, ringing: int) -> Floor:
        """The campaign's agents now, as the ACD sees them: free ones, and how long each busy
        one has been in their call (or wrap-up)."""
        key = queue_key(campaign.tenant_id, campaign.settings.queue)
        core = self.acd.core
        now = core.now
        free, busy = 0, []
        for agent_id in core.agent_ids():
            agent = core.agent(agent_id)
            if agent is None or key not in agent.queues:
                continue
            if agent.state is AgentState.AVAILABLE:
                free += 1
            elif agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.RINGING):
                busy.append(max(0.0, now - agent.since))
        return Floor(free=free, busy_elapsed=busy, ringing=ringing)

    async def _tick(self, running: Running) -> None:
        floor = self.floor(running.campaign, len(running.ringing))
        wanted = running.pacer.calls_to_place(self.clock(), floor)
        if wanted <= 0:
            return
        for pick in await self.store.claim(running.campaign, wanted, now=datetime.now(UTC)):
            running.ringing.add(pick.attempt_id)
            self._live.add(pick.attempt_id)
            task = asyncio.create_task(self._attempt(running, pick),
                                       name=f"campaign-{pick.attempt_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # --- an agent's preview call ------------------------------------------------------------

    async def preview_ended(self, ended: OutsideCallEnded) -> None:
        """An agent's outside call ended (outbound.AgentCalls.ended): when it was a preview
        campaign's attempt, its outcome goes on the attempt and its lead, by the rule the
        dialler's own calls follow. Written by a task of its own: the call's end never waits
        on the database."""
        result = preview_result(talked=ended.talked, reason=ended.reason, cause=ended.cause)

        async def write() -> None:
            try:
                await self.store.preview_outcome(
                    ended.tenant_id, ended.call_id, result, now=ended.ended_at,
                    answered_at=ended.answered_at, talk_s=ended.talk_s,
                    agent_user_id=ended.agent_user_id,
                    reason=None if ended.talked else (
                        ended.reason if ended.cause is None
                        else f"{ended.reason} (cause {ended.cause})"))
            except Exception as exc:  # the database away: the attempt stays "called"
                log.warning("preview call %s: outcome not written: %s", ended.call_id, exc)

        task = asyncio.create_task(write(), name=f"preview-{ended.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- one call -----------------------------------------------------------------------------

    async def _attempt(self, running: Running, pick: LeadPick) -> None:
        campaign = running.campaign
        placed = self.clock()
        outcome: tuple[Result, dict[str, object]] = (Result.FAILED, {"reason": "not dialled"})
        try:
            outcome = await self._call(running, pick, placed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("campaign %d: attempt %d failed", campaign.id, pick.attempt_id)
            outcome = (Result.FAILED, {"reason": f"{type(exc).__name__}: {exc}"[:200]})
        finally:
            running.ringing.discard(pick.attempt_id)
            self._live.discard(pick.attempt_id)
            result, details = outcome
            with contextlib.suppress(Exception):  # the database away: close_dangling later
                await self.store.end(campaign, pick.attempt_id, result, now=datetime.now(UTC),
                                     **details)  # type: ignore[arg-type]

    async def _presented(self, campaign: CampaignView) -> Presented:
        try:
            return await self.line.presented_for_agent(campaign.tenant_id,
                                                       chosen=campaign.settings.caller_id)
        except NotOwnedNumber:  # the tenant gave the number up since: its default
            return await self.line.presented_for_agent(campaign.tenant_id)

    async def _call(self, running: Running, pick: LeadPick,
                    placed: float) -> tuple[Result, dict[str, object]]:
        campaign = running.campaign
        settings = campaign.settings
        verdict = await self.line.permit(campaign.tenant_id, pick.number, None,
                                         call_id=f"attempt-{pick.attempt_id}",
                                         purpose=Purpose.CAMPAIGN)
        if not verdict.allowed or verdict.number is None:
            return Result.REFUSED, {"reason": f"{verdict.reason}: {verdict.message}"}
        presented = await self._presented(campaign)
        leg_id = uuid.uuid4().hex
        inbox = self.router.claim(leg_id)
        try:
            try:
                await self.ari.channels.originate(
                    self.line.dial_string(verdict.number), app=self.app,
                    app_args=[STASIS_ARG, str(campaign.id), str(pick.attempt_id)],
                    channel_id=leg_id, dial_timeout=settings.ring_seconds,
                    caller_id=caller_id_header(presented.number))
            except AriError as exc:
                running.pacer.dial_ended(self.clock(), pacing_result(Result.FAILED), 0.0)
                return Result.FAILED, {"reason": f"the trunk did not take the call: {exc}"}
            first = await inbox.wait_for({"StasisStart", "ChannelDestroyed"},
                                         within=settings.ring_seconds + 15.0)
            ring_s = self.clock() - placed
            if first.get("type") == "ChannelDestroyed":
                cause = first.get("cause")
                result = unanswered(cause if isinstance(cause, int) else None)
                running.pacer.dial_ended(self.clock(), pacing_result(result), ring_s)
                return result, {"reason": f"cause {cause}"}
            answered_at = datetime.now(UTC)
            start: AriEvent = first
            amd: str | None = None
            if settings.amd:
                back, inbox, amd = await self._detect(leg_id, inbox)
                if back is None:  # hung up while it listened
                    running.pacer.dial_ended(self.clock(), pacing_result(Result.FAILED), ring_s)
                    return Result.FAILED, {"reason": "hung up during detection", "amd": amd}
                start = back
            await self.store.answered(campaign, pick.attempt_id, at=answered_at, amd=amd)
            if amd == "MACHINE":
                running.pacer.dial_ended(self.clock(), pacing_result(Result.MACHINE), ring_s)
                await self._machine(campaign, inbox)
                return Result.MACHINE, {"amd": amd}
            running.pacer.dial_ended(self.clock(), pacing_result(Result.CONNECTED), ring_s)
            return await self._person(running, pick, inbox, start, presented, amd)
        finally:
            await self._clean_up(inbox)

    async def _detect(self, leg_id: str, inbox: EventInbox
                      ) -> tuple[AriEvent | None, EventInbox, str | None]:
        """Send the answered call through AMD() in the dialplan and take it back: its new
        StasisStart (None if it hung up meanwhile), its new inbox, and AMDSTATUS."""
        # Followed out of Stasis: a hangup during the detection still reaches us.
        await self.ari.applications.subscribe(self.app, f"channel:{leg_id}")
        await self.ari.channels.continue_in_dialplan(leg_id, context=AMD_CONTEXT)
        with contextlib.suppress(ChannelGone):
            await inbox.wait_for({"StasisEnd"}, within=5.0)
        if inbox.destroyed:
            return None, inbox, None
        self.router.release(leg_id)
        back = self.router.claim(leg_id)  # before the next event: no await in between
        try:
            event = await back.wait_for({"StasisStart", "ChannelDestroyed"}, within=AMD_WAIT_S)
        except ChannelGone:
            return None, back, None
        if event.get("type") != "StasisStart":
            return None, back, None
        args = stasis_args(event)
        status = args[1] if len(args) > 1 and args[0] == "amd" else "NOTSURE"
        return event, back, status[:16]

    async def _machine(self, campaign: CampaignView, inbox: EventInbox) -> None:
        settings = campaign.settings
        if settings.machine_action is MachineAction.MESSAGE and settings.machine_message:
            await self._play(inbox, settings.machine_message)

    async def _play(self, inbox: EventInbox, media: str) -> str | None:
        """Play `media` to the leg and wait until it finished; the playback's last state."""
        playback_id = uuid.uuid4().hex
        with contextlib.suppress(AriError, ChannelGone, TimeoutError):
            await self.ari.channels.play(inbox.channel_id, [media], playback_id=playback_id)
            done = await inbox.wait_for(
                lambda e: e.get("type") == "PlaybackFinished"
                and (e.get("playback") or {}).get("id") == playback_id, within=60.0)
            playback = done.get("playback")
            return str(playback.get("state")) if isinstance(playback, dict) else None
        return None

    async def _person(self, running: Running, pick: LeadPick, inbox: EventInbox,
                      start: AriEvent, presented: Presented,
                      amd: str | None) -> tuple[Result, dict[str, object]]:
        """A person answered: a call of the campaign's queue, an agent within the grace or an
        abandon. The call's record and journal are the ACD's, like any queue call's."""
        campaign = running.campaign
        settings = campaign.settings
        found: dict[str, object] = {"amd": amd}
        result = Result.ABANDONED

        async def script(call: Call) -> None:
            nonlocal result
            call.record = await call.log.answered(call.record)  # answered: no ringback
            found["call_id"] = call.record.id
            await call.note(ANSWERED_NOTE, campaign=campaign.id,
                            attempt=pick.attempt_id, lead=pick.lead_id, amd=amd)
            asked = self.clock()
            outcome = await self.acd.enqueue(call, QueueRequest(
                settings.queue, priority=CALL_PRIORITY, max_wait=ABANDON_GRACE_S,
                campaign=campaign.id))
            if outcome.talked:
                result = Result.CONNECTED
                running.ringing.discard(pick.attempt_id)
                talk = max(0.0, self.clock() - asked)
                found["talk_s"] = round(talk, 1)
                found["agent_user_id"] = call.record.agent_user_id
                running.pacer.handled(self.clock(), talk)
                return
            # No agent within the grace: the abandon message, then the call ends.
            running.pacer.abandoned(self.clock())
            found["reason"] = outcome.reason
            state = None if inbox.gone else await self._play(inbox, settings.abandon_message)
            await call.note("CAMPAIGN_ABANDON", campaign=campaign.id, attempt=pick.attempt_id,
                            why=outcome.reason, message=settings.abandon_message,
                            played=state)

        await run_call(self.ari, self.calls, inbox, start, tenant_id=campaign.tenant_id,
                       script=script, from_number=presented.number or "anonymous",
                       to_number=pick.number)
        return result, found

    async def _clean_up(self, inbox: EventInbox) -> None:
        if not inbox.gone:
            inbox.hangup.by_us = True
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(inbox.channel_id)
            await inbox.drain_until_gone(within=5.0)
        self.router.release(inbox.channel_id)
