"""The interpreter walks calls through every node kind, event by event, without IO."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ivr_testing import FRIDAY_10AM, Call, flows, one_flow

from pbx_stasis.ivr.core import (
    CallContext,
    CallerHungUp,
    CancelTimer,
    DtmfReceived,
    Enqueue,
    FlowJournalRow,
    Hangup,
    HttpLookup,
    Interpreter,
    LookupFailed,
    LookupResult,
    Outcome,
    Play,
    PlaybackFinished,
    QueueAnswered,
    QueueExited,
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
    Wait,
)
from pbx_stasis.ivr.errors import NoFlowForDid

MENU = """
    main:
      kind: menu
      prompts: menu
      options: {"1": one, "2": two}
      timeout: 4
      max_retries: 2
      invalid_prompts: again
      timeout_prompts: bye
      into: choice
      on_failure: failed
    one: {kind: hangup}
    two: {kind: hangup, cause: busy}
    failed: {kind: hangup, cause: failure}
"""


def test_play_then_hangup_journals_every_node() -> None:
    call = Call(
        one_flow("""
            hi:
              kind: play
              prompts: [hello, {digits: "123"}, {number: 45}, {sound: beep}]
              next: end
            end: {kind: hangup}
        """)
    )
    out = call.start()
    assert out[0] == FlowJournalRow(
        "ivr.start", {"flow": "f", "did": "100", "caller": "+15550001", "language": "en"}
    )
    assert out[1] == SetLanguage("en")
    play = call.last(Play)
    assert play.media == ("sound:en/pbx/hello", "digits:123", "number:45", "sound:beep")
    assert (play.language, play.barge_in) == ("en", False)
    assert call.interp.waiting is Wait.PLAYBACK
    out = call.finish_play()
    assert out[-1] == Hangup("normal")
    assert call.interp.outcome is Outcome.HUNG_UP and call.interp.done
    assert call.path() == [("hi", "played"), ("end", "hangup")]
    assert [d["node"] for d in call.journal("ivr.enter")] == ["hi", "end"]
    assert call.journal("ivr.end") == [{"flow": "f", "outcome": "hung_up", "steps": 2}]


def test_menu_option_after_prompt() -> None:
    call = Call(one_flow(MENU))
    call.start()
    assert call.last(Play).barge_in is True
    call.finish_play()
    assert call.last(StartTimer).seconds == 4
    assert call.interp.waiting is Wait.DIGITS
    out = call.press("2")
    assert CancelTimer(call.last(StartTimer).timer_id) in out
    assert out[-1] == Hangup("busy")
    assert call.path()[0] == ("main", "option")
    assert call.journal("ivr.leave")[0]["digits"] == "2"
    assert call.interp.variables["choice"] == "2"


def test_menu_barge_in_stops_the_prompt() -> None:
    call = Call(one_flow(MENU))
    call.start()
    play_id = call.last(Play).playback_id
    out = call.press("1")
    assert out[0] == StopPlayback(play_id)
    assert call.path()[0] == ("main", "option")
    # The stopped playback's late PlaybackFinished is ignored.
    assert call.feed(PlaybackFinished(play_id)) == []


def test_menu_invalid_then_timeout_then_fallback() -> None:
    call = Call(one_flow(MENU))
    call.start()
    call.finish_play()
    call.press("7")
    assert call.last(Play).media == ("sound:en/pbx/again", "sound:en/pbx/menu")
    call.finish_play()
    call.timeout()
    assert call.last(Play).media == ("sound:en/pbx/bye", "sound:en/pbx/menu")
    call.finish_play()
    out = call.timeout()
    assert out[-1] == Hangup("failure")
    inputs = [(d["result"], d["digits"], d["attempt"]) for d in call.journal("ivr.input")]
    assert inputs == [("invalid", "7", 1), ("timeout", "", 2), ("timeout", "", 3)]
    assert call.journal("ivr.leave")[0] == {
        "flow": "f",
        "node": "main",
        "kind": "menu",
        "result": "failed",
        "reason": "timeout",
        "digits": "",
        "next": "failed",
    }


def test_menu_stale_timer_and_unknown_keys_are_ignored() -> None:
    call = Call(one_flow(MENU))
    call.start()
    call.finish_play()
    timer = call.last(StartTimer).timer_id
    assert call.feed(TimerExpired(timer + 100)) == []
    assert call.feed(DtmfReceived("A")) == []
    assert call.feed(PlaybackFinished(999)) == []
    assert call.interp.waiting is Wait.DIGITS
    call.press("1")
    assert call.path()[0] == ("main", "option")


COLLECT = """
    ask:
      kind: collect
      prompts: account
      into: account
      min_digits: 4
      max_digits: 6
      terminator: "#"
      pattern: "^[1-9][0-9]*$"
      first_digit_timeout: 7
      inter_digit_timeout: 2
      max_retries: 1
      invalid_prompts: again
      next: good
      on_failure: bad
    good:
      kind: play
      prompts: [{digits: "${account}"}]
      next: end
    bad: {kind: hangup, cause: failure}
    end: {kind: hangup}
"""


def test_collect_with_terminator() -> None:
    call = Call(one_flow(COLLECT))
    call.start()
    call.finish_play()
    assert call.last(StartTimer).seconds == 7
    call.press("12")
    assert call.last(StartTimer).seconds == 2
    call.press("34#")
    assert call.interp.variables["account"] == "1234"
    assert call.last(Play).media == ("digits:1234",)
    assert call.path()[0] == ("ask", "collected")


def test_collect_ends_at_max_digits_and_on_inter_digit_timeout() -> None:
    call = Call(one_flow(COLLECT))
    call.start()
    call.finish_play()
    call.press("123456")
    assert call.interp.variables["account"] == "123456"

    call = Call(one_flow(COLLECT))
    call.start()
    call.finish_play()
    call.press("98765"[:5])
    call.timeout()  # inter-digit timeout ends the input
    assert call.interp.variables["account"] == "98765"


def test_collect_regex_and_length_retries_then_failure() -> None:
    call = Call(one_flow(COLLECT))
    call.start()
    call.finish_play()
    call.press("0123#")  # regex refuses a leading 0
    assert call.last(Play).media == ("sound:en/pbx/again", "sound:en/pbx/account")
    call.finish_play()
    out = call.press("12#")  # too short
    assert out[-1] == Hangup("failure")
    inputs = [(d["result"], d["digits"]) for d in call.journal("ivr.input")]
    assert inputs == [("invalid", "0123"), ("invalid", "12")]
    assert call.path()[0] == ("ask", "failed")
    assert "account" not in call.interp.variables


def test_collect_first_digit_timeout_replays_the_prompt() -> None:
    call = Call(one_flow(COLLECT))
    call.start()
    call.finish_play()
    call.timeout()
    # no timeout_prompts: only the prompt again
    assert call.last(Play).media == ("sound:en/pbx/account",)
    call.finish_play()
    call.press("5555#")
    assert call.interp.variables["account"] == "5555"


def test_play_barge_in_keeps_the_key_for_the_next_menu() -> None:
    call = Call(
        one_flow(
            [
                """
            hi: {kind: play, prompts: hello, barge_in: true, next: main}
            """,
                MENU,
            ]
        )
    )
    call.start()
    play_id = call.last(Play).playback_id
    out = call.press("2")
    assert out[0] == StopPlayback(play_id)
    # The menu takes the typed-ahead key without playing its prompt.
    assert call.path() == [("hi", "interrupted"), ("main", "option"), ("two", "hangup")]
    assert len(call.played()) == 1


def test_keys_during_a_prompt_without_barge_in_are_dropped() -> None:
    call = Call(
        one_flow(
            [
                """
            hi: {kind: play, prompts: hello, next: main}
            """,
                MENU,
            ]
        )
    )
    call.start()
    assert call.press("1") == []
    call.finish_play()
    assert call.interp.node == "main"
    assert call.interp.waiting is Wait.PLAYBACK  # the menu plays its prompt: no type-ahead


SCHEDULE = """
    hours:
      kind: schedule
      timezone: {tz}
      weekly:
        mon-fri: ["09:00-12:00", "13:00-17:00"]
        sat: "10:00-14:00"
      exceptions:
        - {{date: "2026-12-25", name: Christmas}}
        - {{date: "2026-12-24", hours: "09:00-12:00"}}
      open: opened
      closed: shut
    opened: {{kind: hangup}}
    shut: {{kind: hangup, cause: busy}}
"""


def _schedule(tz: str, at: datetime) -> tuple[object, object]:
    call = Call(one_flow(SCHEDULE.format(tz=tz)), at=at)
    call.start()
    leave = call.journal("ivr.leave")[0]
    return leave["result"], leave.get("exception")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 11, 20, 10, 0, tzinfo=UTC), ("open", None)),  # Friday
        (datetime(2026, 11, 20, 12, 30, tzinfo=UTC), ("closed", None)),  # lunch
        (datetime(2026, 11, 20, 17, 0, tzinfo=UTC), ("closed", None)),  # end is exclusive
        (datetime(2026, 11, 21, 13, 59, tzinfo=UTC), ("open", None)),  # Saturday
        (datetime(2026, 11, 22, 11, 0, tzinfo=UTC), ("closed", None)),  # Sunday
        (datetime(2026, 12, 25, 10, 0, tzinfo=UTC), ("closed", "Christmas")),  # a Friday holiday
        (datetime(2026, 12, 24, 11, 0, tzinfo=UTC), ("open", "2026-12-24")),  # short day
        (datetime(2026, 12, 24, 14, 0, tzinfo=UTC), ("closed", "2026-12-24")),
    ],
)
def test_schedule_weekly_hours_and_holidays(at: datetime, expected: tuple[object, object]) -> None:
    assert _schedule("UTC", at) == expected


def test_schedule_follows_the_timezone_across_dst() -> None:
    # New York leaves EST (UTC-5) for EDT (UTC-4) on Sunday 8 March 2026.
    before = datetime(2026, 3, 6, 13, 30, tzinfo=UTC)  # Friday 08:30 EST
    after = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)  # Monday 09:30 EDT
    assert _schedule("America/New_York", before) == ("closed", None)
    assert _schedule("America/New_York", after) == ("open", None)
    # 20:00 in Dubai is 16:00 UTC: closed there, though open by the UTC clock.
    eight_pm_dubai = datetime(2026, 11, 20, 20, 0, tzinfo=FRIDAY_10AM.tzinfo)
    assert _schedule("Asia/Dubai", eight_pm_dubai) == ("closed", None)
    assert _schedule("UTC", eight_pm_dubai) == ("open", None)


def test_schedule_reads_the_clock_of_the_latest_event() -> None:
    flowset = one_flow(
        [
            """
            hi: {kind: play, prompts: hello, next: hours}
            """,
            SCHEDULE.format(tz="UTC"),
        ]
    )
    call = Call(flowset, at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC))  # Sunday: closed
    call.start()
    call.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # the playback ends on Monday
    call.finish_play()
    assert call.path()[1] == ("hours", "open")


BRANCH = """
    route:
      kind: branch
      cases:
        - if: 'tier in ["gold", "platinum"] and not (caller matches "^\\+1")'
          next: vip
        - if: 'balance >= 1000 or weekday == "sun"'
          next: owes
        - if: 'time < "09:00"'
          next: early
      else: other
    vip: {kind: hangup}
    owes: {kind: hangup}
    early: {kind: hangup}
    other: {kind: hangup}
"""


@pytest.mark.parametrize(
    ("tier", "balance", "caller", "at", "expected"),
    [
        ("gold", 0, "+971500000000", datetime(2026, 11, 20, 10, tzinfo=UTC), "vip"),
        ("gold", 0, "+15550001", datetime(2026, 11, 20, 10, tzinfo=UTC), "other"),
        ("basic", 1000, "+15550001", datetime(2026, 11, 20, 10, tzinfo=UTC), "owes"),
        ("basic", 999.5, "+15550001", datetime(2026, 11, 20, 10, tzinfo=UTC), "other"),
        ("basic", 0, "+15550001", datetime(2026, 11, 22, 10, tzinfo=UTC), "owes"),
        ("basic", 0, "+15550001", datetime(2026, 11, 20, 8, 59, tzinfo=UTC), "early"),
    ],
)
def test_branch_conditions(
    tier: str, balance: float, caller: str, at: datetime, expected: str
) -> None:
    flowset = one_flow(BRANCH, head=f"variables: {{tier: {tier}, balance: {balance}}}\n")
    call = Call(flowset, caller=caller, at=at)
    call.start()
    assert call.path()[1][0] == expected


def test_set_and_templates() -> None:
    call = Call(
        one_flow(
            """
            s:
              kind: set
              variables: {greeting: "Hi ${caller} on ${did}", n: 3, flag: true}
              next: end
            end: {kind: hangup}
            """
        )
    )
    call.start()
    assert call.interp.variables["greeting"] == "Hi +15550001 on 100"
    assert call.interp.variables["n"] == 3
    assert call.interp.variables["flag"] is True


LANG = """
    choose:
      kind: menu
      prompts: [{prompt: menu, language: en}, {prompt: menu, language: ar}]
      options: {"1": en, "2": ar}
      on_failure: en
    en: {kind: language, language: en, next: hi}
    ar: {kind: language, language: ar, next: hi}
    hi: {kind: play, prompts: [hello, bye], next: end}
    end: {kind: hangup}
"""
LANG_PROMPTS = """
    hello: {en: Hello., ar: Marhaba.}
    menu: {en: English press 1., ar: Arabic press 2.}
    bye: {en: Bye.}
"""


def test_language_switch_with_fallback_to_english() -> None:
    flowset = one_flow(
        LANG, head="languages: [en, ar]\nfallbacks: {ar: en}\n", prompts=LANG_PROMPTS
    )
    call = Call(flowset)
    call.start()
    assert call.last(Play).media == ("sound:en/pbx/menu", "sound:ar/pbx/menu")
    out = call.press("2")
    assert SetLanguage("ar") in out
    play = call.last(Play)
    assert play.language == "ar"
    assert play.media == ("sound:ar/pbx/hello", "sound:en/pbx/bye")  # bye falls back to en
    assert call.interp.language == "ar"


LOOKUP = """
    crm:
      kind: lookup
      method: POST
      url: "https://crm.example.com/accounts/${account}?from=${caller}"
      headers: {X-Source: "ivr ${flow}"}
      body: {account: "${account}", vip: true}
      timeout: 2
      into: {tier: customer.tier, first: orders.0.id, missing: a.b, blob: customer}
      next: ok
      on_failure: ko
    ok: {kind: hangup}
    ko: {kind: hangup, cause: failure}
"""


def test_lookup_success_fills_variables() -> None:
    call = Call(one_flow(LOOKUP, head="variables: {account: 'A B/1'}\n"))
    call.start()
    req = call.last(HttpLookup)
    assert req.method == "POST"
    assert req.url == "https://crm.example.com/accounts/A%20B%2F1?from=%2B15550001"
    assert req.headers == (("X-Source", "ivr f"),)
    assert req.body == {"account": "A B/1", "vip": True}
    assert req.timeout == 2
    assert call.interp.waiting is Wait.LOOKUP
    call.feed(LookupResult(200, {"customer": {"tier": "gold"}, "orders": [{"id": 7}]}))
    v = call.interp.variables
    assert (v["tier"], v["first"], v["missing"]) == ("gold", 7, "")
    assert v["blob"] == '{"tier": "gold"}'
    assert call.path()[0] == ("crm", "ok")


@pytest.mark.parametrize(
    ("event", "reason"),
    [(LookupResult(503, None), "HTTP 503"), (LookupFailed("timeout"), "timeout")],
)
def test_lookup_failure_branch(event: LookupResult | LookupFailed, reason: str) -> None:
    call = Call(one_flow(LOOKUP, head="variables: {account: '1'}\n"))
    call.start()
    out = call.feed(event)
    assert out[-1] == Hangup("failure")
    assert call.journal("ivr.leave")[0]["reason"] == reason


def test_keys_pressed_during_a_lookup_are_typed_ahead() -> None:
    nodes = LOOKUP.replace("next: ok", "next: main").replace("    ok: {kind: hangup}\n", "")
    call = Call(one_flow([nodes, MENU], head="variables: {account: '1'}\n"))
    call.start()
    assert call.press("2") == []
    call.feed(LookupResult(200, {}))
    assert call.path()[:2] == [("crm", "ok"), ("main", "option")]


QUEUE = """
    q:
      kind: queue
      queue: "support_${language}"
      priority: "${priority}"
      skills: {billing: 2, "${skill}": "${level}", "${nothing}": 1}
      max_wait: 300
"""
QUEUE_BACK = (
    QUEUE
    + """      next: back
    back: {kind: hangup, cause: congestion}
"""
)


def test_queue_without_next_hands_the_call_to_the_acd() -> None:
    call = Call(
        one_flow(QUEUE, head="variables: {priority: 7, skill: arabic, level: 3, nothing: ''}\n")
    )
    out = call.start()
    # An empty skill name (unset variable) is left out.
    assert out[-1] == Enqueue("support_en", 7, {"billing": 2, "arabic": 3}, 300.0)
    assert call.interp.outcome is Outcome.ENQUEUED and call.interp.done
    assert call.path() == [("q", "enqueued")]


def test_queue_with_next_waits_for_the_acd() -> None:
    head = "variables: {priority: high, skill: arabic, level: 3, nothing: ''}\n"
    call = Call(one_flow(QUEUE_BACK, head=head))
    call.start()
    assert call.last(Enqueue).priority == 0  # "high" is not a number: warned, 0
    warning = call.journal("ivr.warning")[0]["message"]
    assert warning == "priority 'high' is not a whole number; using 0"
    assert call.interp.waiting is Wait.QUEUE
    out = call.feed(QueueExited("timeout"))
    assert out[-1] == Hangup("congestion")
    assert call.journal("ivr.leave")[0]["reason"] == "timeout"

    call = Call(one_flow(QUEUE_BACK, head=head))
    call.start()
    call.feed(QueueAnswered("agent-7"))
    assert call.interp.outcome is Outcome.ENQUEUED
    assert call.path() == [("q", "answered")]


TRANSFER_FLOWS = """
flows:
  main:
    dids: ["100"]
    entry: to_other
    languages: [en, ar]
    variables: {x: 1}
    nodes:
      to_other: {kind: transfer, flow: other}
  other:
    dids: ["200"]
    entry: agent
    languages: [fr]
    variables: {x: 2, y: 3}
    nodes:
      agent: {kind: transfer, agent: "1001", on_failure: number}
      number: {kind: transfer, number: "+15550199"}
"""


def test_transfer_to_a_flow_an_agent_and_a_number() -> None:
    call = Call(flows(TRANSFER_FLOWS))
    out = call.start()
    assert FlowJournalRow("ivr.flow", {"from": "main", "to": "other"}) in out
    assert SetLanguage("fr") in out  # en is not a language of the other flow
    assert call.interp.flow.name == "other"
    assert (call.interp.variables["x"], call.interp.variables["y"]) == (1, 3)
    assert out[-1] == Transfer("agent", "1001")
    assert call.interp.waiting is Wait.TRANSFER
    out = call.feed(TransferFailed("busy"))
    assert out[-1] == Transfer("number", "+15550199")
    assert call.interp.outcome is Outcome.TRANSFERRED
    assert call.path() == [
        ("to_other", "flow"),
        ("agent", "failed"),
        ("number", "transferred"),
    ]


def test_transfer_completed() -> None:
    call = Call(flows(TRANSFER_FLOWS), did="200")
    call.start()
    call.feed(TransferCompleted())
    assert call.interp.outcome is Outcome.TRANSFERRED
    assert call.path() == [("agent", "transferred")]


VOICEMAIL = """
    vm:
      kind: voicemail
      prompts: bye
      agent: "1001"
      max_seconds: 60
      max_silence: 4
      next: done
      on_failure: failed
    done: {kind: hangup}
    failed: {kind: hangup, cause: failure}
"""


def test_voicemail_records_after_its_prompt() -> None:
    call = Call(one_flow(VOICEMAIL))
    call.start()
    assert call.last(Play).barge_in is False
    out = call.finish_play()
    assert out == [Voicemail("agent", "1001", 60.0, 4.0, True, "#")]
    assert call.interp.waiting is Wait.RECORDING
    call.feed(VoicemailRecorded("rec-1", 12.5))
    assert call.journal("ivr.leave")[0] == {
        "flow": "f",
        "node": "vm",
        "kind": "voicemail",
        "result": "recorded",
        "recording": "rec-1",
        "duration": 12.5,
        "next": "done",
    }


def test_voicemail_failure() -> None:
    call = Call(one_flow(VOICEMAIL))
    call.start()
    call.finish_play()
    out = call.feed(VoicemailFailed("disk full"))
    assert out[-1] == Hangup("failure")


def test_step_limit_stops_a_loop() -> None:
    call = Call(
        one_flow(
            """
            a: {kind: set, variables: {n: 1}, next: b}
            b: {kind: branch, cases: [{if: "n == 1", next: a}], else: end}
            end: {kind: hangup}
            """,
            head="max_steps: 5\n",
        )
    )
    out = call.start()
    assert call.interp.outcome is Outcome.STEP_LIMIT_EXCEEDED
    assert out[-1] == Hangup("normal")
    assert call.journal("ivr.step_limit") == [
        {"flow": "f", "node": "b", "steps": 5, "max_steps": 5}
    ]
    assert len(call.journal("ivr.enter")) == len(call.journal("ivr.leave")) == 5


def test_caller_hangup_closes_the_node_and_the_timer() -> None:
    call = Call(one_flow(MENU))
    call.start()
    call.finish_play()
    timer = call.last(StartTimer).timer_id
    out = call.feed(CallerHungUp())
    assert out[0] == CancelTimer(timer)
    assert call.path() == [("main", "caller_hung_up")]
    assert call.interp.outcome is Outcome.CALLER_HUNG_UP
    assert call.feed(DtmfReceived("1")) == []


def test_interpreter_misuse() -> None:
    flowset = one_flow(MENU)
    with pytest.raises(NoFlowForDid):
        Interpreter(flowset, CallContext("1", "999", FRIDAY_10AM))
    with pytest.raises(ValueError, match="aware"):
        Interpreter(flowset, CallContext("1", "100", datetime(2026, 1, 1)))
    interp = Interpreter(flowset, CallContext("1", "100", FRIDAY_10AM))
    with pytest.raises(RuntimeError):
        interp.feed(CallerHungUp())
    interp.start()
    with pytest.raises(RuntimeError):
        interp.start()
    chosen = Interpreter(flowset, CallContext("1", "999", FRIDAY_10AM), flow="f")
    assert chosen.flow.name == "f"


def test_runtime_values_that_cannot_be_said_are_skipped_with_a_warning() -> None:
    call = Call(
        one_flow(
            """
            hi:
              kind: play
              prompts: [{digits: "${v}"}, {number: "${v}"}, {sound: "${v}"}]
              next: end
            end: {kind: hangup}
            """,
            head="variables: {v: 'x y'}\n",
        )
    )
    out = call.start()
    assert not call.played()
    assert [d["message"] for d in call.journal("ivr.warning")] == [
        "cannot say digits 'x y'",
        "cannot say number 'x y'",
        "cannot play sound 'x y'",
    ]
    assert out[-1] == Hangup("normal")
