"""Every benchmark script runs end to end at its smallest, on the real stack, and what it measures
holds: no failed call, no handler error, nothing lost, the figures it compares agreeing. A check
that the scripts still run against the app's current API (bench-ivr and bench-originate had not
started for sessions, and bench-ivr then failed in its handler on every event, unseen); speed is
the benchmarks' business, not a test's: no figure is judged here. The heavier load scripts are
in test_bench_smoke_load.py (a file to an xdist worker: the two halves run side by side).

Left out: bench-dialer's live part (the live campaigns have their tests). bench-amd runs with
its accuracy bar off: AMD's verdicts are timing-bound on a busy machine (the campaigns' AMD has
its live tests)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def run_script(name: str, *args: str, within: float = 240) -> str:
    """Run scripts/`name` (it re-executes itself in the venv); its output, when it exited 0."""
    result = subprocess.run([sys.executable, str(REPO / "scripts" / name), *args],
                            capture_output=True, text=True, timeout=within, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{output[-4000:]}"
    assert "Traceback" not in output, output[-4000:]
    return output


def test_the_benchmark_runs_both_flows_and_reports(tmp_path: Path) -> None:
    output = run_script("bench", "--rate", "5", "--duration", "2", "--agents", "6", "--warmup",
                        "2", "--rounds", "2", "--count-calls", "--workdir", str(tmp_path))
    assert re.search(r"\d+ function calls a call, \d+ of them Python functions", output), output
    assert "pbx_stasis/acd" in output, output  # the ACD's own calls were counted
    report = (tmp_path / "report.txt").read_text()
    assert "| calls offered" in report and "ours: ARI requests per call" in report
    # the second round, its order reversed, in a folder of its own: none failed either
    rounds = [line for line in report.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rounds) == 2 and all(line.endswith("| 0/0 |") for line in rounds), report
    assert "over 2 rounds, median" in report, report
    results = json.loads((tmp_path / "results.json").read_text())
    assert results, "results.json is empty"
    assert "failed calls: ours 0, app_queue 0" in report, report
    assert "handler errors 0" in report, report


def test_the_ivr_benchmark_walks_every_caller_through_the_menu() -> None:
    output = run_script("bench-ivr", "--calls", "10")
    assert "10 successful, 0 failed (sipp); 10 flows ended, 10 walked all 3 levels, 0 wrong" \
        in output, output
    assert "DTMF received -> next prompt started: n=30" in output, output


def test_the_originate_benchmark_times_every_variant() -> None:
    output = run_script("bench-originate", "--calls", "5")
    for variant in ("| originate |", "| originate+originator |", "| created+dial |"):
        assert variant in output, output


def test_the_reports_benchmark_reads_the_rollups_with_the_folds_figures() -> None:
    output = run_script("bench-reports", "--calls", "1000", "--no-orm")
    assert "the rollups' report has the fold's figures: yes" in output, output


def test_the_writer_benchmark_writes_every_batch_size() -> None:
    output = run_script("bench-writer", "--calls", "100")
    for size in (1, 3, 10, 50):
        assert f"{size:>5} a transaction:" in output, output


def test_the_webhooks_benchmark_delivers_every_event() -> None:
    output = run_script("bench-webhooks", "--events", "100")
    assert "100 deliveries" in output and "dropped 0" in output, output


def test_the_feed_benchmark_delivers_every_event_to_every_client(tmp_path: Path) -> None:
    output = run_script("bench-feed", "--clients", "6", "--events", "10", "--workdir",
                        str(tmp_path))
    assert "60 of 60 deliveries, 0 missing" in output, output
    assert "client errors" not in output, output


def test_the_dialer_simulation_paces_within_its_abandon_targets() -> None:
    # The simulation is seeded: its verdicts (predictive keeps each abandon target and beats
    # progressive's occupancy) are the pacing core's, not the machine's.
    output = run_script("bench-dialer", "--hours", "2", "--seeds", "2")
    assert "predictive       5%" in output and "FAIL" not in output, output


def test_the_analytics_benchmark_measures_the_bundled_engine() -> None:
    output = run_script("bench-analytics", "--sentences", "2")
    assert "pocketsphinx   g711   WER" in output, output


def test_the_amd_benchmark_judges_every_greeting() -> None:
    output = run_script("bench-amd", "--noise", "0", "--min-accuracy", "0")
    assert "14 greetings; AMD verdicts" in output and "  noise 0     accuracy" in output, output
