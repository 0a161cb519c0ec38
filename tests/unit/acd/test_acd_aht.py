"""Average handle time does not dip while a part is in wrap-up (issue 13): a part is handled
once its wrap-up ends, so after every journal row AHT is the mean handle (talk + wrap-up) of the
parts that are over, the same live (after each decision's rows) as in a report (the whole
journal at once)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.acd.figures import Figures

START = 1_780_000_000.0  # a fixed instant; every row falls on the same UTC day
Row = tuple[str, float, str, str, str, dict[str, Any]]

# (talk seconds, wrap-up seconds: 0 means the queue has none) of each call the agent takes
CALLS = st.lists(st.tuples(st.integers(1, 600), st.integers(0, 120)), min_size=1, max_size=8)


def _journal(calls: list[tuple[int, int]]) -> list[Row]:
    rows: list[Row] = []
    at = START
    for n, (talk, wrapup) in enumerate(calls):
        call = f"c{n}"
        rows.append(("ENTERQUEUE", at, call, "q", "", {}))
        rows.append(("CONNECT", at + 5, call, "q", "a", {"wait": 5.0}))
        at += 5 + talk
        rows.append(("COMPLETECALLER", at, call, "q", "a", {"talk": float(talk)}))
        if wrapup:
            rows.append(("WRAPUPSTART", at, call, "q", "a", {"seconds": float(wrapup)}))
            at += wrapup
            rows.append(("WRAPUPEND", at, call, "q", "a",
                         {"seconds": float(wrapup), "early": False}))
        at += 30
    return rows


@given(CALLS)
def test_aht_is_the_mean_handle_of_the_parts_that_are_over_after_every_row(
    calls: list[tuple[int, int]],
) -> None:
    rows = _journal(calls)
    live = Figures()
    done: list[int] = []  # handle of each part that is over
    for i, (event, at, call, queue, agent, data) in enumerate(rows):
        live.add(event, at, call, queue or None, agent or None, data)
        n = int(call[1:])
        talk, wrapup = calls[n]
        if (event == "COMPLETECALLER" and not wrapup) or event == "WRAPUPEND":
            done.append(talk + wrapup)
        if i + 1 < len(rows) and rows[i + 1][1] == at:
            continue  # one decision's rows (a talk's end and its wrap-up's start) go together
        day = live.calendar.bucket(at)
        q, a = live.queue("q", day), live.agent("a", day)
        expected = sum(done) / len(done) if done else None
        assert q.handled == a.handled == len(done)
        for tally in (q, a):
            aht = tally.average_handle
            assert (aht is None and expected is None) or (
                aht is not None and expected is not None and abs(aht - expected) < 1e-6)
    # A report folding the whole journal at once says the same as the live fold.
    report = Figures()
    for event, at, call, queue, agent, data in rows:
        report.add(event, at, call, queue or None, agent or None, data)
    day = report.calendar.bucket(rows[-1][1])
    assert report.queue("q", day).average_handle == live.queue("q", day).average_handle


def test_in_wrap_up_the_part_waits_and_aht_keeps_its_value() -> None:
    rows = _journal([(100, 20), (200, 40)])
    figures = Figures()
    seen: list[tuple[str, float | None]] = []
    for event, at, call, queue, agent, data in rows:
        figures.add(event, at, call, queue or None, agent or None, data)
        seen.append((event, figures.queue("q", figures.calendar.bucket(at)).average_handle))
    # Before the fix the second call's WRAPUPSTART showed (100 + 20 + 200) / 2 = 160: a dip
    # from 120 below the 180 both calls' handle averages once its wrap-up is in.
    assert [aht for event, aht in seen if event in ("WRAPUPSTART", "WRAPUPEND")] == [
        None, 120.0, 120.0, 180.0]
