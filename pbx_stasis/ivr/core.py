"""The IVR interpreter: walks one call through a flow, sans-IO (events in, actions out).

Like h11, the interpreter never touches a channel, a socket or the clock. The runner (ARI side)
and the simulator drive the very same `Interpreter`:

    interp = Interpreter(flowset, CallContext(caller, did, start=now))
    actions = interp.start()
    while not interp.done:
        execute(actions)                          # the runner's job
        actions = interp.feed(next_event(), now)  # `now` feeds the injectable clock

`start()` and `feed()` return a list of actions, to be executed in order. For each action: what
the runner does, then the event(s) it must feed back (none when not listed).

    FlowJournalRow(event, data)
        append to call_events.
    SetLanguage(language)
        set CHANNEL(language).
    Play(playback_id, media, language, barge_in)
        one ARI play request with every media URI (ARI's playbackId may embed playback_id);
        -> PlaybackFinished(playback_id) when it ends, and every DTMF as DtmfReceived(digit).
    StopPlayback(playback_id)
        stop that playback (its PlaybackFinished may still come: it is ignored).
    StartTimer(timer_id, seconds)
        one timer per call, replacing any pending one; -> TimerExpired(timer_id).
    CancelTimer(timer_id)
        cancel it if it is still pending.
    HttpLookup(method, url, headers, body, timeout)
        HTTP request (body as JSON), at most `timeout` seconds;
        -> LookupResult(status, decoded JSON body) or LookupFailed(reason).
    Enqueue(queue, priority, skills, max_wait)
        hand the call to the ACD. When `interp.done` is then true the ACD owns the call and nothing
        comes back; else -> QueueAnswered(agent) or QueueExited(reason) when the ACD returns it.
    RequestCallback(queue, delay)
        a callback to the caller's number joins `queue` after `delay` seconds;
        -> CallbackTaken(callback_id) or CallbackRefused(reason).
    Transfer(to, target), to = agent | number
        connect the call there. When `interp.done`: nothing comes back;
        else -> TransferCompleted() or TransferFailed(reason).
    Voicemail(mailbox_kind, mailbox, max_seconds, max_silence, beep, terminate_on)
        ARI record (beep, maxDurationSeconds, maxSilenceSeconds, terminateOn), store the
        recording; -> VoicemailRecorded(name, duration) or VoicemailFailed(reason).
    Hangup(cause)
        hang the channel up.

At any time the runner feeds CallerHungUp() when the caller leaves, and may feed DtmfReceived for
every ChannelDtmfReceived: digits are taken when a menu or collect waits for them, stop a barge-in
playback (a `play` node keeps the digit as type-ahead for the next menu/collect), are kept as
type-ahead while a lookup runs, and are dropped otherwise (e.g. during a prompt without barge-in).
Events that do not fit the current state (a stale playback id or timer id, a second answer) are
ignored, so races between Asterisk and the runner are harmless. Playback and timer ids are unique
within one call only (prefix them with the channel id for ARI). After CallerHungUp the journal is
closed and no terminal action follows. Transfers to another flow of the same FlowSet happen inside
the interpreter and need nothing from the runner.

Time: schedules and the `time`/`weekday`/`date` variables read the clock given to `start()`/`feed()`
(or the call's start time); the core never calls datetime.now().

Journal: `ivr.start`, `ivr.enter` / `ivr.leave` for every node (flow, node, kind, step; leave adds
result, digits, next and details), `ivr.input` for each invalid or timed-out menu/collect attempt,
`ivr.flow` on a transfer to another flow, `ivr.warning` for runtime values that could not be used,
`ivr.step_limit` when the flow's `max_steps` is reached, and `ivr.end` with the outcome. Every
`ivr.enter` has its `ivr.leave`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal
from urllib.parse import quote

from pbx_stasis.ivr.errors import NoFlowForDid
from pbx_stasis.ivr.expr import Template, Value
from pbx_stasis.ivr.model import (
    WEEKDAYS,
    BranchNode,
    CallbackNode,
    CollectNode,
    Digits,
    Flow,
    FlowSet,
    HangupNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    Node,
    Number,
    PlayNode,
    PromptItem,
    PromptRef,
    QueueNode,
    ScheduleNode,
    SetNode,
    Sound,
    TransferNode,
    VoicemailNode,
)

JsonScalar = str | int | float | bool | None
KEYS = frozenset("0123456789*#")
TYPEAHEAD_LIMIT = 32
_SOUND_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_/-]*\Z")

# --- actions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowJournalRow:
    event: str
    data: Mapping[str, JsonScalar]


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class Play:
    """Media URIs as ARI takes them: `sound:en/pbx/welcome`, `digits:42`, `number:7`."""

    playback_id: int
    media: tuple[str, ...]
    language: str
    barge_in: bool


@dataclass(frozen=True)
class StopPlayback:
    playback_id: int


@dataclass(frozen=True)
class StartTimer:
    timer_id: int
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    timer_id: int


@dataclass(frozen=True)
class HttpLookup:
    method: Literal["GET", "POST"]
    url: str
    headers: tuple[tuple[str, str], ...]
    body: Mapping[str, JsonScalar] | None  # sent as JSON with POST
    timeout: float


@dataclass(frozen=True)
class Enqueue:
    queue: str
    priority: int
    skills: Mapping[str, int]
    max_wait: float | None


@dataclass(frozen=True)
class RequestCallback:
    queue: str
    delay: float  # seconds before the callback joins the queue


@dataclass(frozen=True)
class Transfer:
    to: Literal["agent", "number"]
    target: str


@dataclass(frozen=True)
class Voicemail:
    mailbox_kind: Literal["queue", "agent"] | None  # None: the flow's general mailbox
    mailbox: str | None
    max_seconds: float
    max_silence: float
    beep: bool
    terminate_on: str = "#"


@dataclass(frozen=True)
class Hangup:
    cause: str  # normal, busy, congestion, no_answer, rejected, unallocated, failure


Action = (
    FlowJournalRow
    | SetLanguage
    | Play
    | StopPlayback
    | StartTimer
    | CancelTimer
    | HttpLookup
    | Enqueue
    | RequestCallback
    | Transfer
    | Voicemail
    | Hangup
)
TERMINAL_ACTIONS = (Hangup, Enqueue, Transfer)

# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybackFinished:
    playback_id: int


@dataclass(frozen=True)
class DtmfReceived:
    digit: str


@dataclass(frozen=True)
class TimerExpired:
    timer_id: int


@dataclass(frozen=True)
class LookupResult:
    status: int
    body: object  # the decoded JSON document (None when the body was not JSON)


@dataclass(frozen=True)
class LookupFailed:
    reason: str  # e.g. "timeout", "connection refused"


@dataclass(frozen=True)
class QueueAnswered:
    agent: str = ""


@dataclass(frozen=True)
class QueueExited:
    reason: str  # e.g. "timeout", "full", "no_agents"


@dataclass(frozen=True)
class CallbackTaken:
    callback_id: str


@dataclass(frozen=True)
class CallbackRefused:
    reason: str  # e.g. "not_allowed", "no_callbacks", "unknown_queue"


@dataclass(frozen=True)
class TransferCompleted:
    pass


@dataclass(frozen=True)
class TransferFailed:
    reason: str


@dataclass(frozen=True)
class VoicemailRecorded:
    name: str  # the stored recording's name
    duration: float


@dataclass(frozen=True)
class VoicemailFailed:
    reason: str


@dataclass(frozen=True)
class CallerHungUp:
    pass


IvrInput = (
    PlaybackFinished
    | DtmfReceived
    | TimerExpired
    | LookupResult
    | LookupFailed
    | QueueAnswered
    | QueueExited
    | CallbackTaken
    | CallbackRefused
    | TransferCompleted
    | TransferFailed
    | VoicemailRecorded
    | VoicemailFailed
    | CallerHungUp
)

# --- call -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallContext:
    caller: str
    did: str
    start: datetime  # aware; the clock until an event brings a newer one
    call_id: str = ""


class Wait(StrEnum):
    """What the interpreter waits for."""

    START = "start"
    PLAYBACK = "playback"
    DIGITS = "digits"
    LOOKUP = "lookup"
    QUEUE = "queue"
    CALLBACK = "callback"
    TRANSFER = "transfer"
    RECORDING = "recording"
    DONE = "done"


class Outcome(StrEnum):
    HUNG_UP = "hung_up"  # a hangup node (or a dead end at run time)
    CALLER_HUNG_UP = "caller_hung_up"
    ENQUEUED = "enqueued"  # the ACD owns the call
    TRANSFERRED = "transferred"
    STEP_LIMIT_EXCEEDED = "step_limit_exceeded"


@dataclass
class _Input:
    """Progress of a menu or collect node."""

    attempt: int = 0
    digits: str = ""


@dataclass
class _Pending:
    playback: int | None = None
    playback_barge_in: bool = False
    timer: int | None = None
    next_node: str | None = None
    ids: int = 0
    extra: dict[str, JsonScalar] = field(default_factory=dict)


class Interpreter:
    """One call walking one FlowSet. Not thread-safe; one per call."""

    def __init__(self, flowset: FlowSet, context: CallContext, flow: str | None = None) -> None:
        if context.start.tzinfo is None:
            raise ValueError("CallContext.start must be an aware datetime")
        chosen = flowset.flows.get(flow) if flow is not None else flowset.flow_for_did(context.did)
        if chosen is None:
            raise NoFlowForDid(flow if flow is not None else context.did)
        self._flowset = flowset
        self._context = context
        self._flow: Flow = chosen
        self._now = context.start
        self._vars: dict[str, Value] = dict(chosen.variables)
        self._language = chosen.default_language
        self._started = False
        self._wait = Wait.START
        self._node: Node | None = None
        self._input = _Input()
        self._typeahead: list[str] = []
        self._p = _Pending()
        self._steps = 0
        self._outcome: Outcome | None = None

    # --- read-only view ---------------------------------------------------------------------

    @property
    def flow(self) -> Flow:
        return self._flow

    @property
    def node(self) -> str | None:
        return None if self._node is None else self._node.name

    @property
    def waiting(self) -> Wait:
        return self._wait

    @property
    def done(self) -> bool:
        return self._wait is Wait.DONE

    @property
    def outcome(self) -> Outcome | None:
        return self._outcome

    @property
    def steps(self) -> int:
        return self._steps

    @property
    def language(self) -> str:
        return self._language

    @property
    def variables(self) -> Mapping[str, Value]:
        return MappingProxyType(dict(self._vars))

    # --- driving ------------------------------------------------------------------------------

    def start(self, now: datetime | None = None) -> list[Action]:
        if self._started:
            raise RuntimeError("start() was already called")
        self._started = True
        if now is not None:
            self._now = now
        out: list[Action] = [
            FlowJournalRow(
                "ivr.start",
                {
                    "flow": self._flow.name,
                    "did": self._context.did,
                    "caller": self._context.caller,
                    "language": self._language,
                },
            ),
            SetLanguage(self._language),
        ]
        self._p.next_node = self._flow.entry
        self._run(out)
        return out

    def feed(self, event: IvrInput, now: datetime | None = None) -> list[Action]:
        if not self._started:
            raise RuntimeError("feed() before start()")
        if now is not None:
            self._now = now
        out: list[Action] = []
        if self._wait is Wait.DONE:
            return out
        if isinstance(event, CallerHungUp):
            self._caller_hung_up(out)
            return out
        handled = self._dispatch(event, out)
        if handled:
            self._run(out)
        return out

    def _dispatch(self, event: IvrInput, out: list[Action]) -> bool:
        w, node, p = self._wait, self._node, self._p
        if isinstance(event, PlaybackFinished):
            if w is Wait.PLAYBACK and event.playback_id == p.playback:
                p.playback = None
                self._after_playback(out)
                return True
        elif isinstance(event, DtmfReceived):
            return self._dtmf(event.digit, out)
        elif isinstance(event, TimerExpired):
            if w is Wait.DIGITS and event.timer_id == p.timer:
                p.timer = None
                self._input_timeout(out)
                return True
        elif isinstance(event, LookupResult | LookupFailed):
            if w is Wait.LOOKUP and isinstance(node, LookupNode):
                self._lookup_done(node, event, out)
                return True
        elif isinstance(event, QueueAnswered | QueueExited):
            if w is Wait.QUEUE and isinstance(node, QueueNode):
                if isinstance(event, QueueAnswered):
                    self._leave(out, "answered", None, agent=event.agent)
                    self._finish(Outcome.ENQUEUED, out)
                else:
                    self._leave(out, "exited", node.next, reason=event.reason)
                return True
        elif isinstance(event, CallbackTaken | CallbackRefused):
            if w is Wait.CALLBACK and isinstance(node, CallbackNode):
                if isinstance(event, CallbackTaken):
                    self._leave(out, "taken", node.next, callback=event.callback_id)
                else:
                    self._leave(out, "refused", node.on_failure, reason=event.reason)
                return True
        elif isinstance(event, TransferCompleted | TransferFailed):
            if w is Wait.TRANSFER and isinstance(node, TransferNode):
                if isinstance(event, TransferCompleted):
                    self._leave(out, "transferred", None)
                    self._finish(Outcome.TRANSFERRED, out)
                else:
                    self._leave(out, "failed", node.on_failure, reason=event.reason)
                return True
        elif isinstance(event, VoicemailRecorded | VoicemailFailed):
            if w is Wait.RECORDING and isinstance(node, VoicemailNode):
                if isinstance(event, VoicemailRecorded):
                    self._leave(
                        out, "recorded", node.next, recording=event.name, duration=event.duration
                    )
                else:
                    self._leave(out, "failed", node.on_failure, reason=event.reason)
                return True
        return False

    def _run(self, out: list[Action]) -> None:
        """Enter nodes until one waits for an event or the call is over."""
        while self._p.next_node is not None and self._wait is not Wait.DONE:
            name = self._p.next_node
            self._p.next_node = None
            self._enter(name, out)

    # --- helpers ------------------------------------------------------------------------------

    def _env(self, name: str) -> Value:
        if name == "caller":
            return self._context.caller
        if name == "did":
            return self._context.did
        if name == "flow":
            return self._flow.name
        if name == "language":
            return self._language
        if name in ("time", "weekday", "date"):
            local = self._now.astimezone(self._flow.timezone)
            if name == "time":
                return local.strftime("%H:%M")
            if name == "weekday":
                return WEEKDAYS[local.weekday()]
            return local.date().isoformat()
        return self._vars.get(name, "")

    def _render(self, tpl: Template, escape: bool = False) -> str:
        return tpl.render(self._env, (lambda s: quote(s, safe="")) if escape else None)

    def _warn(self, out: list[Action], message: str) -> None:
        out.append(
            FlowJournalRow(
                "ivr.warning",
                {"flow": self._flow.name, "node": self.node, "message": message},
            )
        )

    def _new_id(self) -> int:
        self._p.ids += 1
        return self._p.ids

    def _media(self, items: Sequence[PromptItem], out: list[Action]) -> tuple[str, ...]:
        media: list[str] = []
        for item in items:
            if isinstance(item, PromptRef):
                wanted = item.language or self._language
                found = self._flow.resolve_prompt(item.name, wanted)
                if found is None:
                    self._warn(out, f"prompt '{item.name}' has no file for '{wanted}'")
                    continue
                lang, pf = found
                media.append(f"sound:{lang}/{pf.file}")
            elif isinstance(item, Sound):
                name = self._render(item.name)
                if _SOUND_NAME.match(name):
                    media.append(f"sound:{name}")
                else:
                    self._warn(out, f"cannot play sound '{name}'")
            elif isinstance(item, Digits):
                value = self._render(item.value)
                if value and all(c in KEYS for c in value):
                    media.append(f"digits:{value}")
                else:
                    self._warn(out, f"cannot say digits '{value}'")
            else:
                assert isinstance(item, Number)
                value = self._render(item.value).strip()
                if re.fullmatch(r"-?[0-9]{1,15}", value):
                    media.append(f"number:{int(value)}")
                else:
                    self._warn(out, f"cannot say number '{value}'")
        return tuple(media)

    def _play(self, items: Sequence[PromptItem], barge_in: bool, out: list[Action]) -> None:
        """Play prompts and wait for them; with nothing playable, carry straight on."""
        media = self._media(items, out)
        if not media:
            self._after_playback(out)
            return
        pid = self._new_id()
        self._p.playback = pid
        self._p.playback_barge_in = barge_in
        self._wait = Wait.PLAYBACK
        out.append(Play(pid, media, self._language, barge_in))

    def _start_timer(self, seconds: float, out: list[Action]) -> None:
        tid = self._new_id()
        self._p.timer = tid
        self._wait = Wait.DIGITS
        out.append(StartTimer(tid, seconds))

    def _cancel_timer(self, out: list[Action]) -> None:
        if self._p.timer is not None:
            out.append(CancelTimer(self._p.timer))
            self._p.timer = None

    def _base(self) -> dict[str, JsonScalar]:
        node = self._node
        assert node is not None
        return {"flow": self._flow.name, "node": node.name, "kind": node.kind}

    def _enter(self, name: str, out: list[Action]) -> None:
        node = self._flow.nodes.get(name)
        if self._steps >= self._flow.max_steps:
            out.append(
                FlowJournalRow(
                    "ivr.step_limit",
                    {
                        "flow": self._flow.name,
                        "node": name,
                        "steps": self._steps,
                        "max_steps": self._flow.max_steps,
                    },
                )
            )
            self._finish(Outcome.STEP_LIMIT_EXCEEDED, out, Hangup("normal"))
            return
        if node is None:  # only possible with a FlowSet built by hand, not by the loader
            self._warn(out, f"no node '{name}'")
            self._finish(Outcome.HUNG_UP, out, Hangup("failure"))
            return
        self._cancel_timer(out)
        self._steps += 1
        self._node = node
        self._input = _Input()
        out.append(FlowJournalRow("ivr.enter", {**self._base(), "step": self._steps}))
        self._begin(node, out)

    def _leave(
        self, out: list[Action], result: str, next_node: str | None, **data: JsonScalar
    ) -> None:
        record = {**self._base(), "result": result, **data}
        if next_node is not None:
            record["next"] = next_node
        out.append(FlowJournalRow("ivr.leave", record))
        self._node = None
        self._p.next_node = next_node  # _run enters it at once

    def _finish(self, outcome: Outcome, out: list[Action], terminal: Action | None = None) -> None:
        self._outcome = outcome
        self._wait = Wait.DONE
        self._p.next_node = None
        out.append(
            FlowJournalRow(
                "ivr.end",
                {"flow": self._flow.name, "outcome": outcome.value, "steps": self._steps},
            )
        )
        if terminal is not None:
            out.append(terminal)

    # --- nodes --------------------------------------------------------------------------------

    def _begin(self, node: Node, out: list[Action]) -> None:
        if isinstance(node, PlayNode):
            self._play(node.prompts, node.barge_in, out)
        elif isinstance(node, MenuNode | CollectNode):
            self._wait = Wait.DIGITS
            while self._typeahead and self._node is node and self._wait is Wait.DIGITS:
                self._key(self._typeahead.pop(0), out)
            if self._node is node and self._wait is Wait.DIGITS and self._p.timer is None:
                self._play(node.prompts, node.barge_in, out)
        elif isinstance(node, ScheduleNode):
            is_open, exc = node.schedule.check(self._now)
            extra: dict[str, JsonScalar] = (
                {} if exc is None else {"exception": exc.name or str(exc.first)}
            )
            if is_open:
                self._leave(out, "open", node.open, **extra)
            else:
                self._leave(out, "closed", node.closed, **extra)
        elif isinstance(node, LanguageNode):
            lang = self._render(node.language)
            if lang in self._flow.languages:
                self._language = lang
                out.append(SetLanguage(lang))
            else:
                self._warn(out, f"language '{lang}' is not one of the flow's languages")
            self._leave(out, self._language, node.next)
        elif isinstance(node, SetNode):
            for var, value in node.variables:
                self._vars[var] = self._render(value) if isinstance(value, Template) else value
            self._leave(out, "set", node.next)
        elif isinstance(node, BranchNode):
            for i, case in enumerate(node.cases, start=1):
                if case.condition.eval(self._env):
                    self._leave(out, f"case {i}", case.next, condition=case.source)
                    return
            self._leave(out, "else", node.otherwise)
        elif isinstance(node, LookupNode):
            self._lookup(node, out)
        elif isinstance(node, QueueNode):
            self._enqueue(node, out)
        elif isinstance(node, CallbackNode):
            queue = self._render(node.queue).strip()
            if not queue:
                self._warn(out, "the queue name is empty")
                self._leave(out, "refused", node.on_failure, reason="empty queue name")
            else:
                self._wait = Wait.CALLBACK
                out.append(RequestCallback(queue, node.delay))
        elif isinstance(node, TransferNode):
            self._transfer(node, out)
        elif isinstance(node, VoicemailNode):
            self._play(node.prompts, False, out)
        else:
            assert isinstance(node, HangupNode)
            self._leave(out, "hangup", None)
            self._finish(Outcome.HUNG_UP, out, Hangup(node.cause))

    def _after_playback(self, out: list[Action]) -> None:
        node = self._node
        if isinstance(node, PlayNode):
            self._leave(out, "played", node.next)
        elif isinstance(node, MenuNode):
            self._start_timer(node.timeout, out)
        elif isinstance(node, CollectNode):
            self._start_timer(node.first_digit_timeout, out)
        elif isinstance(node, VoicemailNode):
            self._wait = Wait.RECORDING
            out.append(
                Voicemail(
                    mailbox_kind=node.mailbox_kind,
                    mailbox=None if node.mailbox is None else self._render(node.mailbox),
                    max_seconds=node.max_seconds,
                    max_silence=node.max_silence,
                    beep=node.beep,
                )
            )

    def _dtmf(self, digit: str, out: list[Action]) -> bool:
        if digit not in KEYS:
            return False
        node, p = self._node, self._p
        if self._wait is Wait.PLAYBACK and p.playback_barge_in and p.playback is not None:
            out.append(StopPlayback(p.playback))
            p.playback = None
            if isinstance(node, PlayNode):
                self._typeahead.append(digit)
                self._leave(out, "interrupted", node.next, digits=digit)
            else:
                self._wait = Wait.DIGITS
                self._key(digit, out)
            return True
        if self._wait is Wait.DIGITS:
            self._cancel_timer(out)
            self._key(digit, out)
            return True
        if self._wait is Wait.LOOKUP and len(self._typeahead) < TYPEAHEAD_LIMIT:
            self._typeahead.append(digit)
        return False

    def _key(self, digit: str, out: list[Action]) -> None:
        node = self._node
        if isinstance(node, MenuNode):
            target = node.options.get(digit)
            if target is None:
                self._retry(node, "invalid", digit, out)
                return
            if node.into is not None:
                self._vars[node.into] = digit
            self._leave(out, "option", target, digits=digit)
            return
        assert isinstance(node, CollectNode)
        if node.terminator is not None and digit == node.terminator:
            self._collect_done(node, out)
            return
        self._input.digits += digit
        if len(self._input.digits) >= node.max_digits:
            self._collect_done(node, out)
        else:
            self._start_timer(node.inter_digit_timeout, out)

    def _input_timeout(self, out: list[Action]) -> None:
        node = self._node
        if isinstance(node, CollectNode) and self._input.digits:
            self._collect_done(node, out)
        elif isinstance(node, MenuNode | CollectNode):
            self._retry(node, "timeout", "", out)

    def _collect_done(self, node: CollectNode, out: list[Action]) -> None:
        digits = self._input.digits
        valid = len(digits) >= node.min_digits and (
            node.pattern is None or node.pattern.fullmatch(digits) is not None
        )
        if not valid:
            self._retry(node, "invalid", digits, out)
            return
        self._vars[node.into] = digits
        self._leave(out, "collected", node.next, digits=digits)

    def _retry(
        self, node: MenuNode | CollectNode, reason: str, digits: str, out: list[Action]
    ) -> None:
        self._cancel_timer(out)
        self._input.attempt += 1
        self._input.digits = ""
        self._typeahead.clear()  # after a mistake, keys typed ahead are not what the caller meant
        out.append(
            FlowJournalRow(
                "ivr.input",
                {
                    **self._base(),
                    "result": reason,
                    "digits": digits,
                    "attempt": self._input.attempt,
                },
            )
        )
        if self._input.attempt > node.max_retries:
            self._leave(out, "failed", node.on_failure, reason=reason, digits=digits)
            return
        extra = node.invalid_prompts if reason == "invalid" else node.timeout_prompts
        self._play((*extra, *node.prompts), node.barge_in, out)

    def _lookup(self, node: LookupNode, out: list[Action]) -> None:
        body: dict[str, JsonScalar] | None = None
        if node.body is not None:
            body = {k: self._render(v) if isinstance(v, Template) else v for k, v in node.body}
        self._wait = Wait.LOOKUP
        out.append(
            HttpLookup(
                method=node.method,
                url=self._render(node.url, escape=True),
                headers=tuple((k, self._render(v)) for k, v in node.headers),
                body=body,
                timeout=node.timeout,
            )
        )

    def _lookup_done(
        self, node: LookupNode, event: LookupResult | LookupFailed, out: list[Action]
    ) -> None:
        if isinstance(event, LookupFailed):
            self._leave(out, "failed", node.on_failure, reason=event.reason)
            return
        if not 200 <= event.status < 300:
            self._leave(
                out, "failed", node.on_failure, reason=f"HTTP {event.status}", status=event.status
            )
            return
        for var, path in node.into:
            self._vars[var] = _json_value(_dig(event.body, path))
        self._leave(out, "ok", node.next, status=event.status)

    def _level(self, value: int | Template, what: str, out: list[Action]) -> int:
        if isinstance(value, int):
            return value
        text = self._render(value).strip()
        if re.fullmatch(r"[0-9]{1,9}", text):
            return int(text)
        self._warn(out, f"{what} '{text}' is not a whole number; using 0")
        return 0

    def _enqueue(self, node: QueueNode, out: list[Action]) -> None:
        queue = self._render(node.queue).strip()
        if not queue:
            self._warn(out, "the queue name is empty")
            self._leave(out, "failed", node.next, reason="empty queue name")
            if node.next is None:
                self._finish(Outcome.HUNG_UP, out, Hangup("failure"))
            return
        skills: dict[str, int] = {}
        for skill_tpl, level in node.skills:
            skill = self._render(skill_tpl).strip()
            if skill:
                skills[skill] = self._level(level, f"level of skill '{skill}'", out)
        action = Enqueue(
            queue=queue,
            priority=self._level(node.priority, "priority", out),
            skills=MappingProxyType(skills),
            max_wait=node.max_wait,
        )
        if node.next is None:
            self._leave(out, "enqueued", None, queue=queue)
            self._finish(Outcome.ENQUEUED, out, action)
        else:
            self._wait = Wait.QUEUE
            out.append(action)

    def _transfer(self, node: TransferNode, out: list[Action]) -> None:
        target = self._render(node.target).strip()
        if node.to == "flow":
            new_flow = self._flowset.flows[target]
            self._leave(out, "flow", None, flow=target)
            out.append(FlowJournalRow("ivr.flow", {"from": self._flow.name, "to": new_flow.name}))
            self._flow = new_flow
            for var, value in new_flow.variables.items():
                self._vars.setdefault(var, value)
            if self._language not in new_flow.languages:
                self._language = new_flow.default_language
                out.append(SetLanguage(self._language))
            self._p.next_node = new_flow.entry
            return
        if not target:
            self._warn(out, f"the {node.to} to transfer to is empty")
            self._leave(out, "failed", node.on_failure, reason=f"empty {node.to}")
            if node.on_failure is None:
                self._finish(Outcome.HUNG_UP, out, Hangup("failure"))
            return
        action = Transfer(node.to, target)
        if node.on_failure is None:
            self._leave(out, "transferred", None, target=target)
            self._finish(Outcome.TRANSFERRED, out, action)
        else:
            self._wait = Wait.TRANSFER
            out.append(action)

    def _caller_hung_up(self, out: list[Action]) -> None:
        self._cancel_timer(out)
        if self._node is not None:
            self._leave(out, "caller_hung_up", None)
        self._finish(Outcome.CALLER_HUNG_UP, out)


def _dig(doc: object, path: tuple[str | int, ...]) -> object:
    cur = doc
    for part in path:
        if isinstance(cur, dict) and str(part) in cur:
            cur = cur[str(part)]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        else:
            return None
    return cur


def _json_value(value: object) -> Value:
    if value is None:
        return ""
    if isinstance(value, str | bool | int | float):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


__all__ = [
    "TERMINAL_ACTIONS",
    "Action",
    "CallContext",
    "CallbackRefused",
    "CallbackTaken",
    "CallerHungUp",
    "CancelTimer",
    "DtmfReceived",
    "Enqueue",
    "FlowJournalRow",
    "Hangup",
    "HttpLookup",
    "Interpreter",
    "IvrInput",
    "LookupFailed",
    "LookupResult",
    "Outcome",
    "Play",
    "PlaybackFinished",
    "QueueAnswered",
    "QueueExited",
    "RequestCallback",
    "SetLanguage",
    "StartTimer",
    "StopPlayback",
    "TimerExpired",
    "Transfer",
    "TransferCompleted",
    "TransferFailed",
    "Voicemail",
    "VoicemailFailed",
    "VoicemailRecorded",
    "Wait",
]
