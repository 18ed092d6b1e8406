"""The rules are pure: no I/O, no clock, no randomness, no gateway. They are fed readings and the time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "rules"

FORBIDDEN = frozenset(
    {
        "gateway", "connectors", "edge", "asyncio", "sqlite3", "socket", "time", "datetime", "random",
        "gmqtt", "paho", "aiomqtt", "amqtt", "fastapi", "uvicorn", "httpx", "requests",
    }
)


def forbidden_imports(source: str, filename: str = "<string>") -> list[str]:
    """Every forbidden import in a module's source, as "file:line: module"."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{filename}:{node.lineno}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    return found


def rule_modules() -> list[Path]:
    return sorted(RULES.rglob("*.py"))


def test_rules_package_is_found() -> None:
    names = {p.name for p in rule_modules()}
    assert {"scale_bin.py", "engine.py", "events.py"} <= names


@pytest.mark.parametrize("module", rule_modules(), ids=lambda p: str(p.relative_to(RULES.parent)))
def test_rules_module_imports_nothing_impure(module: Path) -> None:
    assert forbidden_imports(module.read_text(encoding="utf-8"), str(module)) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import asyncio\n", ["<string>:1: asyncio"]),
        ("import os\nimport time as t\n", ["<string>:2: time"]),
        ("from datetime import datetime\n", ["<string>:1: datetime"]),
        ("from gateway.service import Service\n", ["<string>:1: gateway.service"]),
        ("import paho.mqtt.client\n", ["<string>:1: paho.mqtt.client"]),
        ("def f():\n    import sqlite3\n", ["<string>:2: sqlite3"]),  # nested imports count too
        ("if True:\n    from socket import socket\n", ["<string>:2: socket"]),
    ],
)
def test_checker_flags_forbidden_imports(source: str, expected: list[str]) -> None:
    assert forbidden_imports(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "import dataclasses\nfrom enum import Enum\n",
        "from rules.events import Event\n",
        "from . import events\n",
        "import timeit\nimport randomized\nimport edgeworth\n",  # prefix of a name is not a match
        "from __future__ import annotations\n",
    ],
)
def test_checker_allows_pure_imports(source: str) -> None:
    assert forbidden_imports(source) == []
