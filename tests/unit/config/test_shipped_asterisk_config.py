"""The Asterisk config a deployment copies (dialplan/, pjsip/) lets no one in by name alone, and
holds nothing of the sandbox's benchmark baseline (issue 11, finding 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHIPPED_PJSIP = [REPO / "pjsip" / "pjsip.conf", REPO / "pjsip" / "provider-trunk.conf.example"]
SANDBOX_ONLY = REPO / "scripts" / "sandbox" / "bench-app-queue"
SECTION = re.compile(r"^\[([^\]]+)\](\([^)]*\))?\s*$")


def _sections(path: Path) -> list[tuple[str, bool, dict[str, str]]]:
    """(name, is a template, settings) of each section, comments dropped; repeated keys keep
    the last value, as these files never repeat one that matters here."""
    sections: list[tuple[str, bool, dict[str, str]]] = []
    for raw in path.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        header = SECTION.match(line)
        if header:
            sections.append((header[1], "!" in (header[2] or ""), {}))
        elif "=" in line and sections:
            key, _, value = line.partition("=")
            sections[-1][2][key.strip()] = value.strip()
    return sections


@pytest.mark.parametrize(
    "path", [*SHIPPED_PJSIP, SANDBOX_ONLY / "pjsip.conf"], ids=lambda p: p.name
)
def test_every_endpoint_needs_a_password_or_is_found_by_address_only(path: Path) -> None:
    """endpoint_identifier_order tries the From user first: an endpoint without `auth` that can
    be found by name takes anyone's calls."""
    endpoints = [(name, settings) for name, template, settings in _sections(path)
                 if not template and settings.get("type") == "endpoint"]
    assert endpoints, f"no endpoint read from {path}"
    open_by_name = [name for name, settings in endpoints
                    if not settings.get("auth")
                    and settings.get("identify_by", "username,ip").replace(" ", "") != "ip"]
    assert not open_by_name, f"{path.name}: found by From user, no auth: {open_by_name}"


def test_the_benchmark_baseline_is_sandbox_only() -> None:
    shipped = [*SHIPPED_PJSIP, *sorted((REPO / "dialplan").glob("*"))]
    for path in shipped:
        text = path.read_text()
        assert "bench-app-queue" not in text.replace("scripts/sandbox/bench-app-queue/", ""), path
        assert "Queue(" not in text, path
    assert not (REPO / "dialplan" / "queues.conf").exists()
    assert {p.name for p in SANDBOX_ONLY.iterdir()} >= {"pjsip.conf", "extensions.conf",
                                                       "queues.conf"}


@pytest.mark.parametrize("path", SHIPPED_PJSIP, ids=lambda p: p.name)
def test_every_endpoint_ends_a_dead_call(path: Path) -> None:
    """A caller (or phone) whose audio stops must not stay in a queue, or hold an agent, for
    ever (issue 19, item 10): every endpoint and template carries an RTP timeout."""
    endpoints = [(name, settings) for name, _, settings in _sections(path)
                 if settings.get("type") == "endpoint"]
    assert endpoints, f"no endpoint read from {path}"
    without = [name for name, settings in endpoints
               if not settings.get("rtp_timeout") or not settings.get("rtp_timeout_hold")]
    assert not without, f"{path.name}: no rtp_timeout / rtp_timeout_hold: {without}"
