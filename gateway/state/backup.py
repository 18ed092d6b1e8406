"""`kanban-edge backup`: consistent copies of the state database and the outbox while the service runs.

SQLite's online backup API copies a database page by page and starts again when a writer changes it midway,
so the copy is a state the database was in at one moment, WAL included. Each copy is written to a temporary
file beside its destination and renamed, so a copy that exists is whole.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from config.plant import PlantConfig

PAGES_PER_STEP = 1024
"""Pages copied while the source is locked; the service's writes go on between steps (4 MiB with 4 KiB pages)."""


class BackupError(Exception):
    """A database could not be copied."""


def back_up(config: PlantConfig, directory: Path) -> Iterator[tuple[Path, Path]]:
    """Copy the state database and, when there is one, the outbox into `directory`; yields source and copy."""
    state = config.storage.path
    if not state.is_file():
        raise BackupError(f"no state database at {state}")
    directory.mkdir(parents=True, exist_ok=True)
    for source in (state, config.outbox_path):
        if source.is_file():
            copy = directory / source.name
            copy_database(source, copy)
            yield source, copy


def copy_database(source: Path, copy: Path) -> None:
    """Copy one SQLite database with the online backup API into `copy` (replaced when it exists)."""
    partial = copy.with_name(copy.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                contextlib.closing(sqlite3.connect(partial)) as dst:
            src.backup(dst, pages=PAGES_PER_STEP)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            verdict = dst.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the copy of {source} fails its check: {verdict}")
        partial.replace(copy)
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
