"""Screenshots of a test run go to an ignored build folder unless scripts/screenshots asks."""

from __future__ import annotations

import subprocess

import pytest
import screenshots


def test_a_test_run_puts_screenshots_in_an_ignored_build_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PBX_SCREENSHOTS", raising=False)
    folder = screenshots.folder()
    assert folder == screenshots.REPO / "build" / "screenshots"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(folder / "agent.png")],
                             cwd=screenshots.REPO, check=False)
    assert ignored.returncode == 0, f"{folder} is not ignored by git"


def test_scripts_screenshots_names_the_docs_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBX_SCREENSHOTS", "docs/screenshots")
    assert screenshots.folder() == screenshots.REPO / "docs" / "screenshots"
    script = (screenshots.REPO / "scripts" / "screenshots").read_text(encoding="utf-8")
    assert "PBX_SCREENSHOTS=docs/screenshots" in script
