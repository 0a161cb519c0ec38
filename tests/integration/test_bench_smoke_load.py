"""The load scripts end to end at their smallest (test_bench_smoke.py says why and what is not
judged): the soak, the waiting callers, the cluster's steps and a controller's failover. Each
runs on private sandbox instances of its own, on this xdist worker's ports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_bench_smoke import run_script

pytestmark = pytest.mark.integration


def test_a_short_soak_leaves_no_failed_call_and_nothing_stuck(tmp_path: Path) -> None:
    # The soak exits 1 on a failed call, a channel or bridge left in Asterisk or an agent not
    # available at the end.
    output = run_script("soak", "--minutes", "0.2", "--idle", "2", "--every", "5", "--agents",
                        "3", "--workdir", str(tmp_path))
    assert "60/60 successful, 0 failed" in output, output
    assert "left at the end: 0 channel(s), 0 bridge(s) in Asterisk; agents not available: 0" \
        in output, output


def test_the_waiting_benchmark_has_every_caller_waiting_in_both_flows(tmp_path: Path) -> None:
    output = run_script("bench-waiting", "--callers", "20", "--agents", "5", "--window", "3",
                        "--workdir", str(tmp_path))
    assert "| callers failed (sipp) | 0 | 0 |" in output, output
    assert "every caller waiting: yes" in output, output


def test_the_cluster_benchmark_serves_each_step_on_one_node_and_on_the_cluster() -> None:
    output = run_script("bench-cluster", "--rates", "5", "--duration", "5")
    steps = re.findall(r"^\s+(one node|cluster)\s+5\.0/s\s+calls\s+(\d+)\s+failed\s+(\d+)",
                       output, re.MULTILINE)
    assert sorted(kind for kind, _, _ in steps) == ["cluster", "one node"], output
    assert all(int(calls) == 25 and failed == "0" for _, calls, failed in steps), output


def test_the_failover_benchmark_keeps_every_call_over_a_controllers_kill() -> None:
    output = run_script("bench-failover", "--rounds", "1")
    assert "calls up 25, dropped 0" in output, output
    assert "journal rows expected 75, found 75 (duplicates 0, gaps 0)" in output, output
    assert "agents offered a second call 0, agents stuck 0" in output, output
