"""The package roots that re-export lazily (pbx_stasis.lazy) name each export three times: the
imports mypy reads, the run-time table `_HOMES`, and `__all__`. They must agree, and every
name must load: a name missing from one list type-checks and then fails at run time."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[3] / "pbx_stasis"
ROOTS = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py")
               if "exports(__name__" in path.read_text())


def _lists(root: str) -> tuple[dict[str, set[str]], dict[str, set[str]], set[str]]:
    """(module -> names) imported under TYPE_CHECKING, the same from `_HOMES`, `__all__`."""
    tree = ast.parse((PACKAGE / root / "__init__.py").read_text())
    typed: dict[str, set[str]] = {}
    homes: dict[str, set[str]] = {}
    exported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for found in node.body:
                assert isinstance(found, ast.ImportFrom) and found.module
                module = found.module.removeprefix(f"pbx_stasis.{root}.")
                typed.setdefault(module, set()).update(alias.name for alias in found.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            value = ast.literal_eval(node.value) if node.value is not None else None
            if isinstance(target, ast.Name) and target.id == "_HOMES":
                homes = {module: set(names) for module, names in value.items()}
            elif isinstance(target, ast.Name) and target.id == "__all__":
                exported = set(value)
    return typed, homes, exported


def test_there_are_lazy_roots() -> None:
    assert {"acd", "store"} <= set(ROOTS)


@pytest.mark.parametrize("root", ROOTS)
def test_a_lazy_roots_lists_agree_and_every_name_loads(root: str) -> None:
    typed, homes, exported = _lists(root)
    assert typed == homes
    assert exported == set().union(*homes.values())
    package = importlib.import_module(f"pbx_stasis.{root}")
    for module, names in homes.items():
        home = importlib.import_module(f"pbx_stasis.{root}.{module}")
        for name in names:
            assert getattr(package, name) is getattr(home, name), name
