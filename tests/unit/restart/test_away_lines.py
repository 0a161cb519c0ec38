"""The dialplan's lines for calls it let go while the app was away (restart/away.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from pbx_stasis.restart.away import parse_line
from pbx_stasis.store import Direction


def test_a_refused_call_line_is_read_field_by_field() -> None:
    call = parse_line("1796183890.0_inbound_5551000_+33611223344_1796183890_1796183921_refused_34")
    assert call is not None
    assert call.channel_id == "1796183890.0"
    assert call.direction is Direction.INBOUND
    assert (call.to_number, call.from_number) == ("5551000", "+33611223344")
    assert call.since == datetime.fromtimestamp(1796183890, UTC)
    assert (call.ended - call.since).total_seconds() == 31
    assert (call.why, call.cause) == ("refused", 34)


def test_an_abandoned_call_without_caller_id_or_start() -> None:
    call = parse_line("1.2_outbound_*21#__ _1796183921_abandoned_16".replace(" ", ""))
    assert call is not None
    assert call.from_number == "anonymous" and call.to_number == "*21#"
    assert call.since == call.ended and call.why == "abandoned"


def test_lines_that_are_not_a_calls_are_refused() -> None:
    for key in ("", "junk", "1.2_sideways_1_2_3_4_refused_34", "1.2_inbound_1_2_x_4_refused_34",
                "1.2_inbound_1_2_3_4_refused"):
        assert parse_line(key) is None
