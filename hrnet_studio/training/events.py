"""The training log: one JSON object per line, written by the trainer and followed live by the app."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..atomic_writer import WriteError, make_folder
from ..errors import os_error_cause


class EventLog:
    """Appends one event per line; a reader can follow the file while training runs."""

    def __init__(self, path: Path, enabled: bool = True):
        self.path = path
        self.enabled = enabled
        make_folder(path.parent)

    def write(self, event: str, **fields) -> None:
        """Append one event; a failed write (a full disk) is a ``WriteError`` that stops the run."""
        if not self.enabled:
            return
        line = json.dumps({"event": event, "time": time.time(), **fields}) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:
            raise WriteError(self.path, os_error_cause(exc)) from None


class EventFollower:
    """Reads the events appended since the last call; a line still being written waits for the next call."""

    def __init__(self, path: Path, from_end: bool = False):
        self.path = Path(path)
        self.offset = self.path.stat().st_size if from_end and self.path.is_file() else 0

    def read_new(self) -> list[dict]:
        if not self.path.is_file():
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        events = []
        for line in complete.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a torn line from a crashed writer: skip it, keep following
        return events
