"""A package root that re-exports its modules' names without importing them up front (PEP 562):
`pbx` builds its parser from the features' cli.py, and importing one runs its package's
__init__; a re-export that loads SQLAlchemy or the web layer there would cost every command.

A package lists its names under `if TYPE_CHECKING:` (what mypy checks) and, for the run time,
`__getattr__ = exports(__name__, {module: names})` under `if not TYPE_CHECKING:`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any


def exports(package: str, homes: Mapping[str, Iterable[str]]) -> Callable[[str], Any]:
    """The package's module `__getattr__`: each name loads from its module on first use, then
    stays in the package's namespace. Another name raises AttributeError, so `from package
    import submodule` still finds the submodule."""
    home = {name: module for module, names in homes.items() for name in names}
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{home[name]}"), name)
        namespace[name] = value
        return value

    return __getattr__
