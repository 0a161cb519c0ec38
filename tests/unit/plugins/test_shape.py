"""The shape of the code: a kernel that imports no feature, no import cycle between packages, and
every feature handed to the kernel by its plugin, through the one composition root."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pbx_stasis
from pbx_stasis.bus import EventTopic
from pbx_stasis.cli.main import build_parser, cmd_journal
from pbx_stasis.features import FEATURES
from pbx_stasis.plugins import PLUGINS, ROUTE_TABLE, TOPICS

PACKAGE = Path(pbx_stasis.__file__).parent
# The kernel: the HTTP framework, the bus, the store, the ARI client, the split deployment
# (remote: interfaces, generated proxies, the relay), the plugin shape, config
# and the entity schemas' base (validation.py).
KERNEL = {"web", "bus", "store", "ari", "remote", "plugin", "config", "validation", "lazy"}


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    """Top-level package (or module) of pbx_stasis -> the ones it imports."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] == "__init__":
            continue
        imported = graph.setdefault(parts[0], set())
        for module in _imports(path):
            names = module.split(".")
            if names[0] == "pbx_stasis" and len(names) > 1 and names[1] != parts[0]:
                imported.add(names[1])
    return graph


def test_the_kernel_imports_no_feature() -> None:
    graph = _graph()
    outside = {(kernel, other) for kernel in KERNEL for other in graph.get(kernel, set())
               if other not in KERNEL}
    assert outside == set()


def test_no_import_cycle_between_packages() -> None:
    graph = _graph()
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_only_the_composition_root_loads_plugins() -> None:
    # plugins.py loads them by name, from features.py's list; nothing imports one directly.
    loaders = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        for module in _imports(path)
        if module.endswith(".plugin") and module != "pbx_stasis.plugin"
    }
    assert loaders == set()
    assert "import_module" in (PACKAGE / "plugins.py").read_text()


def test_every_feature_folder_has_a_plugin_and_is_loaded() -> None:
    with_routes = {path.parent.name for path in PACKAGE.glob("*/http.py")}
    with_routes |= {path.parent.parent.name for path in PACKAGE.glob("*/http/__init__.py")}
    with_plugin = {path.parent.name for path in PACKAGE.glob("*/plugin.py")}
    with_commands = {path.parent.name for path in PACKAGE.glob("*/cli.py")} - {"cli"}
    assert with_routes <= with_plugin
    assert with_commands <= with_plugin  # `pbx` finds a feature's cli.py through features.py
    assert [plugin.name for plugin in PLUGINS] == list(FEATURES)
    assert set(FEATURES) == with_plugin


def test_the_route_table_and_the_feed_come_from_the_plugins() -> None:
    table = {(route.method, route.path) for route in ROUTE_TABLE}
    for plugin in PLUGINS:
        assert {(route.method, route.path) for route in plugin.routes} <= table, plugin.name
    assert all(isinstance(topic, EventTopic) and topic.readers for topic in TOPICS.values())
    assert list(TOPICS) == ["call:incoming", "call:state", "call:ended", "agent:state",
                            "queue:stats", "crm:disposition", "ivr:updated",
                            "callback:requested", "ticket:changed", "voicemail:changed",
                            "campaign:changed", "transcript:ready",
                            "insights:ready", "quality:poor", "evaluation:saved",
                            "recording:ready"]


def test_the_cli_takes_the_features_commands_from_their_cli_modules() -> None:
    parser = build_parser()
    commands = next(action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    kernel = {"run", "migrate", "check", "user", "token", "journal"}
    features = {"queue", "agent", "export", "ivr", "dialing", "recordings", "call",
                "callbacks", "ticket", "script", "leads", "tasks", "dnc", "transcribe", "reports",
                "scorecards", "campaign", "vnum"}
    assert set(commands.choices) == kernel | features
    assert parser.parse_args(["journal", "--tail", "3"]).func is cmd_journal
