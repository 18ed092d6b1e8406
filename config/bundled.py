"""The plant files that ship with the package: the demo plant, the example plant and the starter file."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_PLANT = HERE / "demo-plant.yaml"
"""Two lines, 30 loops, RFID and PLCs: what `kanban-edge demo` runs without `--config`."""
EXAMPLE_PLANT = HERE / "example-plant.yaml"
"""Five loops and a press, every section shown once."""
STARTER_PLANT = HERE / "starter-plant.yaml"
"""The commented file `kanban-edge init` writes."""
