"""The operator's files: the Grafana dashboard reads only metrics a running app exposes (a
renamed metric must not leave a panel empty), and the systemd units run the right part with a
restart policy that does not loop on a configuration error, checked by systemd itself."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pbx_stasis.app import StasisApp
from pbx_stasis.bus import Bus
from pbx_stasis.config import Settings
from pbx_stasis.store import Database
from pbx_stasis.web.health import Health

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
UNITS = {"pbx.service": "run", "pbx-stasis.service": "run --part stasis",
         "pbx-web.service": "run --part web"}


def _exposed_families(folder: Path) -> set[str]:
    """Every metric family (and sample name) of a Stasis app's /metrics, before it starts
    (nothing connects: the database file is never opened)."""
    db = Database.connect(f"sqlite+aiosqlite:///{folder}/pbx.db")
    app = StasisApp(Settings(), db, Bus())
    health = Health()
    app.watched_by(health)
    text = generate_latest(health.registry).decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(f"{family.name}{suffix}" for suffix in
                     ("_total", "_bucket", "_count", "_sum"))
    return names


def test_every_dashboard_metric_is_exposed(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"]
             for target in panel.get("targets", ())]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    assert exprs
    used = {name for expr in exprs
            for name in re.findall(r"\b((?:pbx|process)_[a-z_]+)\b", expr)}
    assert {"pbx_calls", "pbx_ari_request_seconds_bucket", "process_cpu_seconds_total"} <= used
    missing = used - _exposed_families(tmp_path)
    assert not missing, f"the dashboard reads metrics nobody exposes: {sorted(missing)}"
    # Each panel has a place of its own on the grid.
    places = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in dashboard["panels"]]
    assert len(places) == len(set(places))


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_systemd_unit(unit: str, tmp_path: Path) -> None:
    path = ROOT / "deploy" / unit
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    service = parser["Service"]
    assert service["ExecStart"].endswith(f"/pbx {UNITS[unit]}")
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a config error: restarting cannot help
    assert parser["Unit"]["StartLimitBurst"]
    # systemd's own reading of it (the program path swapped for one that exists here).
    checked = tmp_path / unit
    checked.write_text(path.read_text().replace("/opt/pbx-stasis/.venv/bin/pbx", "/bin/true"))
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze (package systemd) is needed to check units"
    done = subprocess.run([analyze, "verify", "--man=no", str(checked)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
