"""Calls to outside numbers: check the tenant's dialling policy, originate the far leg through
the trunk into Stasis with the caller ID the call presents, bridge it with the caller, and follow
both legs until one of them hangs up (an `OutsideLine`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.handoff import Outcome
from pbx_stasis.calls.inbound import Call
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import (
    CallerIds,
    OutboundNumber,
    Presented,
    caller_id_header,
    for_own_call,
    for_transfer,
)
from pbx_stasis.dialing.compliance import Purpose
from pbx_stasis.dialing.compliance_store import Compliance
from pbx_stasis.dialing.policy import Dialer, Verdict
from pbx_stasis.dialing.policy_store import DialPolicies
from pbx_stasis.store import StoreUnavailable

log = logging.getLogger(__name__)

# Hangup causes (Q.850) of a far leg that never answered -> Outcome.reason
_UNANSWERED = {17: "busy", 18: "no_answer", 19: "no_answer", 21: "refused"}
STASIS_ARG = "outside"  # StasisStart.args[0] of the far leg
OUTSIDE_BRIDGE = "outside-"  # the name of a call's bridge with the far end: outside-<call id>
# The talk of an answered number when someone else follows it (an agent's own call, the ACD):
# given the far leg, the bridge and the task that ends when the caller's channel does, it
# returns once the talk is over, saying who ended it.
FarTalk = Callable[[EventInbox, str, "asyncio.Task[None]"], Awaitable[str]]


class TrunkLine:
    """Dials outside numbers through one PJSIP trunk and bridges them with the caller.

    Every number goes through the tenant's dialling policy first (`policies`): this is the one
    place the trunk is dialled for a call, so no script can reach the carrier around it. What is
    dialled is the number as the policy judged it (E.164).

    The far leg's channel id is claimed in the router before it exists, so its StasisStart
    comes to this call and never starts a new one. `endpoint` is a template for the dial
    string (`PJSIP/{number}@trunk` dials the number at the trunk's aor contact).

    The far leg presents a caller ID (dialing/caller_ids.py's rules): the tenant's numbers come
    from `caller_ids`, `caller_id` is the trunk's own default (config `trunk.caller_id`). It is
    originated with it as callerId, which Asterisk sends as From (display name and user) and,
    with the trunk endpoint's `send_pai`, as P-Asserted-Identity.
    """

    def __init__(
        self,
        ari: AriClient,
        router: CallRouter,
        app: str,
        policies: DialPolicies,
        *,
        endpoint: str = "PJSIP/{number}@trunk",
        ringback: str | None = "tone:ring",
        caller_ids: CallerIdStore | None = None,
        caller_id: str | None = None,
        compliance: Compliance | None = None,
    ) -> None:
        self.ari = ari
        # Do-not-call lists and calling hours, judged after the policy (None: not checked).
        self.compliance = compliance
        self.router = router
        self.app = app
        self.policies = policies
        self.endpoint = endpoint
        self.ringback = ringback
        self.caller_ids = caller_ids or CallerIdStore(policies.db)
        self.trunk_caller_id = caller_id
        # The tenant's virtual numbers (virtualnumbers/), set by app.py: presentable too.
        self.virtual_numbers: Callable[[int], Awaitable[Sequence[str]]] | None = None

    async def _numbers(self, tenant_id: int) -> CallerIds:
        """The tenant's outbound numbers, and its virtual numbers (presentable, never the
        default: a contact is shown its own one, chosen for the call)."""
        ids = await self.caller_ids.caller_ids(tenant_id)
        if self.virtual_numbers is None:
            return ids
        extra = [number for number in await self.virtual_numbers(tenant_id)
                 if not ids.owns(number)]
        if not extra:
            return ids
        return CallerIds((*ids.numbers, *(OutboundNumber(number, "virtual") for number in extra)))

    async def presented_for_agent(self, tenant_id: int, *, chosen: str | None = None,
                                  queue_caller_ids: Iterable[str | None] = ()) -> Presented:
        """The caller ID of an agent's own outside call (NotOwnedNumber: `chosen` is not one
        of the tenant's numbers)."""
        return for_own_call(await self._numbers(tenant_id), chosen=chosen,
                            queue_caller_ids=queue_caller_ids, trunk=self.trunk_caller_id)

    async def presented_for_transfer(self, tenant_id: int, *, queue_caller_id: str | None,
                                     caller: str) -> Presented:
        """The caller ID of a caller handed over to an outside number."""
        return for_transfer(await self._numbers(tenant_id), queue_caller_id=queue_caller_id,
                            caller=caller)

    async def permit(self, tenant_id: int, number: str, dialer: Dialer | None, *,
                     call_id: str | None = None,
                     purpose: Purpose = Purpose.TRANSFER) -> Verdict:
        """The tenant's dialling policy on `number` for `dialer`, then compliance (do-not-call
        lists, calling hours for `purpose`: dialling/compliance.py); a refusal is journaled.
        A call never waits on the database: while it is out the policy as last read judges,
        and with none read yet the number is refused (`unavailable`)."""
        try:
            verdict = await self.policies.judge(tenant_id, number,
                                                role=dialer.role if dialer else None,
                                                last_known_ok=True)
        except StoreUnavailable as exc:
            log.warning("tenant %d: outside call to %r refused: %s", tenant_id, number[:64], exc)
            verdict = Verdict(False, "unavailable",
                              "the dialling policy cannot be read now; try again shortly")
        if not verdict.allowed:
            self.policies.journal_refusal(
                tenant_id, number, verdict, call_id=call_id,
                agent_user_id=dialer.user_id if dialer else None,
                by=dialer.username if dialer else None)
        elif (self.compliance is not None and verdict.number is not None
              and verdict.reason != "emergency"):
            ruling = await self.compliance.check(tenant_id, verdict.number, purpose=purpose)
            if not ruling.allowed:
                self.compliance.journal_refusal(
                    tenant_id, verdict.number, ruling, call_id=call_id,
                    agent_user_id=dialer.user_id if dialer else None,
                    by=dialer.username if dialer else None)
                return Verdict(False, ruling.reason, ruling.message, verdict.number,
                               verdict.kind, verdict.country)
        return verdict

    def dial_string(self, number: str) -> str:
        return self.endpoint.format(number=number)

    async def connect_number(self, call: Call, number: str, *, ring_seconds: int = 30,
                             dialer: Dialer | None = None,
                             caller_id: Presented | None = None,
                             purpose: Purpose = Purpose.TRANSFER,
                             talk: FarTalk | None = None) -> Outcome:
        """Ring `number` for up to `ring_seconds` if the call's tenant may dial it, presenting
        `caller_id` (None: the caller's own number passes through, as for an IVR transfer);
        once it answers, bridge it with the caller and return when either side hangs up
        (talked=True), else why it failed (`not_allowed`: the dialling policy refused it,
        journaled). `talk`, when given, follows the conversation instead (an agent's own call:
        the ACD's), and says who ended it."""
        verdict = await self.permit(call.record.tenant_id, number, dialer,
                                    call_id=call.record.id, purpose=purpose)
        if not verdict.allowed or verdict.number is None:
            return Outcome(False, "not_allowed")
        asked, number = number, verdict.number
        presented = caller_id or Presented(call.record.from_number, "caller")
        leg_id = uuid.uuid4().hex
        leg = self.router.claim(leg_id)
        caller_gone = asyncio.create_task(_until_gone(call.inbox), name=f"watch-{call.channel_id}")
        bridge_id: str | None = None
        ringback_id: str | None = None
        try:
            await call.note("transfer.dial", number=number, leg=leg_id, **presented.journal(),
                            **({"asked": asked} if asked != number else {}))
            try:
                await self.ari.channels.originate(
                    self.dial_string(number),
                    app=self.app,
                    app_args=STASIS_ARG,
                    channel_id=leg_id,
                    dial_timeout=ring_seconds,
                    caller_id=caller_id_header(presented.number),
                    originator=call.channel_id,
                )
            except AriError as exc:
                if exc.status == 404 and call.inbox.gone:
                    raise ChannelGone(call.channel_id, None, None) from exc
                await call.note("transfer.end", number=number, result="failed", error=str(exc))
                return Outcome(False, "failed")
            if self.ringback:
                ringback_id = f"{call.channel_id}-ringback-{leg_id[:8]}"
                with contextlib.suppress(AriError):
                    await self.ari.channels.play(
                        call.channel_id, self.ringback, playback_id=ringback_id
                    )
            answer = asyncio.create_task(
                leg.wait_for({"StasisStart", "ChannelDestroyed"}), name=f"ring-{leg_id}"
            )
            first = await _first(caller_gone, answer)
            if first is caller_gone:
                await call.note("transfer.end", number=number, result="caller_hangup")
                return Outcome(False, "caller_hangup")
            event = answer.result()
            if event.get("type") == "ChannelDestroyed":
                cause = event.get("cause")
                reason = _UNANSWERED.get(cause, "failed") if isinstance(cause, int) else "failed"
                await call.note("transfer.end", number=number, result=reason, cause=cause)
                return Outcome(False, reason, cause=cause if isinstance(cause, int) else None)
            if ringback_id is not None:
                with contextlib.suppress(AriError):
                    await self.ari.playbacks.stop(ringback_id)
                ringback_id = None
            bridge = await self.ari.bridges.create("mixing",
                                                   name=f"{OUTSIDE_BRIDGE}{call.record.id}")
            bridge_id = bridge["id"]
            await self.ari.bridges.add_channel(bridge_id, [call.channel_id, leg_id])
            await call.note("transfer.answered", number=number, leg=leg_id, bridge=bridge_id)
            if talk is not None:
                by = await talk(leg, bridge_id, caller_gone)
                await call.note("transfer.end", number=number, result="completed", by=by)
                return Outcome(True, "completed")
            far_gone = asyncio.create_task(_until_gone(leg), name=f"talk-{leg_id}")
            first = await _first(caller_gone, far_gone)
            by = "caller" if first is caller_gone else "far end"
            await call.note("transfer.end", number=number, result="completed", by=by)
            return Outcome(True, "caller_hangup" if first is caller_gone else "completed")
        finally:
            caller_gone.cancel()
            await self._clean_up(leg, bridge_id, ringback_id)

    async def _clean_up(
        self, leg: EventInbox, bridge_id: str | None, ringback_id: str | None
    ) -> None:
        if ringback_id is not None:
            with contextlib.suppress(AriError):
                await self.ari.playbacks.stop(ringback_id)
        if not leg.gone:
            leg.hangup.by_us = True
            try:
                await self.ari.channels.hangup(leg.channel_id)
            except AriError as exc:
                if exc.status != 404:
                    log.warning("far leg %s: hangup failed: %s", leg.channel_id, exc)
            # Wait for it to go, so a late StasisStart cannot look like a new call.
            await leg.drain_until_gone(within=5.0)
        self.router.release(leg.channel_id)
        if bridge_id is not None:
            with contextlib.suppress(AriError):
                await self.ari.bridges.destroy(bridge_id)


async def _until_gone(inbox: EventInbox) -> None:
    """Drop a channel's events until it leaves (ChannelGone ends the wait)."""
    with contextlib.suppress(ChannelGone):
        await inbox.wait_for(_never)


def _never(event: AriEvent) -> bool:
    return False


async def _first(watch: asyncio.Task[None], other: asyncio.Task[Any]) -> asyncio.Task[Any]:
    """Whichever ends first: `other` (its error raised) or `watch` (then `other` is cancelled).

    `watch` keeps running when `other` wins, so one watch covers the ringing and the talk.
    """
    done, _ = await asyncio.wait({watch, other}, return_when=asyncio.FIRST_COMPLETED)
    if other in done:
        other.result()
        return other
    other.cancel()
    with contextlib.suppress(asyncio.CancelledError, ChannelGone):
        await other
    return watch
