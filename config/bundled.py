"""The plant files that ship with the package (the example plant, example-plant.yaml, ships beside them)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_PLANT = HERE / "demo-plant.yaml"
"""Two lines, 30 loops, RFID and PLCs: what `kanban-edge demo` runs without `--config`."""
STARTER_PLANT = HERE / "starter-plant.yaml"
"""The commented file `kanban-edge init` writes."""
