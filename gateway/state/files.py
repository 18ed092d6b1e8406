"""The state database knows what it belongs to, and start-up checks it before the service trusts it.

The database records its identity in its `meta` table (database id, site, creation time); a marker file beside
it (`<database>.id`) and the connectors' outbox remember which database they belong to. At start-up:

- A missing or empty database where the marker or the outbox says there was one is refused: restore it from a
  backup (docs/OPERATIONS.md), or start a new one deliberately with `--new-state`. A 0-byte file is refused in
  any case: the service creates its database under another name and renames it once it is initialised, so an
  empty file is never one it made.
- A file that is not SQLite, is shorter than its header says (truncated), or fails `PRAGMA quick_check` is
  refused as damaged. Files up to `CHECK_AT_START_BYTES` are checked before the service starts (a fraction of a
  second); larger ones after start-up, in the background, the result logged and shown by `/healthz`.
- A database of another site is refused.
- When the outbox has taken events the database does not have (the database was restored from an older backup,
  or replaced), the database numbers its next events after them, so that event ids stay unique for suppliers,
  InfluxDB and the event stream; the outbox then belongs to this database.

`--new-state` moves an existing database aside (`<database>.replaced-<time>`, with its WAL), never deletes it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from config.plant import PlantConfig
from connectors.outbox import Owner, read_owner, set_owner
from gateway.state.store import Store, StoreError, create_database

log = logging.getLogger(__name__)

CHECK_AT_START_BYTES = 256 << 20
"""Databases up to this size are quick-checked before start-up (about 0.3 s on an SSD, seconds on an SD card)."""
_HEADER = b"SQLite format 3\x00"


class StateRefusedError(Exception):
    """The state database cannot be trusted as it is; the message says why and what to do."""

    exit_code = 3  # `kanban-edge run` exits with it: a person has to decide (a unit file need not restart)


@dataclass(frozen=True, slots=True)
class Identity:
    """Which database this is: made once, when the database is created."""

    database_id: str
    site: str
    created_at: float

    def describe(self) -> str:
        """For messages: the database's id, site and creation date."""
        created = datetime.fromtimestamp(self.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"database {self.database_id} of site {self.site}, created {created}"


def marker_path(database: Path) -> Path:
    """The marker file that remembers the database beside it."""
    return database.with_name(database.name + ".id")


def open_state(config: PlantConfig, *, new_state: bool, now: float) -> Store:
    """The checked state database of this plant, created when there is none yet (see the module's text)."""
    path = config.storage.path
    if new_state and (path.exists() or _sidecars(path)):
        _move_aside(path, now)
    owner = read_owner(config.outbox_path)
    remembered = _read_marker(path)
    size = path.stat().st_size if path.exists() else None
    if not size:
        if not new_state:
            _refuse_if_lost(path, size, remembered, owner)
        path.parent.mkdir(parents=True, exist_ok=True)
        create_database(path, asdict(Identity(uuid.uuid4().hex, config.site, now)))
    else:
        _check_header(path, size)
        if size <= CHECK_AT_START_BYTES:
            _quick_check_or_refuse(path)
    try:
        store = Store(path)
    except StoreError as exc:
        raise StateRefusedError(_damaged(path, str(exc))) from exc
    identity = _identity(store, config.site, now)
    _write_marker(path, identity, remembered)
    if owner is not None:
        _pair_outbox(store, identity, config.outbox_path, owner)
    if size is not None and size > CHECK_AT_START_BYTES:
        threading.Thread(target=_check_later, args=(store,), name="state-check", daemon=True).start()
    return store


def _refuse_if_lost(path: Path, size: int | None, remembered: Identity | None, owner: Owner | None) -> None:
    what = "is empty (0 bytes)" if size == 0 else "is missing"
    witness = None
    if remembered is not None:
        witness = f"{marker_path(path)} remembers {remembered.describe()}"
    elif owner is not None and (owner.database_id is not None or owner.fed_seq):
        witness = f"its outbox has taken its events up to #{owner.fed_seq or 0}"
    if witness is None and size is None:
        return  # a new plant
    because = f": {witness}" if witness else ""
    raise StateRefusedError(
        f"state database {path} {what}, but there was one{because}. Its open signals, cards, WIP and alarms would be"
        f" lost. Restore it from a backup (docs/OPERATIONS.md, 'Restore'), or start a new state database"
        f" deliberately with `kanban-edge run --new-state` (an existing file is moved aside, not deleted)."
    )


def _check_header(path: Path, size: int) -> None:
    with path.open("rb") as file:
        header = file.read(100)
    if not header.startswith(_HEADER):
        raise StateRefusedError(_damaged(path, "it is not a SQLite database"))
    if len(header) < 100:
        raise StateRefusedError(_damaged(path, f"it is truncated ({size} bytes)"))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages, changed, valid_for = (int.from_bytes(header[at:at + 4], "big") for at in (28, 24, 92))
    # The page count is kept up to date when the two counters agree (SQLite's file format, section 1.3.7).
    if pages and changed == valid_for and size < pages * page_size:
        raise StateRefusedError(_damaged(path, f"it is truncated: {size} bytes of {pages * page_size}"))


def quick_check(path: Path) -> str:
    """`PRAGMA quick_check` on a connection of its own: "ok", or the first problem found."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc)
    return str(rows[0][0]) if rows else "no answer"


def _quick_check_or_refuse(path: Path) -> None:
    result = quick_check(path)
    if result != "ok":
        raise StateRefusedError(_damaged(path, result))


def _check_later(store: Store) -> None:
    result = quick_check(store.path)
    if result == "ok":
        log.info("state database %s passed its integrity check", store.path)
        return
    store.damage = _damaged(store.path, result)
    log.critical("%s", store.damage)


def _damaged(path: Path, why: str) -> str:
    return (
        f"state database {path} is damaged: {why}. Stop the service and restore the database from a backup"
        f" (docs/OPERATIONS.md, 'Restore'); or start a new state database with `kanban-edge run --new-state`"
        f" (the damaged file is moved aside, not deleted)."
    )


def _identity(store: Store, site: str, now: float) -> Identity:
    found = store.identity()
    if found is None:  # a database made before databases had identities: it is this plant's
        found = {"database_id": uuid.uuid4().hex, "site": site, "created_at": str(now)}
        store.set_identity(found)
    identity = Identity(found["database_id"], found["site"], float(found["created_at"]))
    if identity.site != site:
        raise StateRefusedError(
            f"state database {store.path} belongs to site {identity.site!r}, and the plant file says {site!r}."
            f" Point storage.path at site {site}'s database, or start a new one with `kanban-edge run --new-state`"
            f" (the other site's file is moved aside, not deleted)."
        )
    return identity


def _read_marker(path: Path) -> Identity | None:
    try:
        data = json.loads(marker_path(path).read_text(encoding="utf-8"))
        return Identity(str(data["database_id"]), str(data["site"]), float(data["created_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_marker(path: Path, identity: Identity, remembered: Identity | None) -> None:
    if remembered == identity:
        return
    if remembered is not None:
        log.warning("state database %s is %s; the marker remembered %s", path, identity.describe(),
                    remembered.describe())
    marker = marker_path(path)
    temporary = marker.with_name(marker.name + ".new")
    temporary.write_text(json.dumps(asdict(identity)) + "\n", encoding="utf-8")
    os.replace(temporary, marker)


def _pair_outbox(store: Store, identity: Identity, outbox: Path, owner: Owner) -> None:
    fed, last = owner.fed_seq, store.last_event_seq()
    if owner.database_id not in (None, identity.database_id):
        # Another database's outbox: its undelivered items stay; only this database's events from now on go in.
        fed = max(fed or 0, last)
        log.warning("outbox %s belonged to database %s; it now belongs to %s, from event #%d on", outbox,
                    owner.database_id, identity.describe(), fed + 1)
    elif fed is not None and fed > last:
        log.warning(
            "state database %s ends at event #%d, but the outbox took events up to #%d: the %d events after #%d"
            " (delivered already) are not in it, as when it is restored from a backup. Its next event is #%d.",
            store.path, last, fed, fed - last, last, fed + 1,
        )
    if fed is not None and fed > last:
        store.number_events_after(fed)
    if owner != Owner(identity.database_id, fed):
        set_owner(outbox, Owner(identity.database_id, fed))


def _sidecars(path: Path) -> list[Path]:
    return [side for suffix in ("-wal", "-shm") if (side := path.with_name(path.name + suffix)).exists()]


def _move_aside(path: Path, now: float) -> None:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.replaced-{stamp}")
    for source in ([path] if path.exists() else []) + _sidecars(path):
        os.replace(source, aside.with_name(aside.name + source.name[len(path.name):]))
    marker_path(path).unlink(missing_ok=True)
    log.warning("started a new state database: the old one is kept as %s", aside)
