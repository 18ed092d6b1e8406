"""Start-up of a big plant: the plant file is loaded in a child process while this one imports the service.

The child reads, parses and validates the file and turns its bins into `BinSpec`s (`gateway.plant`): about
1.5 s for 50,000 loops, against 0.5 s to import FastAPI, pydantic, uvicorn and the rest here. On a machine with
two cores or more the two overlap, and what comes back is what the service keeps: the settings and one record
per bin, pickled by columns (`Plant.__reduce__`). The parsed document, the validated bins and everything
validation builds on the way (some 40 MB with 50,000 loops) never exist in this process, so they leave no
half-empty memory pools behind. A bad file comes back as its `ConfigError`, with the same messages as loading
it here. Whatever else goes wrong with the child (no fork on this platform, it died) leaves the load to this
process, which reports problems as usual.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.load import ConfigError
    from gateway.plant import Plant


class LoadAhead:
    """A plant file being loaded in a child process; `result` waits for it."""

    def __init__(self, path: Path) -> None:
        self._receive: Connection | None = None
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:  # no fork here: load in this process
            return
        self._receive, send = context.Pipe(duplex=False)
        self._child = context.Process(target=_load, args=(path, send), name="plant-load", daemon=True)
        self._child.start()
        send.close()

    def result(self) -> Plant | ConfigError | None:
        """The plant, or the problems of its file; None when this process has to load it itself."""
        if self._receive is None:
            return None
        try:
            raw = self._receive.recv_bytes()
        except (EOFError, OSError):
            raw = b""
        finally:
            self._receive.close()
            self._child.join()
        if not raw:
            return None
        loaded: Plant | ConfigError = pickle.loads(raw)  # noqa: S301 -- our own child's output
        return loaded


def _load(path: Path, send: Connection) -> None:
    gc.disable()  # loading allocates hundreds of thousands of objects and frees few of them
    from config.load import ConfigError, load_config
    from gateway.plant import Plant

    loaded: Plant | ConfigError
    try:
        loaded = Plant.of(load_config(path))
    except ConfigError as exc:
        loaded = exc
    except Exception:  # anything else: this process loads the file again and says what is wrong
        send.send_bytes(b"")
        return
    send.send_bytes(pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL))
