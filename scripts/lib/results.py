"""Reads the JUnit files of scripts/test's pytest runs.

  results.py failed FILE             the node ids of FILE's failed tests, one per line
  results.py total FILE... [--rerun FILE]
                                     counts every run's tests; with --rerun, a test that failed
                                     first counts as passed when it passed in that rerun (and is
                                     named: a test that needed a second try is news)
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cases(path: str) -> list[tuple[str, str]] | None:
    """(node id, outcome) of every test in a JUnit file; None when there is none to read."""
    try:
        found = list(ET.parse(path).getroot().iter("testcase"))
    except (OSError, ET.ParseError) as exc:
        print(f"no results in {path}: {exc}")
        return None
    out = []
    for case in found:
        tags = {child.tag for child in case}
        outcome = ("failed" if tags & {"failure", "error"}
                   else "skipped" if "skipped" in tags else "passed")
        out.append((node_id(case.get("classname", ""), case.get("name", "")), outcome))
    return out


def node_id(classname: str, name: str) -> str:
    """pytest's node id from JUnit's dotted class name: the longest prefix that is a file."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (ROOT / path).is_file():
            return "::".join([path, *parts[cut:], name])
    return f"{classname}::{name}"


def main(argv: list[str]) -> int:
    if argv[:1] == ["failed"] and len(argv) == 2:
        for test, outcome in cases(argv[1]) or []:
            if outcome == "failed":
                print(test)
        return 0
    if argv[:1] != ["total"]:
        print(__doc__, file=sys.stderr)
        return 2
    files, rerun = argv[1:], None
    if "--rerun" in files:
        at = files.index("--rerun")
        files, rerun = files[:at], files[at + 1]
    second = {test: outcome for test, outcome in cases(rerun) or []} if rerun else {}
    passed = failed = 0
    retried = []
    for path in files:
        found = cases(path)
        if found is None:
            failed += 1
            continue
        for test, outcome in found:
            if outcome == "failed" and second.get(test) == "passed":
                retried.append(test)
                outcome = "passed"
            if outcome == "failed":
                failed += 1
            elif outcome == "passed":  # ("skipped" left here is an xfail: a skip fails)
                passed += 1
    print(f"total: {passed} passed, {failed} failed")
    if retried:
        print(f"{len(retried)} of them passed only on a second try (look into it):")
        for test in retried:
            print(f"  {test}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
