"""The life of a call that entered Stasis: record it, run what the number asks for, close it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.client import HangupReason
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.actor import ChannelGone, EventInbox, channel_field
from pbx_stasis.calls.follow import follower
from pbx_stasis.calls.records import CallLog
from pbx_stasis.store import CallRecord, Direction

log = logging.getLogger(__name__)

# How long a call that left Stasis waits for its ChannelDestroyed (the cause) before closing.
CAUSE_WAIT_S = 2.0

# Runs the part of a call between "record opened" and "hang up": IVR, queue, greeting...
CallScript = Callable[["Call"], Awaitable[None]]


@dataclass
class Call:
    """One call being handled: its first channel, its record and its event inbox."""

    ari: AriClient
    log: CallLog
    inbox: EventInbox
    record: CallRecord
    start: AriEvent
    adopted: bool = False

    @property
    def channel_id(self) -> str:
        return self.inbox.channel_id

    async def answer(self) -> None:
        await self.ari.channels.answer(self.channel_id)
        self.record = await self.log.answered(self.record)

    async def play(
        self, media: list[str], *, lang: str | None = None, within: float = 300.0
    ) -> AriEvent:
        """Play media and wait until it finished (or was stopped); returns PlaybackFinished."""
        playback_id = uuid.uuid4().hex
        await self.ari.channels.play(self.channel_id, media, lang=lang, playback_id=playback_id)

        def finished(event: AriEvent) -> bool:
            playback = event.get("playback")
            return (
                event.get("type") == "PlaybackFinished"
                and isinstance(playback, dict)
                and playback.get("id") == playback_id
            )

        return await self.inbox.wait_for(finished, within=within)

    async def note(self, event: str, **data: object) -> None:
        await self.log.note(self.record, event, data)

    async def hang_up(self, reason: HangupReason, cause: int, cause_text: str) -> None:
        """Hang up with a cause of our choosing (run_call's own hangup would say `normal`);
        `cause`/`cause_text`: the Q.850 cause Asterisk records for `reason`."""
        inbox = self.inbox
        inbox.settle()
        if inbox.gone or inbox.hung_up_remotely:
            return
        inbox.hangup.by_us = True  # so the call record says the app ended the call
        try:
            await self.ari.channels.hangup(self.channel_id, reason)
        except AriError as exc:
            if exc.status != 404:
                raise
        # Until it is gone, so run_call does not hang up a second time with its own cause.
        await inbox.drain_until_gone(within=5.0)
        if inbox.hangup.cause is None:  # StasisEnd ends the drain, ChannelDestroyed follows it
            inbox.hangup.cause, inbox.hangup.cause_text = cause, cause_text


def caller_number(start: AriEvent) -> str:
    number = channel_field(start, "caller", "number")
    return number if isinstance(number, str) and number else "anonymous"


def dialed_number(start: AriEvent) -> str:
    exten = channel_field(start, "dialplan", "exten")
    return exten if isinstance(exten, str) else ""


def stasis_args(start: AriEvent) -> list[str]:
    args = start.get("args")
    return [a for a in args if isinstance(a, str)] if isinstance(args, list) else []


async def run_call(
    ari: AriClient,
    calls: CallLog,
    inbox: EventInbox,
    start: AriEvent,
    *,
    tenant_id: int,
    script: CallScript,
    record: CallRecord | None = None,
    adopted: bool = False,
    from_number: str | None = None,
    to_number: str | None = None,
    call_id: str | None = None,
    agent_user_id: int | None = None,
) -> None:
    """Open (or adopt) the record, run `script`, then hang up and close the record.

    `tenant_id`: the tenant the call belongs to (of the number, or of the agent who placed it,
    `agent_user_id`); `from_number`: who the call is from when not the channel's caller (the
    caller ID an agent's outside call presents). Whoever ends the call, the record is closed
    exactly once with the real hangup cause.
    """
    args = stasis_args(start)
    if record is None:
        direction = Direction.OUTBOUND if args[:1] == ["outbound"] else Direction.INBOUND
        linkedid = channel_field(start, "linkedid")
        record = await calls.open(
            tenant_id=tenant_id,
            channel_id=inbox.channel_id,
            direction=direction,
            from_number=from_number or caller_number(start),
            to_number=to_number or dialed_number(start),
            call_id=call_id,
            linkedid=linkedid if isinstance(linkedid, str) else None,
            data={"args": args},
            agent_user_id=agent_user_id,
        )
    else:
        calls.track(record)
    call = Call(ari, calls, inbox, record, start, adopted=adopted)
    # Beside the script, not before it: the caller waits for nothing (calls/follow.py).
    app = start.get("application")
    following = (follower(ari, app).follow(inbox.channel_id) if isinstance(app, str)
                 else None)
    hung_up_by = "app"
    finished = False
    try:
        await script(call)
        finished = True
    except ChannelGone:
        hung_up_by = "caller"
    except AriError as exc:
        if exc.status == 404:  # the channel went away between two of our requests
            hung_up_by = "caller"
        else:
            log.warning("call %s: %s; hanging up", record.id, exc)
            await call.note("ERROR", error=str(exc))
    except TimeoutError:
        log.warning("call %s: timed out waiting for Asterisk; hanging up", record.id)
        await call.note("TIMEOUT")
    except Exception as exc:
        # A bug in a script must not leave the caller in silence or the record open.
        log.exception("call %s: script failed; hanging up", record.id)
        await call.note("ERROR", error=f"{type(exc).__name__}: {exc}")
    inbox.settle()
    if inbox.hung_up_remotely:
        hung_up_by = inbox.hangup.side()
    elif inbox.hangup.by_us and not finished:
        # Hung up by the app from outside the script (the ACD released the caller): Asterisk's
        # echo of that request is no system hangup, nor the caller's.
        hung_up_by = inbox.hangup.for_side
    elif (finished and call.record.agent_user_id is not None
          and call.record.direction == Direction.INBOUND):
        # The script ended after talking with an agent and the caller is still here: the agent
        # hung up (their leg leaving ends the conversation), and we release the caller.
        hung_up_by = "agent"
    if not inbox.gone:
        if hung_up_by in ("app", "agent"):  # we end the caller's channel
            inbox.hangup.by_us = True
        try:
            await ari.channels.hangup(inbox.channel_id)
        except AriError as exc:
            if exc.status != 404:  # already gone is fine: we still close the record
                log.warning("call %s: hangup failed: %s", record.id, exc)
        await inbox.drain_until_gone(within=5.0)
        if inbox.hangup.remote:  # the caller's hangup crossed ours (its event came late)
            hung_up_by = "caller"
    elif (not inbox.destroyed and inbox.hangup.cause is None and following is not None
          and await following):
        # The channel left (StasisEnd) before its ChannelDestroyed, which carries the cause
        # and comes because the app follows the channel (not when it was gone before that).
        await inbox.drain_until_destroyed(within=CAUSE_WAIT_S)
    hung_up_by, cause, cause_text = inbox.hangup.recorded(hung_up_by)
    await calls.close(
        call.record,  # as the call left it (answered, agent...)
        cause=cause,
        cause_text=cause_text,
        hung_up_by=hung_up_by,
    )


def greeting_script(sound: str) -> CallScript:
    """The default for a number without an IVR flow: answer, play a greeting, hang up."""

    async def greet(call: Call) -> None:
        if call.adopted:
            # We can't know how far it got before the restart; end it cleanly.
            await call.note("ADOPTED", action="hangup")
            return
        await call.answer()
        await call.note("PLAYBACK_START", media=f"sound:{sound}")
        finished = await call.play([f"sound:{sound}"])
        playback = finished.get("playback")
        state = playback.get("state") if isinstance(playback, dict) else None
        await call.note("PLAYBACK_FINISHED", media=f"sound:{sound}", state=state)

    return greet
