"""The IVR on a live call: drives the sans-IO Interpreter over ARI (play, DTMF, record), with
timers, HTTP lookups, and hand-offs to the ACD or the trunk.

One call, one task, one ordered stream of events: the call's own inbox. Timers and lookups run
beside the call and post their outcome into that same inbox, so the runner reads a single
stream and the interpreter sees events in the order they happened.

    script = flow_script(flowset, tools)      # a CallScript: run_call() opens and closes the call
    await run_call(ari, calls, inbox, start, tenant_id=..., script=script)
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import aiohttp

from pbx_stasis.ari import AriError
from pbx_stasis.ari.client import HangupReason, TerminateOn
from pbx_stasis.ari.models import AriEvent
from pbx_stasis.calls.actor import ChannelGone
from pbx_stasis.calls.handoff import (
    CallbackLine,
    OutsideLine,
    QueueDesk,
    QueueRequest,
)
from pbx_stasis.calls.handoff import CallbackRefused as NoCallback
from pbx_stasis.calls.inbound import Call, CallScript
from pbx_stasis.ivr.addresses import refused_url
from pbx_stasis.ivr.core import (
    Action,
    CallbackRefused,
    CallbackTaken,
    CallContext,
    CallerHungUp,
    CancelTimer,
    DtmfReceived,
    Enqueue,
    FlowJournalRow,
    Hangup,
    HttpLookup,
    Interpreter,
    IvrInput,
    LookupFailed,
    LookupResult,
    Play,
    PlaybackFinished,
    QueueAnswered,
    QueueExited,
    RequestCallback,
    SetLanguage,
    StartTimer,
    StopPlayback,
    TimerExpired,
    Transfer,
    TransferCompleted,
    TransferFailed,
    Voicemail,
    VoicemailFailed,
    VoicemailRecorded,
)
from pbx_stasis.ivr.model import FlowSet
from pbx_stasis.recording import RecordingKind, RecordingRecord, RecordingStore
from pbx_stasis.recording.store import audio_seconds, discard_in_asterisk
from pbx_stasis.store import NewEvent, utc_now
from pbx_stasis.voicemail.core import is_empty

log = logging.getLogger(__name__)

# Type of the events the runner posts into the call's inbox itself (timers, lookup answers).
LOCAL_EVENT = "pbx.ivr"
# A CRM answer larger than this is refused (a flow reads a few fields, never a document).
MAX_LOOKUP_BYTES = 1 << 20
# A message left in a queue's mailbox when the queue sends the caller there: its longest, and
# the silence that ends it.
QUEUE_VOICEMAIL_MAX_S = 180.0
QUEUE_VOICEMAIL_SILENCE_S = 5.0
# Voicemail failures _voicemail journals itself (ivr.warning, ivr.voicemail_empty).
NO_RECORDING_STORE, EMPTY_MESSAGE = "no recording store", "empty"
VOICEMAIL_NOTED = (NO_RECORDING_STORE, EMPTY_MESSAGE)
# After a hangup during a voicemail, how long Asterisk may take to close the file.
RECORDING_SETTLE_SECONDS = 3.0
# A hangup node's cause -> ARI hangup reason, and the Q.850 cause Asterisk records for it
# (read back from ChannelDestroyed on Asterisk 22).
_HANGUP_REASONS: Mapping[str, tuple[HangupReason, int, str]] = {
    "busy": ("busy", 17, "User busy"),
    "congestion": ("congestion", 34, "Circuit/channel congestion"),
    "no_answer": ("no_answer", 19, "User alerting, no answer"),
    "rejected": ("rejected", 21, "Call Rejected"),
    "unallocated": ("unallocated", 1, "Unallocated (unassigned) number"),
    "failure": ("failure", 38, "Network out of order"),
}


# Actions that need no answered channel. The call is answered before the first other one, so a
# flow that starts with a lookup keeps the caller on ringback meanwhile, and one that goes
# straight to a queue lets the queue answer while it already rings the first agent.
_BEFORE_ANSWER = (FlowJournalRow, StartTimer, CancelTimer, SetLanguage, HttpLookup, Enqueue)


@dataclass(frozen=True)
class FlowTools:
    """What a flow reaches outside the call: the web (lookups), recordings, the ACD, the trunk.

    `desk` and `line` may be None while the ACD or a trunk is not set up: a queue or transfer
    node then takes its failure path (reason `no_acd` / `no_trunk`) with an `ivr.warning`.
    `clock` feeds schedules and the `time`/`weekday`/`date` variables (injectable for tests).
    `public_http` (addresses.public_session) serves the lookups of tenants not opted in to
    internal addresses, refusing names that resolve inside; `http` those of tenants opted in
    (and all lookups when `public_http` is None, then with the literal-address check only).
    """

    http: aiohttp.ClientSession
    recordings: RecordingStore | None = None
    desk: QueueDesk | None = None
    line: OutsideLine | None = None
    callbacks: CallbackLine | None = None  # the callback node's
    clock: Callable[[], datetime] = utc_now
    recording_format: str = "wav"
    ring_seconds: int = 30
    public_http: aiohttp.ClientSession | None = None
    # The node each call walking a flow is at now, by call id (the live calls' stage).
    nodes: dict[str, str] = field(default_factory=dict)


def flow_script(
    flowset: FlowSet,
    tools: FlowTools,
    *,
    version: int | None = None,
    internal_lookups: bool = False,
) -> CallScript:
    """A CallScript walking each call through `flowset` (the object, not the live version: a
    call keeps the FlowSet it started with whatever is applied meanwhile).

    `internal_lookups`: the tenant may look up internal addresses (ivr/addresses.py)."""

    async def script(call: Call) -> None:
        await run_flow(call, flowset, tools, version=version, internal_lookups=internal_lookups)

    return script


async def run_flow(
    call: Call,
    flowset: FlowSet,
    tools: FlowTools,
    *,
    version: int | None = None,
    internal_lookups: bool = False,
) -> None:
    """Walk the call through the flow its DID selects (answered when an action needs it).

    Returns when the flow hangs up (run_call then hangs up the channel), or when the call was
    handed off and came back done. Raises ChannelGone when the caller leaves, after the journal
    got its `ivr.leave` / `ivr.end` lines.
    """
    await FlowRun(call, flowset, tools, version, internal_lookups).run()


class FlowRun:
    """One call walking one flow: executes the interpreter's actions, feeds it events."""

    def __init__(
        self,
        call: Call,
        flowset: FlowSet,
        tools: FlowTools,
        version: int | None = None,
        internal_lookups: bool = False,
    ) -> None:
        self.call = call
        self.internal_lookups = internal_lookups
        self.ari = call.ari
        self.tools = tools
        self.version = version
        self.interp = Interpreter(
            flowset,
            CallContext(
                caller=call.record.from_number,
                did=call.record.to_number,
                start=tools.clock(),
                call_id=call.record.id,
            ),
        )
        self.prefix = f"{call.channel_id}-ivr-"
        self.hangup_cause = "normal"
        self._journal: list[NewEvent] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_id: int | None = None
        self._lookup: asyncio.Task[None] | None = None
        self._last_key: tuple[object, object] | None = None
        self._started = False
        self._ended = False  # the call ended outside the flow (a queue's voicemail)

    async def run(self) -> None:
        call = self.call
        if call.adopted:
            # Where the caller was in the flow before the restart is not known: end cleanly
            # rather than replay prompts the caller already heard.
            await call.note("ivr.adopted", action="hangup")
            return
        try:
            actions = self.interp.start(self.tools.clock())
            self._started = True
            while True:
                follow = await self._carry_out(actions)
                if self.interp.done or self._ended:
                    break
                event = follow if follow is not None else await self._next_event()
                actions = self.interp.feed(event, self.tools.clock())
        except ChannelGone:
            self._caller_left()
            raise
        except AriError as exc:
            if exc.status == 404:  # the channel vanished between two requests
                self._caller_left()
            raise
        finally:
            self._stop_side_tasks()
            self._flush()
            self.tools.nodes.pop(self.call.record.id, None)
        cause = _HANGUP_REASONS.get(self.hangup_cause)
        if cause is not None:
            await self.call.hang_up(*cause)

    # --- actions ------------------------------------------------------------------------------

    async def _carry_out(self, actions: list[Action]) -> IvrInput | None:
        """Execute actions in order; a hand-off's answer is returned to be fed next."""
        follow: IvrInput | None = None
        channel = self.call.channel_id
        for action in actions:
            if self.call.record.answered_at is None and not isinstance(action, _BEFORE_ANSWER):
                await self.call.answer()
            if isinstance(action, FlowJournalRow):
                self._note(action.event, action.data)
            elif isinstance(action, Play):
                await self.ari.channels.play(
                    channel,
                    list(action.media),
                    lang=action.language,
                    playback_id=f"{self.prefix}{action.playback_id}",
                )
            elif isinstance(action, StopPlayback):
                try:
                    await self.ari.playbacks.stop(f"{self.prefix}{action.playback_id}")
                except AriError as exc:
                    if exc.status != 404:  # 404: it had just finished; nothing to stop
                        raise
            elif isinstance(action, StartTimer):
                self._start_timer(action)
            elif isinstance(action, CancelTimer):
                if self._timer is not None and self._timer_id == action.timer_id:
                    self._timer.cancel()
                    self._timer = None
            elif isinstance(action, SetLanguage):
                await self.ari.channels.set_variable(channel, "CHANNEL(language)", action.language)
                # the transcription worker picks the call's speech engine by it (analytics)
                self._note("ivr.language", {"language": action.language})
            elif isinstance(action, HttpLookup):
                self._lookup = asyncio.create_task(
                    self._http_lookup(action), name=f"ivr-lookup-{channel}"
                )
            elif isinstance(action, Enqueue):
                self._flush()
                follow = await self._enqueue(action)
            elif isinstance(action, RequestCallback):
                self._flush()
                follow = await self._callback(action)
            elif isinstance(action, Transfer):
                self._flush()
                follow = await self._transfer(action)
            elif isinstance(action, Voicemail):
                self._flush()
                follow = await self._voicemail(action)
            else:
                assert isinstance(action, Hangup)
                self.hangup_cause = action.cause
        # Queued after the prompt was asked for: the journal never delays what the caller hears.
        self._flush()
        return follow

    def _start_timer(self, action: StartTimer) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_id = action.timer_id
        self._timer = asyncio.get_running_loop().call_later(
            action.seconds, self._post, TimerExpired(action.timer_id)
        )

    def _post(self, event: IvrInput) -> None:
        self.call.inbox.put({"type": LOCAL_EVENT, "event": event})

    async def _http_lookup(self, action: HttpLookup) -> None:
        result: IvrInput
        http = self.tools.http
        if not self.internal_lookups:
            # Checked again at each call: the flow was validated against the url as written,
            # and for a stored version perhaps under another configuration.
            refused = refused_url(action.url)
            if refused is not None:
                self._post(LookupFailed(f"refused: {refused}"))
                return
            http = self.tools.public_http or http
        try:
            async with http.request(
                action.method,
                action.url,
                headers=dict(action.headers),
                json=dict(action.body) if action.body is not None else None,
                timeout=aiohttp.ClientTimeout(total=action.timeout),
                # A redirect to a literal address would skip the checks above (aiohttp resolves
                # no literal): a tenant not opted in gets the 3xx itself, i.e. on_failure.
                allow_redirects=self.internal_lookups,
            ) as response:
                raw = await response.content.read(MAX_LOOKUP_BYTES + 1)
                if len(raw) > MAX_LOOKUP_BYTES:
                    result = LookupFailed("answer too large")
                else:
                    try:
                        body: object = json.loads(raw) if raw else None
                    except ValueError:
                        body = None
                    result = LookupResult(response.status, body)
        except TimeoutError:
            result = LookupFailed("timeout")
        except (aiohttp.ClientError, ValueError) as exc:
            result = LookupFailed(_describe(exc))
        self._post(result)

    async def _enqueue(self, action: Enqueue) -> IvrInput | None:
        desk = self.tools.desk
        if desk is None:
            self._note("ivr.warning", {"message": "no ACD to take the call", "queue": action.queue})
            return QueueExited("no_acd")
        outcome = await desk.enqueue(
            self.call,
            QueueRequest(
                queue=action.queue,
                priority=action.priority,
                skills=dict(action.skills),
                max_wait=action.max_wait,
            ),
        )
        if outcome.overflow_kind == "voicemail" and outcome.overflow_target:
            # The queue sends the caller to its mailbox (a supervisor, or its overflow): they
            # leave a message there, and the call ends with it.
            left = await self._voicemail(Voicemail("queue", outcome.overflow_target,
                                                   QUEUE_VOICEMAIL_MAX_S,
                                                   QUEUE_VOICEMAIL_SILENCE_S, beep=True))
            if isinstance(left, VoicemailFailed) and left.reason not in VOICEMAIL_NOTED:
                self._note("ivr.warning", {"message": f"voicemail failed: {left.reason}",
                                           "queue": action.queue,
                                           "mailbox": outcome.overflow_target})
            self._ended = True
            return None
        if outcome.talked:
            return QueueAnswered(outcome.agent or "")
        if outcome.reason == "caller_hangup":
            return CallerHungUp()
        return QueueExited(outcome.reason)

    async def _callback(self, action: RequestCallback) -> IvrInput:
        callbacks = self.tools.callbacks
        if callbacks is None:
            self._note("ivr.warning", {"message": "no callbacks here", "queue": action.queue})
            return CallbackRefused("no_callbacks")
        try:
            return CallbackTaken(await callbacks.ask(self.call, action.queue, action.delay))
        except NoCallback as refused:
            return CallbackRefused(refused.reason)

    async def _transfer(self, action: Transfer) -> IvrInput:
        if action.to == "agent":
            if self.tools.desk is None:
                self._note("ivr.warning", {"message": "no ACD to reach agents"})
                return TransferFailed("no_acd")
            outcome = await self.tools.desk.connect_agent(self.call, action.target)
        else:
            if self.tools.line is None:
                self._note("ivr.warning", {"message": "no trunk to dial out"})
                return TransferFailed("no_trunk")
            outcome = await self.tools.line.connect_number(
                self.call, action.target, ring_seconds=self.tools.ring_seconds
            )
        if outcome.talked:
            return TransferCompleted()
        if outcome.reason == "caller_hangup":
            return CallerHungUp()
        return TransferFailed(outcome.reason)

    async def _voicemail(self, action: Voicemail) -> IvrInput:
        store = self.tools.recordings
        if store is None:
            self._note("ivr.warning", {"message": "no recordings directory for voicemail"})
            return VoicemailFailed(NO_RECORDING_STORE)
        name = f"pbx-vm-{secrets.token_hex(12)}"
        fmt = self.tools.recording_format
        started = utc_now()
        await self.ari.channels.record(
            self.call.channel_id,
            name,
            fmt,
            max_duration_seconds=math.ceil(action.max_seconds),
            max_silence_seconds=math.ceil(action.max_silence),
            if_exists="fail",
            beep=action.beep,
            terminate_on=cast(TerminateOn, action.terminate_on),
        )

        hung_up = False

        def ended(event: AriEvent) -> bool:
            nonlocal hung_up
            kind = event.get("type")
            if kind == "ChannelHangupRequest" and not event.get("soft"):
                hung_up = True  # the caller hanging up is what ends the recording
            recording = event.get("recording")
            return (
                kind in ("RecordingFinished", "RecordingFailed")
                and isinstance(recording, dict)
                and recording.get("name") == name
            )

        try:
            finished = await self.call.inbox.wait_for(ended)
        except ChannelGone:
            # Hanging up is how most callers end a message: keep it, then let the call unwind.
            if await self._recording_stored(name):
                await self._keep_voicemail(store, action, name, fmt, started, None)
            raise
        recording = finished.get("recording") or {}
        if finished.get("type") == "RecordingFailed":
            return VoicemailFailed(str(recording.get("cause") or "recording failed"))
        duration = recording.get("duration")
        kept = await self._keep_voicemail(
            store, action, name, fmt, started, float(duration) if duration is not None else None
        )
        if hung_up:
            # Asterisk ends the recording because the caller hung up (ChannelHangupRequest
            # comes first): the caller left in this node, not in the next one.
            inbox = self.call.inbox
            raise ChannelGone(self.call.channel_id, inbox.hangup.cause, inbox.hangup.cause_text)
        if kept is None:
            return VoicemailFailed(EMPTY_MESSAGE)
        return VoicemailRecorded(kept.id, kept.duration_seconds)

    async def _recording_stored(self, name: str) -> bool:
        deadline = asyncio.get_running_loop().time() + RECORDING_SETTLE_SECONDS
        while True:
            try:
                await self.ari.recordings.get_stored(name)
                return True
            except AriError as exc:
                if exc.status != 404 or asyncio.get_running_loop().time() > deadline:
                    return False
            await asyncio.sleep(0.1)

    async def _keep_voicemail(
        self,
        store: RecordingStore,
        action: Voicemail,
        name: str,
        fmt: str,
        started: datetime,
        duration: float | None,
    ) -> RecordingRecord | None:
        """Keep the message, unless it is empty (voicemail.core.is_empty): then it is only
        a journal line (ivr.voicemail_empty) and None."""
        record = self.call.record
        data = await self.ari.recordings.stored_file(name)
        seconds = audio_seconds(data, fmt, duration)
        mailbox = {"mailbox_kind": action.mailbox_kind, "mailbox": action.mailbox}
        if is_empty(seconds):
            await discard_in_asterisk(self.ari, name, None)
            self._note("ivr.voicemail_empty", {"duration": seconds, **mailbox})
            self._flush()
            return None
        kept = await store.keep(
            data,
            name=name,
            fmt=fmt,
            tenant_id=record.tenant_id,
            call_id=record.id,
            kind=RecordingKind.VOICEMAIL,
            started_at=started,
            duration=duration,
            mailbox_kind=action.mailbox_kind,
            mailbox=action.mailbox,
        )
        await discard_in_asterisk(self.ari, name, kept.id)
        self._note(
            "ivr.voicemail",
            {
                "recording": kept.id,
                "duration": kept.duration_seconds,
                "size": kept.size_bytes,
                **mailbox,
            },
        )
        self._flush()
        return kept

    # --- events -------------------------------------------------------------------------------

    def _relevant(self, event: AriEvent) -> bool:
        kind = event.get("type")
        if kind == LOCAL_EVENT or kind == "ChannelDtmfReceived":
            return True
        if kind == "PlaybackFinished":
            playback = event.get("playback")
            if isinstance(playback, dict):
                pid = playback.get("id")
                return isinstance(pid, str) and pid.startswith(self.prefix)
        return False

    async def _next_event(self) -> IvrInput:
        while True:
            event = await self.call.inbox.wait_for(self._relevant)
            kind = event.get("type")
            inbox = self.call.inbox
            if kind == "PlaybackFinished" and inbox.hangup.remote:
                # Asterisk ends the prompt because the caller hung up (ChannelHangupRequest
                # comes first): the caller left in this node, and is not queued (or led on)
                # as if they had heard it to the end.
                raise ChannelGone(self.call.channel_id, inbox.hangup.cause,
                                  inbox.hangup.cause_text)
            if kind == LOCAL_EVENT:
                return cast(IvrInput, event["event"])
            if kind == "ChannelDtmfReceived":
                # Asterisk sends a channel's events twice when the app is also subscribed to
                # its endpoint (older versions subscribed to endpoint:PJSIP, a subscription
                # that outlives the socket until acd/restore.py drops it): a key counted twice
                # would answer the next menu too. Two real keys never share a timestamp (ms).
                stamp = (event.get("timestamp"), event.get("digit"))
                if stamp == self._last_key:
                    continue
                self._last_key = stamp
                return DtmfReceived(str(event.get("digit", "")))
            pid = str(event["playback"]["id"])[len(self.prefix) :]
            if pid.isdigit():
                return PlaybackFinished(int(pid))

    def _caller_left(self) -> None:
        if self._started and not self.interp.done:
            for action in self.interp.feed(CallerHungUp(), self.tools.clock()):
                if isinstance(action, FlowJournalRow):
                    self._note(action.event, action.data)

    def _stop_side_tasks(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lookup is not None and not self._lookup.done():
            self._lookup.cancel()

    # --- journal ------------------------------------------------------------------------------

    def _note(self, event: str, data: Mapping[str, object]) -> None:
        values = dict(data)
        if event == "ivr.enter" and isinstance(values.get("node"), str):
            self.tools.nodes[self.call.record.id] = str(values["node"])
        if event == "ivr.start" and self.version is not None:
            values["version"] = self.version
        record = self.call.record
        self._journal.append(
            NewEvent(
                tenant_id=record.tenant_id,
                event=event,
                call_id=record.id,
                data=values,
                at=utc_now(),
            )
        )

    def _flush(self) -> None:
        """Queue the journal lines gathered so far on the database's write-behind queue (the
        same queue as the call record and the ACD's lines: they are stored in this order)."""
        lines, self._journal = self._journal, []
        self.call.log.writes.append(lines)

def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP error {exc.status}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["LOCAL_EVENT", "FlowRun", "FlowTools", "flow_script", "run_flow"]
