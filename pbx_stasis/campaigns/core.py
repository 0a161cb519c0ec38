"""A campaign's rules, without IO: its settings (one model for the API, the CLI and the rows),
what an attempt's result does to its lead (retry after the outcome's delay, or done), which
leads are due, and the campaign's figures folded from its attempts (each figure defined once,
for the dashboard, the report and the CSV file). Time comes in as an argument."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, model_validator

from pbx_stasis.pacing.core import DEFAULT_TARGET, DialResult
from pbx_stasis.pacing.core import Mode as PacingMode
from pbx_stasis.validation import WHOLE, Flag, Model, Whole, text

QUEUE_NAME = r"[A-Za-z0-9_-]+"
SOUND = r"(sound|recording):[A-Za-z0-9_/\-.]+"
SOUND_HINT = "must be sound:NAME or recording:NAME (letters, digits, _ - / .)"


class Mode(enum.StrEnum):
    PREVIEW = "preview"  # the agent sees the lead and the script, then calls or skips
    PROGRESSIVE = "progressive"  # one call per free agent of the campaign's queue
    PREDICTIVE = "predictive"  # paced ahead of free agents, abandon rate <= target


class State(enum.StrEnum):
    DRAFT = "draft"  # made, never started
    RUNNING = "running"
    PAUSED = "paused"  # no new calls; calls under way finish
    STOPPED = "stopped"  # over: cannot be started again


class MachineAction(enum.StrEnum):
    """What a call answered by a machine gets."""

    HANGUP = "hangup"  # hang up; the lead is done
    MESSAGE = "message"  # play `machine_message` to it, then hang up; the lead is done
    RESCHEDULE = "reschedule"  # hang up; try again after the machine retry delay


class Result(enum.StrEnum):
    """How one attempt ended (the attempts table's `result`)."""

    CONNECTED = "connected"  # a person answered and talked with an agent
    ABANDONED = "abandoned"  # a person answered, no agent within the grace: abandon message
    MACHINE = "machine"  # answering machine (AMD), its action applied
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"  # the trunk refused it, or it ended before anything was known
    REFUSED = "refused"  # compliance or the dialling policy refused the dial (journaled)
    SKIPPED = "skipped"  # preview: the agent skipped the lead, with a reason
    CALLED = "called"  # preview: the agent called the lead from their phone


# The results that ask for another try after the campaign's delay for them.
RETRIED = {Result.BUSY: "busy", Result.NO_ANSWER: "no-answer", Result.MACHINE: "machine"}
_RESULTS = frozenset(r.value for r in Result)
# A call being placed has no result yet: its lead is not offered again meanwhile.
DIALLING = "dialling"
# A lead left "dialling" this long (the process died under it) is due again.
STALE_DIAL = timedelta(minutes=10)


# The hangup cause (Q.850) of a campaign call's far leg that never answered -> the attempt's
# result: one rule for every mode (the dialler's calls, an agent's preview call).
UNANSWERED_CAUSES = {17: Result.BUSY, 18: Result.NO_ANSWER, 19: Result.NO_ANSWER,
                     21: Result.REFUSED}


def unanswered(cause: int | None) -> Result:
    """A campaign call the number never answered, by its far leg's hangup cause: busy (17),
    no answer (18, 19: the ring time ran out), rejected (21), anything else failed."""
    return UNANSWERED_CAUSES.get(cause, Result.FAILED) if cause is not None else Result.FAILED


def preview_result(*, talked: bool, reason: str, cause: int | None) -> Result:
    """An agent's preview call from their phone, as the outside line ended it
    (transfer/outside.py: `talked`, its `reason`, the far leg's `cause`): connected once the
    number answered (the agent is on the line already: no abandon, no machine detection);
    refused when the dialling policy or compliance refused the number at the dial; no answer
    when the agent hung up while it rang; else as the number's hangup cause says
    (`unanswered`, as for the dialler's calls)."""
    if talked:
        return Result.CONNECTED
    if reason == "not_allowed":
        return Result.REFUSED
    if reason == "caller_hangup":
        return Result.NO_ANSWER
    return unanswered(cause)


def pacing_result(result: Result) -> DialResult:
    """The pacer's view of an attempt's end: only a person counts as a connect."""
    if result in (Result.CONNECTED, Result.ABANDONED):
        return DialResult.PERSON
    return {Result.MACHINE: DialResult.MACHINE, Result.BUSY: DialResult.BUSY,
            Result.NO_ANSWER: DialResult.NO_ANSWER}.get(result, DialResult.FAILED)


# The journal rows of a campaign call that say what happened to an attempt a stopped process
# left without a result: the answered person's note, an agent's CONNECT, the talk's end.
ANSWERED_NOTE = "CAMPAIGN_ANSWERED"
_TALK_ENDS = frozenset({"COMPLETECALLER", "COMPLETEAGENT", "TRANSFER"})


@dataclass(frozen=True)
class LeftOver:
    """How an attempt a stopped process left without a result ended (`left_over`)."""

    result: Result
    call_id: str | None = None
    agent_user_id: int | None = None
    talk_s: float | None = None


def left_over(call_id: str | None,
              rows: Iterable[tuple[str, int | None, Mapping[str, object]]]) -> LeftOver:
    """An attempt's result after a restart, from its call's journal rows (event, agent's user
    id, data; in order; `call_id` None: no person answered it): a person who reached an agent
    (CONNECT) is connected, whether the talk ended meanwhile (its talk known) or goes on (the
    restarted app carries it over to its end: the talk not known here); anything else failed,
    nothing known of it."""
    if call_id is None:
        return LeftOver(Result.FAILED)
    agent: int | None = None
    talk: float | None = None
    for event, user_id, data in rows:
        if event == "CONNECT" and agent is None:
            agent = user_id
        elif event in _TALK_ENDS and agent is not None and talk is None:
            value = data.get("talk")
            talk = float(value) if isinstance(value, int | float) else None
    if agent is None:
        return LeftOver(Result.FAILED, call_id)
    return LeftOver(Result.CONNECTED, call_id, agent, talk)


def pacing_mode(mode: Mode) -> PacingMode:
    return PacingMode.PREDICTIVE if mode is Mode.PREDICTIVE else PacingMode.PROGRESSIVE


Minutes = Annotated[Whole, Field(ge=0, le=60 * 24 * 30), WHOLE]


class CampaignSettings(Model):
    """A campaign as an admin writes it (POST/PUT /api/campaigns, `pbx campaign add|set`)."""

    name: Annotated[str, text(max_length=100)]
    list_id: Annotated[Whole, Field(ge=1, le=2**31 - 1), WHOLE]
    queue: Annotated[str, text(max_length=64, pattern=QUEUE_NAME,
                               hint="must be a queue name (letters, digits, _ -)")]
    mode: Mode = Mode.PROGRESSIVE
    # The abandon rate the predictive pacing keeps at or under (of calls a person answered).
    abandon_target: Annotated[float, Field(ge=0.0, le=0.2, strict=True)] = DEFAULT_TARGET
    # Played to a person no agent took within the grace (names the company).
    abandon_message: Annotated[str, text(max_length=200, pattern=SOUND,
                                         hint=SOUND_HINT)] = "sound:vm-goodbye"
    # Calls answered by a person the predictive pacing measures before it dials ahead.
    learn_answers: Annotated[Whole, Field(ge=1, le=1000), WHOLE] = 30
    amd: Flag = True  # answering-machine detection on progressive and predictive calls
    machine_action: MachineAction = MachineAction.HANGUP
    machine_message: Annotated[str, text(max_length=200, pattern=SOUND,
                                         hint=SOUND_HINT)] | None = None
    max_attempts: Annotated[Whole, Field(ge=1, le=50), WHOLE] = 3
    retry_busy: Minutes = 15
    retry_no_answer: Minutes = 60
    retry_machine: Minutes = 240
    ring_seconds: Annotated[Whole, Field(ge=5, le=120), WHOLE] = 25
    script: Annotated[str, text(max_length=100)] | None = None  # a call script's name
    caller_id: Annotated[str, text(max_length=32, pattern=r"\+[1-9][0-9]{6,14}",
                                   hint="must be an E.164 number, e.g. +14155550100")] | None = None

    @model_validator(mode="after")
    def _message_for_machines(self) -> CampaignSettings:
        if self.machine_action is MachineAction.MESSAGE and not self.machine_message:
            from pbx_stasis.validation import refusal

            raise refusal("machine_message", self.machine_message,
                          "is needed when machine_action is message")
        return self

    def retry_minutes(self) -> dict[str, int]:
        return {"busy": self.retry_busy, "no-answer": self.retry_no_answer,
                "machine": self.retry_machine}


@dataclass(frozen=True, slots=True)
class LeadUpdate:
    """What an attempt's end does to its lead: its status (leads.work.LeadStatus's values),
    its last outcome, and when it is due again (None: not again)."""

    status: str
    last_outcome: str
    due_at: datetime | None


def after_attempt(result: Result, *, attempts: int, settings: CampaignSettings,
                  now: datetime) -> LeadUpdate:
    """The lead after an attempt (`attempts` made so far, counting it) ended with `result`.

    Busy, no answer and (with the reschedule action) a machine are tried again after the
    campaign's delay for them until `max_attempts`; a skipped preview lead is due again at
    once (another agent may call it); everything else finishes the lead."""
    retried = RETRIED.get(result)
    if result is Result.MACHINE and settings.machine_action is not MachineAction.RESCHEDULE:
        retried = None
    if retried is not None:
        if attempts >= settings.max_attempts:
            return LeadUpdate("cancelled", result.value, None)
        return LeadUpdate("open", result.value,
                          now + timedelta(minutes=settings.retry_minutes()[retried]))
    if result is Result.SKIPPED:
        return LeadUpdate("open", result.value, now)
    if result in (Result.REFUSED, Result.FAILED) and attempts < settings.max_attempts:
        # Calling hours end, a list changes: tried again at the longest delay, not forgotten.
        return LeadUpdate("open", result.value,
                          now + timedelta(minutes=max(settings.retry_minutes().values())))
    if result in (Result.REFUSED, Result.FAILED):
        return LeadUpdate("cancelled", result.value, None)
    return LeadUpdate("done", result.value, None)


def lead_due(*, status: str, attempts: int, last_outcome: str | None,
             last_attempt_at: datetime | None, settings: CampaignSettings,
             now: datetime) -> bool:
    """Whether a lead of the campaign's list may be dialled now (the campaign's own rules;
    compliance judges the dial itself)."""
    if status not in ("new", "open") or attempts >= settings.max_attempts:
        return False
    if last_attempt_at is None or last_outcome is None:
        return True
    if last_outcome == DIALLING:
        return now - last_attempt_at >= STALE_DIAL
    retried = RETRIED.get(Result(last_outcome)) if last_outcome in _RESULTS else None
    if retried is None:
        # refused or failed: the longest delay; skipped: at once.
        if last_outcome == Result.SKIPPED.value:
            return True
        delay = max(settings.retry_minutes().values())
    else:
        delay = settings.retry_minutes()[retried]
    return now >= last_attempt_at + timedelta(minutes=delay)


@dataclass(frozen=True, slots=True)
class AttemptLine:
    """One attempt as the figures read it."""

    result: str | None  # None: still under way
    placed_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    talk_s: float | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    """A campaign's figures over a set of attempts (docs/dialing.md, "Campaign figures").

    - dialled: calls placed (preview calls included; skips and refusals are not calls);
    - answered: answered by a person (connected + abandoned); connect rate = answered/dialled;
    - abandoned: answered by a person, no agent within 2 s; abandon rate = abandoned/answered;
    - machines, busy, no_answer, failed, refused, skipped: attempts that ended so;
    - dialling: calls under way now (no result yet);
    - talk_s: seconds agents talked on connected calls."""

    dialled: int = 0
    dialling: int = 0
    connected: int = 0
    abandoned: int = 0
    machines: int = 0
    busy: int = 0
    no_answer: int = 0
    failed: int = 0
    refused: int = 0
    skipped: int = 0
    called: int = 0
    talk_s: float = 0.0

    @property
    def answered(self) -> int:
        return self.connected + self.abandoned

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    @property
    def connect_rate(self) -> float:
        return self.answered / self.dialled if self.dialled else 0.0

    def json(self) -> dict[str, Any]:
        return {
            "dialled": self.dialled, "dialling": self.dialling, "answered": self.answered,
            "connected": self.connected, "abandoned": self.abandoned,
            "abandon_rate": round(self.abandon_rate, 4),
            "connect_rate": round(self.connect_rate, 4), "machines": self.machines,
            "busy": self.busy, "no_answer": self.no_answer, "failed": self.failed,
            "refused": self.refused, "skipped": self.skipped, "called": self.called,
            "talk_s": round(self.talk_s, 1),
        }


_COUNTED = {
    Result.CONNECTED: "connected", Result.ABANDONED: "abandoned", Result.MACHINE: "machines",
    Result.BUSY: "busy", Result.NO_ANSWER: "no_answer", Result.FAILED: "failed",
    Result.REFUSED: "refused", Result.SKIPPED: "skipped", Result.CALLED: "called",
}
_NOT_CALLS = frozenset({Result.REFUSED, Result.SKIPPED})


def fold(attempts: Iterable[AttemptLine]) -> Figures:
    """The campaign's figures over `attempts` (the one fold: dashboard, report, CSV)."""
    counts: dict[str, float] = dict.fromkeys(_COUNTED.values(), 0)
    dialled = dialling = 0
    for line in attempts:
        if line.result is None or line.result == DIALLING:
            dialling += 1
            dialled += 1
            continue
        result = Result(line.result)
        counts[_COUNTED[result]] += 1
        if result not in _NOT_CALLS:
            dialled += 1
        if result is Result.CONNECTED and line.talk_s is not None:
            counts["talk_s"] = counts.get("talk_s", 0.0) + line.talk_s
    talk = counts.pop("talk_s", 0.0)
    return Figures(dialled=dialled, dialling=dialling, talk_s=talk,
                   **{k: int(v) for k, v in counts.items()})


def occupancy(states: Mapping[str, int]) -> float:
    """The share of the campaign's logged-in agents busy with a call (talking, ringing or in
    wrap-up) now, from their count by state (acd.model.AgentState's values)."""
    busy = sum(states.get(s, 0) for s in ("on-call", "ringing", "wrap-up"))
    working = busy + states.get("available", 0)
    return busy / working if working else 0.0
