"""Data flows one way and the tree shows it: each package imports only the packages below it.

    rules/       pure: the standard library and itself, and nothing with I/O, a clock or randomness
    config/      rules/
    edge/        config/, rules/
    connectors/  config/, rules/
    gateway/     all of the above

Nested imports (inside functions, under `if`) count as much as those at the top of a module.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = frozenset({"rules", "config", "edge", "connectors", "gateway", "bench", "tests"})
MAY_IMPORT = {
    "rules": frozenset({"rules"}),
    "config": frozenset({"config", "rules"}),
    "edge": frozenset({"edge", "config", "rules"}),
    "connectors": frozenset({"connectors", "config", "rules"}),
    "gateway": frozenset({"gateway", "connectors", "edge", "config", "rules"}),
}
IMPURE = frozenset({"asyncio", "sqlite3", "socket", "time", "datetime", "random", "threading", "os", "io",
                    "subprocess", "ssl", "select", "selectors", "signal", "multiprocessing", "concurrent"})
"""Standard-library modules the rules may not use: I/O, concurrency, a clock, randomness."""


def imports(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """Every absolute import of a module's source: (line, module)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(package: str, source: str, filename: str = "<string>") -> list[str]:
    """The imports of a module of `package` that run against the layering, as "file:line: module"."""
    wrong = []
    for line, module in imports(source, filename):
        top = module.split(".")[0]
        if top in OURS:
            allowed = top in MAY_IMPORT[package]
        elif package == "rules":  # the standard library only, and none of its impure parts
            allowed = (top in sys.stdlib_module_names and top not in IMPURE) or top == "__future__"
        else:
            allowed = True
        if not allowed:
            wrong.append(f"{filename}:{line}: {module}")
    return wrong


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_every_package_imports_only_what_is_below_it(package: str) -> None:
    found = modules(package)
    assert found, f"no modules in {package}/"
    assert [v for path in found for v in violations(package, path.read_text(encoding="utf-8"), str(path))] == []


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("rules", "import asyncio\n", ["<string>:1: asyncio"]),
        ("rules", "import json\nimport time as t\n", ["<string>:2: time"]),
        ("rules", "from datetime import datetime\n", ["<string>:1: datetime"]),
        ("rules", "import pydantic\n", ["<string>:1: pydantic"]),  # not the standard library
        ("rules", "from config.plant import PlantConfig\n", ["<string>:1: config.plant"]),
        ("rules", "def f():\n    import sqlite3\n", ["<string>:2: sqlite3"]),  # nested imports count too
        ("config", "if True:\n    from gateway.service import Service\n", ["<string>:2: gateway.service"]),
        ("edge", "from gateway.mqtt.link import AckingLink\n", ["<string>:1: gateway.mqtt.link"]),
        ("edge", "from connectors.outbox import Outbox\n", ["<string>:1: connectors.outbox"]),
        ("connectors", "from gateway.state.store import Store\n", ["<string>:1: gateway.state.store"]),
        ("connectors", "from edge.mqtt_link import MqttLink\n", ["<string>:1: edge.mqtt_link"]),
        ("gateway", "from bench.run import main\n", ["<string>:1: bench.run"]),
    ],
)
def test_the_checker_flags_an_import_against_the_layering(package: str, source: str, expected: list[str]) -> None:
    assert violations(package, source) == expected


@pytest.mark.parametrize(
    ("package", "source"),
    [
        ("rules", "import dataclasses\nfrom enum import Enum\nfrom rules.events import Event\n"),
        ("rules", "import timeit\nimport operator\n"),  # "timeit" begins as "time" does: no match
        ("rules", "from __future__ import annotations\nfrom . import events\n"),
        ("config", "from pydantic import BaseModel\nfrom rules.limits import MAX_COUNT\n"),
        ("edge", "import pymodbus\nfrom config.floor import Plc\n"),
        ("gateway", "from edge.mqtt_link import MqttLink\nfrom connectors.hub import Connectors\n"),
    ],
)
def test_the_checker_allows_imports_that_follow_the_layering(package: str, source: str) -> None:
    assert violations(package, source) == []
