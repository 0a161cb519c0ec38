"""Walk a call through IVR flows without Asterisk, with the live interpreter; `pbx ivr` commands.

The simulator is a runner of its own: every playback finishes at once, each entry of `digits` is
what the caller types at one menu or collect prompt (an empty entry, or no entry left, lets that
prompt time out), lookups answer with the given JSON, the ACD answers the call (or hands it back
with `queue_exit`), transfers and voicemails succeed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pbx_stasis.ivr.core import (
    Action,
    CallbackTaken,
    CallContext,
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
    VoicemailRecorded,
    Wait,
)
from pbx_stasis.ivr.errors import FlowSetInvalid, NoFlowForDid, errors
from pbx_stasis.ivr.loader import check_sources, load_flowset, read_sources
from pbx_stasis.ivr.model import FlowSet
from pbx_stasis.ivr.simulate_args import simulate_parser

MAX_EVENTS = 10_000
KEYS = set("0123456789*#")


@dataclass
class _Caller:
    """What the simulated caller and the simulated world answer."""

    entries: list[str]
    lookup_json: object | None
    lookup_status: int
    queue_exit: str | None
    transfer_failure: str | None
    active: list[str] | None = None  # keys left for the prompt being answered


def load_any(source: FlowSet | str | Path) -> FlowSet:
    """A FlowSet from a FlowSet, a path to a flow file, or YAML text."""
    if isinstance(source, FlowSet):
        return source
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        return load_flowset(read_sources([source]))
    return load_flowset([("<text>", source)])


def simulate(
    source: FlowSet | str | Path,
    did: str,
    caller: str,
    digits: Sequence[str],
    at: datetime,
    lookup_json: object | None = None,
    *,
    lookup_status: int = 200,
    queue_exit: str | None = None,
    transfer_failure: str | None = None,
) -> list[str]:
    """The steps of one simulated call, one line each (FlowSetInvalid / NoFlowForDid if refused)."""
    flowset = load_any(source)
    interp = Interpreter(flowset, CallContext(caller=caller, did=did, start=at))
    texts = {
        (lang, pf.file): pf.text
        for flow in flowset.flows.values()
        for per_lang in flow.prompts.values()
        for lang, pf in per_lang.items()
    }
    world = _Caller(
        entries=list(digits),
        lookup_json=lookup_json,
        lookup_status=lookup_status,
        queue_exit=queue_exit,
        transfer_failure=transfer_failure,
    )
    lines = [
        f"call from {caller} to {did} at {at.isoformat()} -> flow {interp.flow.name}",
    ]
    actions = interp.start(at)
    last_play = 0
    last_timer = 0
    timer_seconds = 0.0
    for _ in range(MAX_EVENTS):
        for action in actions:
            if not (isinstance(action, StartTimer) and world.active):
                # While the caller is still typing, the inter-digit waits are noise.
                lines.extend(_describe(action, texts))
            if isinstance(action, Play):
                last_play = action.playback_id
            elif isinstance(action, StartTimer):
                last_timer, timer_seconds = action.timer_id, action.seconds
        if world.active and interp.waiting is not Wait.DIGITS:
            lines.append(f"      keys not used: {''.join(world.active)}")
            world.active = None
        if interp.done:
            break
        event, note = _answer(interp, world, last_play, last_timer, timer_seconds)
        if isinstance(event, DtmfReceived) and lines[-1].startswith("      keys "):
            lines[-1] += event.digit
        elif isinstance(event, DtmfReceived):
            lines.append(f"      keys {event.digit}")
        elif note:
            lines.append(f"      {note}")
        actions = interp.feed(event, at)
    else:
        lines.append(f"stopped: more than {MAX_EVENTS} events")
    if world.entries:
        lines.append(f"digits not used: {','.join(world.entries)}")
    # The journal's closing entry comes before the final action; the summary reads best last.
    ends = [line for line in lines if line.startswith("end: ")]
    return [line for line in lines if not line.startswith("end: ")] + ends


def _answer(
    interp: Interpreter, world: _Caller, play_id: int, timer_id: int, timer_seconds: float
) -> tuple[IvrInput, str]:
    wait = interp.waiting
    if wait is not Wait.DIGITS:
        world.active = None
    if wait is Wait.PLAYBACK:
        return PlaybackFinished(play_id), ""
    if wait is Wait.DIGITS:
        if world.active is None:
            world.active = list(world.entries.pop(0)) if world.entries else []
        if world.active:
            return DtmfReceived(world.active.pop(0)), ""
        world.active = None
        return TimerExpired(timer_id), f"no key for {timer_seconds:g}s: timeout"
    if wait is Wait.LOOKUP:
        if world.lookup_json is None:
            return LookupFailed("no --lookup-json given"), "lookup fails: no --lookup-json given"
        body = json.dumps(world.lookup_json, ensure_ascii=False)
        return LookupResult(world.lookup_status, world.lookup_json), (
            f"lookup answers {world.lookup_status} {body}"
        )
    if wait is Wait.QUEUE:
        if world.queue_exit is not None:
            return QueueExited(world.queue_exit), f"the ACD hands the call back: {world.queue_exit}"
        return QueueAnswered("simulated"), "an agent answers"
    if wait is Wait.CALLBACK:
        return CallbackTaken("simulated"), "a callback is taken"
    if wait is Wait.TRANSFER:
        if world.transfer_failure is not None:
            return TransferFailed(
                world.transfer_failure
            ), f"transfer fails: {world.transfer_failure}"
        return TransferCompleted(), "transfer answered"
    assert wait is Wait.RECORDING
    return VoicemailRecorded("simulated-voicemail", 15.0), "caller speaks for 15 s"


def _describe(action: Action, texts: dict[tuple[str, str], str | None]) -> list[str]:
    if isinstance(action, FlowJournalRow):
        return _describe_journal(action)
    if isinstance(action, Play):
        shown = []
        for media in action.media:
            kind, _, rest = media.partition(":")
            lang, _, file = rest.partition("/")
            text = texts.get((lang, file)) if kind == "sound" else None
            shown.append(f'{media} "{text}"' if text else media)
        barge = ", barge-in" if action.barge_in else ""
        return [f"      play [{action.language}{barge}] " + " + ".join(shown)]
    if isinstance(action, StartTimer):
        return [f"      wait up to {action.seconds:g}s for a key"]
    if isinstance(action, StopPlayback):
        return ["      stop playback"]
    if isinstance(action, CancelTimer):
        return []
    if isinstance(action, SetLanguage):
        return [f"      language {action.language}"]
    if isinstance(action, HttpLookup):
        extra = f" {json.dumps(dict(action.body), ensure_ascii=False)}" if action.body else ""
        return [f"      {action.method} {action.url}{extra} (timeout {action.timeout:g}s)"]
    if isinstance(action, Enqueue):
        skills = ", ".join(f"{k}={v}" for k, v in action.skills.items()) or "none"
        wait = f", max wait {action.max_wait:g}s" if action.max_wait else ""
        return [f"      enqueue {action.queue} priority {action.priority} skills {skills}{wait}"]
    if isinstance(action, Transfer):
        return [f"      transfer to {action.to} {action.target}"]
    if isinstance(action, RequestCallback):
        when = f" in {action.delay:g}s" if action.delay else ""
        return [f"      callback to the caller's number through {action.queue}{when}"]
    if isinstance(action, Voicemail):
        box = f"{action.mailbox_kind} {action.mailbox}" if action.mailbox_kind else "general"
        beep = ", beep" if action.beep else ""
        return [f"      record voicemail for {box} mailbox, up to {action.max_seconds:g}s{beep}"]
    assert isinstance(action, Hangup)
    return [f"      hang up ({action.cause})"]


def _describe_journal(action: FlowJournalRow) -> list[str]:
    d = action.data
    if action.event == "ivr.enter":
        return [f"{d['step']:>3} {d['flow']}/{d['node']} ({d['kind']})"]
    if action.event == "ivr.leave":
        details = [
            f"{k} {v}"
            for k, v in d.items()
            if k not in ("flow", "node", "kind", "result") and v not in ("", None)
        ]
        tail = f" ({', '.join(details)})" if details else ""
        return [f"      => {d['result']}{tail}"]
    if action.event == "ivr.input":
        keys = f" '{d['digits']}'" if d["digits"] else ""
        return [f"      {d['result']}{keys} (attempt {d['attempt']})"]
    if action.event == "ivr.flow":
        return [f"    now in flow {d['to']}"]
    if action.event == "ivr.warning":
        return [f"      warning: {d['message']}"]
    if action.event == "ivr.step_limit":
        return [f"    step limit of {d['max_steps']} reached before '{d['node']}'"]
    if action.event == "ivr.end":
        return [f"end: {d['outcome']} after {d['steps']} steps"]
    return []


# --- command line ---------------------------------------------------------------------------


def validate_main(paths: Sequence[str], *, internal_lookups: bool = False) -> int:
    """`pbx ivr validate FILE...`: 0 when valid, 1 with every problem on stderr, 2 without files.

    `internal_lookups`: the tenant checked for may look up internal addresses."""
    if not paths:
        print("usage: pbx ivr validate FILE...", file=sys.stderr)
        return 2
    try:
        flowset, problems = check_sources(read_sources(list(paths)),
                                          internal_lookups=internal_lookups)
    except FlowSetInvalid as exc:  # a file that cannot be read
        flowset, problems = None, exc.problems
    for problem in problems:
        print(problem, file=sys.stderr)
    if flowset is None:
        count = len(errors(problems))
        print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return 1
    nodes = sum(len(f.nodes) for f in flowset.flows.values())
    print(
        f"ok: {len(flowset.flows)} flow(s), {nodes} nodes, {len(flowset.dids)} DID(s): "
        + ", ".join(f"{did} -> {flow}" for did, flow in sorted(flowset.dids.items()))
    )
    return 0


def simulate_main(argv: Sequence[str]) -> int:
    """`pbx ivr simulate ...` from its arguments (see simulate_command)."""
    try:
        args = simulate_parser().parse_args(list(argv))
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    return simulate_command(args)


def simulate_command(args: argparse.Namespace) -> int:
    """`pbx ivr simulate`: 0 when the walk ran, 1 for refused flows, 2 for bad arguments."""
    entries = [e.strip() for e in args.digits.split(",")] if args.digits else []
    bad = [e for e in entries if not set(e) <= KEYS]
    if bad:
        print(f"--digits: only 0-9, * and # are keys: {','.join(bad)}", file=sys.stderr)
        return 2
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            print(f"--at: not a date and time: {args.at}", file=sys.stderr)
            return 2
        if at.tzinfo is None:
            print("--at: give a UTC offset, e.g. 2026-11-20T21:00+04:00", file=sys.stderr)
            return 2
    else:
        at = datetime.now(UTC)
    lookup_json: object | None = None
    if args.lookup_json:
        try:
            lookup_json = json.loads(Path(args.lookup_json).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"--lookup-json: {exc}", file=sys.stderr)
            return 2
    try:
        # A simulation sends no request (lookups answer --lookup-json): where a lookup may go
        # is for validate and apply to say.
        flowset = load_flowset(read_sources(args.files), internal_lookups=True)
        lines = simulate(
            flowset,
            did=args.did,
            caller=args.caller,
            digits=entries,
            at=at,
            lookup_json=lookup_json,
            lookup_status=args.lookup_status,
            queue_exit=args.queue_exit,
            transfer_failure=args.transfer_fails,
        )
    except FlowSetInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except NoFlowForDid:
        known = ", ".join(sorted(flowset.dids)) or "none"
        print(f"no flow answers DID {args.did} (known: {known})", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0
