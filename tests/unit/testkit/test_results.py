"""scripts/lib/results.py: the counts of scripts/test's last line and the live tests it runs a
second time, from real JUnit files pytest wrote (pytester)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "lib" / "results.py"
_spec = importlib.util.spec_from_file_location("results", SCRIPT)
assert _spec is not None and _spec.loader is not None
results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results)


def junit(pytester: pytest.Pytester, name: str, flaky_passes: bool) -> Path:
    pytester.makepyfile(**{name: f"""
        import pytest

        class TestCalls:
            @pytest.mark.parametrize("width", ["390px", "1440px"])
            def test_page(self, width):
                assert {flaky_passes!r} or width == "390px"

        def test_fine():
            pass
    """})
    out = pytester.path / f"{name}-{flaky_passes}.xml"
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio", f"--junitxml={out}",
                       f"{name}.py")
    return out


def test_failed_tests_are_named_by_their_node_ids_and_a_second_pass_counts(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "ROOT", pytester.path)
    first = junit(pytester, "test_live", flaky_passes=False)
    capsys.readouterr()  # (pytester's own output)
    assert results.main(["failed", str(first)]) == 0
    failed = capsys.readouterr().out.split()
    assert failed == ["test_live.py::TestCalls::test_page[1440px]"]

    results.main(["total", str(first)])
    assert capsys.readouterr().out == "total: 2 passed, 1 failed\n"

    second = junit(pytester, "test_live", flaky_passes=True)
    capsys.readouterr()
    results.main(["total", str(first), "--rerun", str(second)])
    assert capsys.readouterr().out.splitlines() == [
        "total: 3 passed, 0 failed",
        "1 of them passed only on a second try (look into it):",
        "  test_live.py::TestCalls::test_page[1440px]",
    ]


def test_a_missing_file_counts_as_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results.main(["total", str(tmp_path / "live.xml")])
    out = capsys.readouterr().out
    assert out.endswith("total: 0 passed, 1 failed\n") and "no results in" in out


def test_a_wrong_command_says_how_to_use_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert results.main(["count"]) == 2
    assert "results.py failed FILE" in capsys.readouterr().err
