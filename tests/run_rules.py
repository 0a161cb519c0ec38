"""The rules of a test run, as pytest hooks (tests/conftest.py installs them).

- Every test is marked by its kind from its folder: `unit`, `integration` or `e2e`, so
  `-m unit` or `-m "not e2e"` select by kind (markers are registered in setup.cfg and checked
  with --strict-markers).
- A skipped test fails. Every tool the suite needs (the sandbox Asterisk, sipp, PostgreSQL,
  Chromium, espeak-ng...) is installed by scripts/test, which CI runs: a test that skips there
  would hide a hole, and locally it would pass without having run. Leave tests out explicitly
  with -m or -k instead. (`pytest.xfail` stays what it is: an expected failure.)
- In CI ($CI set, as CI runs scripts/test), a run must leave the tracked files of the checkout
  as it found them: a test that writes into the repository (screenshots into docs/, a
  regenerated example) fails the run. Not on a developer's machine, where files edited by hand
  during a run would look the same.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Generator
from pathlib import Path

import pytest

KINDS = ("unit", "integration", "e2e")
NEVER_SKIP = (
    "skipped, but tests here never skip ({reason}): install what is missing (scripts/test "
    "installs everything), or leave the test out with -m/-k"
)
_CHECKOUT = pytest.StashKey[dict[str, str] | None]()


def mark_kinds(items: list[pytest.Item]) -> None:
    """Add the kind marker of each test from the folder under tests/ it lives in."""
    for item in items:
        parts = item.path.parts
        for kind in KINDS:
            if kind in parts and parts[parts.index(kind) - 1] == "tests":
                item.add_marker(kind)
                break


def fail_skips(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turn a skip (not an xfail) into a failure that says what was missing."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = NEVER_SKIP.format(reason=reason.removeprefix("Skipped: "))


def tracked_changes(root: Path) -> dict[str, str] | None:
    """Modified tracked files under `root` with a hash of their content; None outside git."""
    try:
        listed = subprocess.run(
            ["git", "status", "--porcelain=v1", "-z", "--untracked-files=no"],
            cwd=root, capture_output=True, check=True, timeout=30,
        ).stdout
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=root, capture_output=True, check=True, text=True, timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    changed: dict[str, str] = {}
    for entry in listed.decode(errors="replace").split("\0"):
        if len(entry) < 4:
            continue
        path = entry[3:]
        try:
            changed[path] = hashlib.sha256((Path(top) / path).read_bytes()).hexdigest()
        except OSError:
            changed[path] = "gone"
    return changed


def written_by_the_run(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(path for path, digest in after.items() if before.get(path) != digest)


# --- the hooks --------------------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_kinds(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    fail_skips(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield  # a module-level skip or importorskip
    fail_skips(report)
    return report


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI"):
        session.stash[_CHECKOUT] = tracked_changes(session.config.rootpath)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.stash.get(_CHECKOUT, None)
    after = tracked_changes(session.config.rootpath) if before is not None else None
    if before is None or after is None:
        return
    written = written_by_the_run(before, after)
    if written:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            "the tests changed tracked files (tests must write to tmp_path or build/): "
            + ", ".join(written)
        )
        if reporter is not None:
            reporter.write_line(f"ERROR: {message}", red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
