"""The simulator walks the example flow with the live interpreter; the `pbx ivr` entry points."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from ivr_testing import DUBAI, EXAMPLE, FRIDAY_10AM

from pbx_stasis.ivr.errors import FlowSetInvalid, NoFlowForDid
from pbx_stasis.ivr.simulate import simulate, simulate_main, validate_main

HERE = Path(__file__).parent
CRM = json.loads((EXAMPLE.parent / "crm-gold.json").read_text(encoding="utf-8"))


def test_support_line_in_arabic_to_the_vip_billing_queue() -> None:
    lines = simulate(
        EXAMPLE,
        did="+97145550100",
        caller="+971501234567",
        digits=["2", "1", "1", "12345678#"],
        at=FRIDAY_10AM,
        lookup_json=CRM,
    )
    expected = (HERE / "simulate_support.txt").read_text(encoding="utf-8").splitlines()
    assert lines == expected


def test_holiday_goes_to_voicemail() -> None:
    national_day = datetime(2026, 12, 2, 10, 0, tzinfo=DUBAI)
    lines = simulate(EXAMPLE, "+97145550100", "+971501234567", ["1"], national_day)
    assert "      => closed (exception National Day, next closed_message)" in lines
    assert "      record voicemail for queue support mailbox, up to 120s, beep" in lines
    assert lines[-2:] == ["      hang up (normal)", "end: hung_up after 8 steps"]


def test_no_keys_and_wrong_keys() -> None:
    # 9 is no option, then nothing: the language menu falls back to English; the main menu
    # times out three times and the caller goes to the operator.
    lines = simulate(
        EXAMPLE, "+97145550100", "+971501234567", ["9"], FRIDAY_10AM, transfer_failure="busy"
    )
    assert "      invalid '9' (attempt 1)" in lines
    assert lines.count("      no key for 5s: timeout") == 3
    assert "      transfer to agent 1001" in lines
    assert "      transfer fails: busy" in lines
    assert lines[-1] == "end: enqueued after 8 steps"


def test_queue_hands_the_call_back_and_keys_left_over() -> None:
    lines = simulate(
        EXAMPLE,
        "+97145550100",
        "+971501234567",
        ["1", "1", "*9", "1", "", "", "", "7"],
        datetime(2026, 11, 21, 9, 0, tzinfo=DUBAI),  # Saturday morning: open
        queue_exit="timeout",
    )
    assert "      keys not used: 9" in lines  # '*' went back to the main menu
    assert lines.count("      no key for 5s: timeout") == 3
    assert "      the ACD hands the call back: timeout" in lines
    assert "      => exited (reason timeout, next billing_overflow)" in lines
    assert "digits not used: 7" in lines
    assert lines[-1] == "end: hung_up after 14 steps"


def test_sales_flow_and_errors() -> None:
    lines = simulate(EXAMPLE, "+97145550200", "x", [], FRIDAY_10AM)
    assert lines[-1] == "end: enqueued after 2 steps"
    with pytest.raises(NoFlowForDid):
        simulate(EXAMPLE, "+1", "x", [], FRIDAY_10AM)
    with pytest.raises(FlowSetInvalid):
        simulate("flows: {}\nx: 1\n", "+1", "x", [], FRIDAY_10AM)


def test_simulate_main(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    crm = tmp_path / "crm.json"
    crm.write_text(json.dumps(CRM), encoding="utf-8")
    args = [str(EXAMPLE), "--did", "+97145550100", "--caller", "+971501234567"]
    code = simulate_main(
        [
            *args,
            "--digits",
            "2,1,1,12345678#",
            "--at",
            "2026-11-20T10:00+04:00",
            "--lookup-json",
            str(crm),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out == (HERE / "simulate_support.txt").read_text(encoding="utf-8")
    assert simulate_main([*args, "--digits", "1,x"]) == 2
    assert simulate_main([*args, "--at", "2026-11-20T10:00"]) == 2
    assert simulate_main([*args, "--at", "tomorrow"]) == 2
    assert simulate_main([*args, "--lookup-json", str(tmp_path / "none.json")]) == 2
    assert simulate_main([str(EXAMPLE), "--did", "+1"]) == 1
    assert simulate_main([str(HERE / "mistakes.yaml"), "--did", "+1"]) == 1
    assert simulate_main([]) == 2
    err = capsys.readouterr().err
    assert "no flow answers DID +1 (known: +97145550100, +97145550101, +97145550200)" in err
    assert "mistakes.yaml:6:15: unknown timezone" in err


def test_validate_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_main([str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith("ok: 2 flow(s), 32 nodes, 3 DID(s): +97145550100 ->")
    assert validate_main([str(HERE / "mistakes.yaml")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "32 problems found"
    assert err[0].endswith(
        "mistakes.yaml:6:15: unknown timezone 'Europe/Pariss' (did you mean 'Europe/Paris'?)"
    )
    assert validate_main([]) == 2
