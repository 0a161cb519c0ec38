"""scripts/bench end to end at a small load: both flows run on their own sandbox instance and the
report comes out, every call answered in both (6 agents, ~3 busy at a time). A check that the
benchmark still runs against the app's current API; speed is the benchmark's business, not a
test's: nothing here is timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_both_flows_and_reports(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench"), "--rate", "5", "--duration", "2",
         "--agents", "6", "--warmup", "2", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = (tmp_path / "report.txt").read_text()
    assert "| calls offered" in report and "ours: ARI requests per call" in report
    results = json.loads((tmp_path / "results.json").read_text())
    assert results, "results.json is empty"
    assert "failed calls: ours 0, app_queue 0" in report, report
