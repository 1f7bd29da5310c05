"""``OUTDIR/manifest.jsonl``: one line per video exported (or failed), appended as each one ends, so a batch cut
short at any moment — Ctrl-C, a killed machine — leaves a manifest that says exactly what is done.

A video is done when its last line says ``done`` (or ``partial``: a damaged file exported up to where it stops
decoding) with the same settings and model fingerprint, the video file is unchanged (size and modification
time) and its outputs are there; anything else is exported again.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic_writer import WriteError, flush_to_disk
from ..errors import os_error_cause
from ..models.metadata import now_iso

MANIFEST_NAME = "manifest.jsonl"
FINISHED = ("done", "partial")


def video_stamp(video: Path) -> list[int]:
    """What tells a changed video file from the one exported: [size in bytes, modification time in ns]."""
    stat = video.stat()
    return [stat.st_size, stat.st_mtime_ns]


@dataclass
class VideoRecord:
    """One manifest line."""

    video: str  # absolute path
    name: str  # output name inside the output folder (no suffix)
    status: str  # "done", "partial" (stopped decoding early), "failed"
    settings: dict  # everything that changes the outputs, the model's fingerprint included
    stamp: list[int] = field(default_factory=list)
    frames: int = 0
    persons: int = 0
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    error: str | None = None  # one line, for failed and partial videos
    notes: list[str] = field(default_factory=list)
    attempts: int = 1
    worker: str = ""  # which process or cluster node ran it
    finished: str = field(default_factory=now_iso)


class Manifest:
    def __init__(self, folder: Path):
        self.path = Path(folder) / MANIFEST_NAME
        self.last: dict[str, VideoRecord] = {}
        self.damaged_lines = 0
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    record = VideoRecord(**{k: v for k, v in data.items() if k in VideoRecord.__dataclass_fields__})
                except (ValueError, TypeError):
                    self.damaged_lines += 1  # a line cut by a killed machine: that video is simply redone
                    continue
                self.last[record.video] = record

    def is_done(self, video: Path, settings: dict) -> bool:
        record = self.last.get(str(video))
        if record is None or record.status not in FINISHED or record.settings != settings:
            return False
        try:
            if record.stamp != video_stamp(video):
                return False
        except OSError:
            return False
        return all(Path(p).is_file() for p in record.outputs)

    def append(self, record: VideoRecord) -> None:
        """Add a line and put it on disk before going on (a line is the promise that its video is done)."""
        line = json.dumps(asdict(record), separators=(",", ":")) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                flush_to_disk(f.fileno())
        except OSError as exc:
            raise WriteError(self.path, os_error_cause(exc)) from None
        self.last[record.video] = record

    def __len__(self) -> int:
        return len(self.last)


def fresh(path: Path) -> None:
    """Remove a manifest (``--overwrite``: redo everything)."""
    if path.exists():
        os.remove(path)
