"""The compliance judge: do-not-call first, calling hours in the callee's own time zone (DST
included, every zone of a number that spans several), then list work's attempts and retry
delays."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from pbx_stasis.dialing.compliance import (
    Attempts,
    CallingHours,
    ComplianceInvalid,
    ComplianceRules,
    DoNotCall,
    Purpose,
    checked_rules,
    judge,
    next_try,
    rules_json,
    zones_for,
)

HOURS = ComplianceRules(hours=CallingHours(time(8), time(21)))
SF = "+14155550100"  # San Francisco: America/Los_Angeles
NYC = "+12125550100"  # New York: America/New_York
PARIS = "+33142685300"  # Paris fixed line: Europe/Paris


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_do_not_call_refuses_every_purpose_even_within_hours() -> None:
    entry = DoNotCall(SF, "tenant", "asked on 2026-11-30")
    for purpose in Purpose:
        ruling = judge(SF, rules=HOURS, now=at("2026-12-02T18:00"), purpose=purpose,
                       do_not_call=entry)
        assert not ruling.allowed and ruling.reason == "do-not-call"
        assert "your do-not-call list (asked on 2026-11-30)" in ruling.message
    ruling = judge(SF, rules=HOURS, now=at("2026-12-02T18:00"), purpose=Purpose.AGENT,
                   do_not_call=DoNotCall(SF, "global"))
    assert "the global do-not-call list" in ruling.message


def test_calling_hours_are_the_callees_own() -> None:
    # 18:00 UTC on 2 Dec: 10:00 in San Francisco (PST), 13:00 in New York, 19:00 in Paris.
    noon_utc = at("2026-12-02T18:00")
    assert judge(SF, rules=HOURS, now=noon_utc, purpose=Purpose.AGENT).allowed
    # 05:30 UTC: 21:30 the evening before in San Francisco, 00:30 in New York.
    late = judge(SF, rules=HOURS, now=at("2026-12-02T05:30"), purpose=Purpose.AGENT)
    assert not late.allowed and late.reason == "calling-hours"
    assert late.zones == ("America/Los_Angeles",)
    assert "21:30 in America/Los_Angeles" in late.message
    # 07:30 UTC is 08:30 in Paris: a French number may be called, a Californian not.
    assert judge(PARIS, rules=HOURS, now=at("2026-12-02T07:30"), purpose=Purpose.TASK).allowed
    assert not judge(SF, rules=HOURS, now=at("2026-12-02T07:30"), purpose=Purpose.TASK).allowed


def test_daylight_saving_time_moves_the_window() -> None:
    # 12:30 UTC is 08:30 EDT in July (allowed) but 07:30 EST in December (refused).
    assert judge(NYC, rules=HOURS, now=at("2026-07-01T12:30"), purpose=Purpose.AGENT).allowed
    winter = judge(NYC, rules=HOURS, now=at("2026-12-01T12:30"), purpose=Purpose.AGENT)
    assert not winter.allowed and "07:30 in America/New_York" in winter.message
    # The night clocks change (1 Nov 2026, 02:00 EDT -> 01:00 EST): 00:59 UTC is 20:59 EDT,
    # within hours; 01:00 UTC the same evening is 21:00 EDT, out.
    assert judge(NYC, rules=HOURS, now=at("2026-11-01T00:59"), purpose=Purpose.AGENT).allowed
    assert not judge(NYC, rules=HOURS, now=at("2026-11-01T01:00"),
                     purpose=Purpose.AGENT).allowed
    # After the change 01:30 UTC is 20:30 EST on 1 Nov: allowed again.
    assert judge(NYC, rules=HOURS, now=at("2026-11-02T01:30"), purpose=Purpose.AGENT).allowed


def test_a_number_spanning_zones_must_be_within_hours_in_all_of_them() -> None:
    # An Australian mobile number: phonenumbers places it anywhere from Cocos (UTC+6:30) to
    # Lord Howe (UTC+11 in December).
    mobile = "+61412345678"
    zones = zones_for(mobile, field_zone=None, fallback="UTC")
    assert {"Australia/Sydney", "Australia/Perth", "Indian/Cocos"} <= set(zones)
    # 03:00 UTC: 14:00 in Sydney, 11:00 in Perth, 09:30 on Cocos: within hours everywhere.
    assert judge(mobile, rules=HOURS, now=at("2026-12-02T03:00"), purpose=Purpose.AGENT).allowed
    # 00:00 UTC: 11:00 in Sydney but 07:00 on Christmas Island: refused, naming the zone.
    ruling = judge(mobile, rules=HOURS, now=at("2026-12-02T00:00"), purpose=Purpose.AGENT)
    assert not ruling.allowed and ruling.reason == "calling-hours"
    assert "07:00 in Indian/Christmas" in ruling.message


def test_the_leads_own_zone_field_wins_and_unknown_numbers_take_the_fallback() -> None:
    # A San Francisco number whose lead lives in Paris (the field says so).
    assert judge(SF, rules=HOURS, now=at("2026-12-02T09:00"), purpose=Purpose.TASK,
                 field_zone="Europe/Paris").allowed
    assert zones_for("+80012345678", field_zone=None, fallback="Europe/Berlin") == (
        "Europe/Berlin",)


def test_days_and_no_hours() -> None:
    weekdays = ComplianceRules(hours=CallingHours(time(8), time(21), frozenset(range(5))))
    # Sunday 6 Dec 2026, 10:00 in San Francisco.
    sunday = judge(SF, rules=weekdays, now=at("2026-12-06T18:00"), purpose=Purpose.AGENT)
    assert not sunday.allowed and "mon, tue, wed, thu, fri" in sunday.message
    # No hours set (the default): any time.
    assert judge(SF, rules=ComplianceRules(), now=at("2026-12-02T05:30"),
                 purpose=Purpose.AGENT).allowed


def test_a_transfer_is_judged_by_do_not_call_only() -> None:
    assert judge(SF, rules=HOURS, now=at("2026-12-02T05:30"), purpose=Purpose.TRANSFER).allowed


def test_attempts_and_retry_delays_apply_to_list_work() -> None:
    rules = ComplianceRules(max_attempts=3, retry_minutes={"busy": 10, "no-answer": 60,
                                                            "machine": 240})
    now = at("2026-12-02T18:00")
    spent = Attempts(3, "no-answer", now - timedelta(days=1))
    ruling = judge(SF, rules=rules, now=now, purpose=Purpose.TASK, attempts=spent)
    assert not ruling.allowed and ruling.reason == "max-attempts"
    # An agent's own call is not list work: no attempts rule.
    assert judge(SF, rules=rules, now=now, purpose=Purpose.AGENT, attempts=spent).allowed
    busy = Attempts(1, "busy", now - timedelta(minutes=5))
    ruling = judge(SF, rules=rules, now=now, purpose=Purpose.CAMPAIGN, attempts=busy)
    assert not ruling.allowed and ruling.reason == "retry-delay"
    assert ruling.retry_at == now + timedelta(minutes=5)
    assert judge(SF, rules=rules, now=now + timedelta(minutes=5), purpose=Purpose.TASK,
                 attempts=busy).allowed
    machine = Attempts(2, "machine", now - timedelta(hours=3))
    assert not judge(SF, rules=rules, now=now, purpose=Purpose.TASK, attempts=machine).allowed
    assert judge(SF, rules=rules, now=now + timedelta(hours=1), purpose=Purpose.TASK,
                 attempts=machine).allowed
    # Retries: now + the outcome's delay, none past the maximum.
    assert next_try("no-answer", attempts=2, rules=rules, now=now) == now + timedelta(hours=1)
    assert next_try("busy", attempts=3, rules=rules, now=now) is None


def test_settings_are_checked_and_round_trip() -> None:
    rules = checked_rules({"hours": {"start": "09:00", "end": "20:30", "days": ["mon", "sat"]},
                           "fallback_zone": "Europe/Paris", "region": "fr", "max_attempts": 4,
                           "retry_minutes": {"busy": 5, "no-answer": 30, "machine": 120},
                           "dnc_dispositions": ["Do not call"]})
    assert rules.hours == CallingHours(time(9), time(20, 30), frozenset({0, 5}))
    assert rules.region == "FR" and rules.dnc_dispositions == {"Do not call"}
    assert checked_rules(rules_json(rules)) == rules
    assert checked_rules({}) == ComplianceRules()
    with pytest.raises(ComplianceInvalid) as bad:
        checked_rules({"hours": {"start": "21:00", "end": "08:00"}, "fallback_zone": "Mars/Base",
                       "max_attempts": 0, "retry_minutes": {"busy": -1}})
    assert set(bad.value.problems) == {"hours.end", "max_attempts", "retry_minutes.busy"}
    with pytest.raises(ComplianceInvalid) as zone:
        checked_rules({"fallback_zone": "Mars/Base", "region": "ZZ"})
    assert set(zone.value.problems) == {"fallback_zone", "region"}
    with pytest.raises(ComplianceInvalid) as clock:
        checked_rules({"hours": {"start": "8am", "end": "24:00"}})
    assert clock.value.problems == {"hours.start": "must be a time of day written HH:MM (24 h)",
                                    "hours.end": "must be a time of day written HH:MM (24 h)"}


def test_a_number_may_ask_for_callbacks_up_to_the_cap() -> None:
    from pbx_stasis.dialing.compliance import ComplianceRules, judge_callback

    assert judge_callback("+14155550123", rules=ComplianceRules(), asked=50).allowed
    capped = ComplianceRules(callback_daily_cap=3)
    assert judge_callback("+14155550123", rules=capped, asked=2).allowed
    refused = judge_callback("+14155550123", rules=capped, asked=3)
    assert (refused.allowed, refused.reason) == (False, "callback-cap")
