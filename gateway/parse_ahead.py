"""Start-up of a big plant: the plant file is parsed in a child process while this one imports the service.

Parsing is libyaml's events, about 1 s for 50,000 loops; importing FastAPI, pydantic, uvicorn and the rest is
about 0.5 s. On a machine with two cores or more the two overlap, and the parsed data comes back pickled
(0.05 s for 50,000 loops). Whatever goes wrong with the child (no fork on this platform, it died, the file
cannot be read) leaves the parse to `load_config` in this process, which reports problems as usual.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
from multiprocessing.connection import Connection
from pathlib import Path

from gateway.yaml_source import Located, compose_lines, load_yaml


class ParseAhead:
    """A plant file being parsed in a child process; `result` waits for it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._receive: Connection | None = None
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:  # no fork here: parse in this process
            return
        self._receive, send = context.Pipe(duplex=False)
        self._child = context.Process(target=_parse, args=(path, send), name="plant-parse", daemon=True)
        self._child.start()
        send.close()

    def result(self) -> Located | None:
        """The parsed file, or None when this process has to parse it itself."""
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
        data, lines, issues, lines_later = pickle.loads(raw)  # noqa: S301 -- our own child's output
        path = self._path
        find_lines = (lambda: compose_lines(path.read_text(encoding="utf-8"), os.environ)) if lines_later else None
        return Located(data=data, lines=lines, issues=issues, find_lines=find_lines)


def _parse(path: Path, send: Connection) -> None:
    gc.disable()  # the parse allocates hundreds of thousands of objects and frees none of them
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        send.send_bytes(b"")  # the parent reads it again and reports why it cannot
        return
    located = load_yaml(text, os.environ)
    send.send_bytes(pickle.dumps(
        (located.data, located.lines, located.issues, located.find_lines is not None), protocol=pickle.HIGHEST_PROTOCOL
    ))
