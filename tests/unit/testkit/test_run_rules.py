"""The rules of a test run (tests/run_rules.py): skips fail, kinds are markers, tracked files
stay as they were. Each case runs pytest on a small suite of its own (pytester)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import run_rules

pytest_plugins = ["pytester"]
# run_rules is already imported by this suite's conftest: no assertion rewriting for it there.
RULES = ["-p", "run_rules", "-p", "no:cacheprovider", "-p", "no:asyncio",
         "-W", "ignore::pytest.PytestAssertRewriteWarning"]


def test_a_skipped_test_fails_and_says_what_was_missing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_tools="""
        import pytest

        def test_needs_sipp():
            pytest.skip("sipp not found")

        @pytest.mark.skipif(True, reason="no chromium")
        def test_needs_chromium():
            pass

        @pytest.mark.xfail(reason="known", strict=True)
        def test_known_failure():
            assert False

        def test_fine():
            pass
        """,
    )
    result = pytester.runpytest_inprocess(*RULES)
    result.assert_outcomes(passed=1, failed=1, errors=1, xfailed=1)
    output = result.stdout.str()
    assert "never skip (sipp not found)" in output and "never skip (no chromium)" in output
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_module_level_importorskip_fails_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_module="""
        import pytest
        pytest.importorskip("a_module_that_is_not_installed")

        def test_x():
            pass
    """)
    result = pytester.runpytest_inprocess(*RULES)
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*never skip*a_module_that_is_not_installed*"])


def test_each_test_is_marked_by_the_folder_of_its_kind(pytester: pytest.Pytester) -> None:
    for kind in ("unit", "integration", "e2e"):
        (pytester.path / "tests" / kind).mkdir(parents=True)
        test_file = pytester.path / "tests" / kind / f"test_{kind}.py"
        test_file.write_text("def test_it():\n    pass\n")
    pytester.makeini("[pytest]\nmarkers =\n    unit\n    integration\n    e2e\n")
    for kind in ("unit", "integration", "e2e"):
        result = pytester.runpytest_inprocess(*RULES, "--strict-markers", "-m", kind)
        result.assert_outcomes(passed=1, deselected=2)
        result.stdout.no_fnmatch_line(f"*test_{kind}.py*FAILED*")
    assert pytester.runpytest_inprocess(*RULES, "-m", "unit or e2e").ret == pytest.ExitCode.OK


def test_in_ci_a_test_that_writes_a_tracked_file_fails_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=pytester.path, check=True, capture_output=True)

    (pytester.path / "docs").mkdir()
    (pytester.path / "docs" / "shot.png").write_bytes(b"old")
    (pytester.path / "docs" / "edited.md").write_text("edited before the run")
    pytester.makepyfile(test_shots="""
        from pathlib import Path

        def test_takes_a_screenshot():
            Path("docs/shot.png").write_bytes(b"new")

        def test_writes_a_build_file():
            Path("build").mkdir(exist_ok=True)
            Path("build/shot.png").write_bytes(b"new")
    """)
    git("init", "-q")
    git("add", "docs", "test_shots.py")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "start")
    (pytester.path / "docs" / "edited.md").write_text("edited since, by hand")

    monkeypatch.delenv("CI", raising=False)  # a developer's machine: no check
    assert pytester.runpytest_inprocess(*RULES).ret == pytest.ExitCode.OK
    git("checkout", "docs/shot.png")

    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_inprocess(*RULES)
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*the tests changed tracked files*: docs/shot.png"])

    git("checkout", "docs/shot.png")
    assert pytester.runpytest_inprocess(*RULES, "-k", "build_file").ret == pytest.ExitCode.OK


def test_a_test_past_its_time_limit_fails_with_stacks_and_the_run_goes_on(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_slow="""
        import threading, time

        import pytest

        def test_hangs():
            threading.Thread(target=time.sleep, args=(2,), name="helper", daemon=True).start()
            time.sleep(30)

        @pytest.mark.timeout(0)  # no limit: the marker is how a test asks for its own
        def test_has_all_the_time_it_needs():
            time.sleep(0.3)

        def test_next():
            pass
    """)
    result = pytester.runpytest_inprocess(*RULES, "--timeout", "0.2")
    result.assert_outcomes(passed=2, failed=1)  # failed, not skipped; and the run went on
    result.stdout.fnmatch_lines(["*Timeout*", "*helper*", "*Timeout (>0.2s) from pytest-timeout*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_the_rules_hold_on_xdist_workers(pytester: pytest.Pytester,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """scripts/test runs the unit tests on two workers (pytest-xdist): a skip still fails,
    with its reason, and a run that collects nothing still exits 5."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(run_rules.__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]))
    pytester.makepyfile(test_tools="""
        import pytest

        def test_needs_sipp():
            pytest.skip("sipp not found")

        def test_fine():
            pass
    """)
    result = pytester.runpytest_subprocess(*RULES, "-n", "2")
    result.assert_outcomes(passed=1, failed=1)
    assert "never skip (sipp not found)" in result.stdout.str()
    nothing = pytester.runpytest_subprocess(*RULES, "-n", "2", "-k", "no_such_test")
    assert nothing.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_this_suite_limits_each_test(pytestconfig: pytest.Config) -> None:
    """A hung test fails after 5 minutes (setup.cfg), by signal: the run carries on."""
    assert float(pytestconfig.getini("timeout")) == 300
    assert pytestconfig.getini("timeout_method") == "signal"


def test_this_suite_checks_its_markers(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.option.strict_markers
    declared = {line.split(":")[0].strip() for line in pytestconfig.getini("markers")}
    assert {"unit", "integration", "e2e", "postgres"} <= declared
