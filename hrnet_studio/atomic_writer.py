"""The one atomic writer: every file HRNet Studio writes goes through here.

A file is written to a hidden part file beside its destination (``.NAME.part``), flushed to disk,
and only then renamed into place. Any failure on the way — a full disk (ENOSPC), an I/O error,
permission lost mid-way, a writer that produced less than it was given — removes the part file and
raises :class:`WriteError`, whose one line names the file and the cause. So a file that is visible
under its real name is always complete.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import StudioError, first_line, os_error_cause


class WriteError(StudioError):
    """A file could not be written completely; nothing under its name was left behind."""

    def __init__(self, path: str | Path, cause: str):
        super().__init__(f"cannot write {path}: {cause}")
        self.path = Path(path)
        self.cause = cause


def part_path(path: str | Path, keep_suffix: bool = False) -> Path:
    """The hidden file a write goes to first: ``.NAME.part`` (``.NAME.part.mp4`` with ``keep_suffix``, for writers
    that pick their format from the file name)."""
    path = Path(path)
    return path.with_name(f".{path.name}.part" + (path.suffix if keep_suffix else ""))


def check_destination(path: str | Path) -> Path:
    """Fail early, before any work, when ``path`` cannot be written: a folder, a missing or read-only folder."""
    path = Path(path)
    if path.is_dir():
        raise StudioError(f"output path is a folder: {path}")
    if not path.parent.exists():
        raise StudioError(f"output folder does not exist: {path.parent}")
    if not os.access(path.parent, os.W_OK):
        raise WriteError(path, f"the folder {path.parent} is not writable")
    return path


def make_folder(folder: str | Path) -> Path:
    """``mkdir -p``; a folder that cannot be made is a ``WriteError`` naming it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(folder, os_error_cause(exc)) from None
    return folder


def flush_to_disk(fd: int) -> None:
    """fsync: a full disk or a failing device reports its error here at the latest (delayed allocation, NFS)."""
    os.fsync(fd)


def _sync_file(part: Path) -> None:
    fd = os.open(part, os.O_RDONLY)
    try:
        flush_to_disk(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX only; best effort, a folder cannot be opened on Windows)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def finish(part: Path, path: Path) -> None:
    """Flush ``part`` to disk (the step that can still fail); on failure it is removed and WriteError raised.

    Writers of several files finish them all before publishing any, so a failure leaves none of them.
    """
    with removed_on_failure(part, path):
        if not part.is_file():
            raise WriteError(path, "the writer produced no file")
        _sync_file(part)


def publish(part: Path, path: Path) -> Path:
    """Rename a finished ``part`` to ``path``: the file appears whole or not at all."""
    try:
        os.replace(part, path)
    except OSError as exc:
        discard(part)
        raise WriteError(path, os_error_cause(exc)) from None
    _sync_folder(path.parent)
    return path


def commit(part: Path, path: Path) -> Path:
    """``finish`` then ``publish``: flush ``part`` to disk and rename it to ``path``."""
    finish(part, path)
    return publish(part, path)


@contextmanager
def removed_on_failure(part: Path, path: Path) -> Iterator[None]:
    """Any failure inside removes ``part``; an ``OSError`` becomes a ``WriteError`` naming ``path``."""
    try:
        yield
    except OSError as exc:
        discard(part)
        raise WriteError(path, os_error_cause(exc)) from None
    except BaseException:
        discard(part)
        raise


def discard(part: Path) -> None:
    try:
        part.unlink(missing_ok=True)
    except OSError:
        pass


@contextmanager
def atomic_path(path: str | Path, keep_suffix: bool = False) -> Iterator[Path]:
    """For writers that take a file name (``torch.save``, ONNX, images): write to the yielded path.

    On a clean exit the file is flushed and renamed to ``path``; an exception removes it, and an
    ``OSError`` becomes a ``WriteError`` naming ``path``.
    """
    path = Path(path)
    part = part_path(path, keep_suffix)
    with removed_on_failure(part, path):
        yield part
    commit(part, path)


class PartFileWriter:
    """A writer that fills ``part`` and, once ``finish`` has flushed and checked it, publishes it as ``path``."""

    path: Path
    part: Path

    def finish(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def publish(self) -> Path:
        return publish(self.part, self.path)

    def commit(self) -> Path:
        self.finish()
        return self.publish()


class AtomicFile(PartFileWriter):
    """A file written in pieces (CSV rows, a download): ``write`` as data comes, then ``commit`` or ``abort``.

    ``append=True`` continues an existing part file (a resumed download).
    """

    def __init__(self, path: str | Path, binary: bool = False, append: bool = False, keep_suffix: bool = False):
        self.path = Path(path)
        self.part = part_path(self.path, keep_suffix)
        mode = ("a" if append else "w") + ("b" if binary else "")
        try:
            self.file: IO[Any] = (open(self.part, mode) if binary
                                  else open(self.part, mode, newline="", encoding="utf-8"))
        except OSError as exc:
            raise WriteError(self.path, os_error_cause(exc)) from None
        self.closed = False

    def write(self, data: str | bytes) -> None:
        try:
            self.file.write(data)
        except OSError as exc:
            raise WriteError(self.path, os_error_cause(exc)) from None

    def close_keeping_part(self) -> None:
        """Close without committing: the part file stays for a later run to continue (a download)."""
        try:
            self._close()
        except OSError as exc:
            raise WriteError(self.path, os_error_cause(exc)) from None

    def finish(self) -> None:
        """Close and flush to disk; ``publish`` then renames it into place."""
        with removed_on_failure(self.part, self.path):
            self._close()
        finish(self.part, self.path)

    def abort(self) -> None:
        try:
            self._close()
        except OSError:
            pass
        discard(self.part)

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self.file.close()  # flushes: a full disk can first show here


def write_bytes(path: str | Path, data: bytes) -> Path:
    return write_all(AtomicFile(path, binary=True), data).commit()


def write_text(path: str | Path, text: str) -> Path:
    return write_all(AtomicFile(path), text).commit()


def write_all(out: AtomicFile, data: str | bytes) -> AtomicFile:
    """Write the whole content; on failure the part file is removed."""
    try:
        out.write(data)
    except BaseException:
        out.abort()
        raise
    return out


def write_json(path: str | Path, data: Any, indent: int | None = None) -> Path:
    return write_text(path, json.dumps(data, indent=indent) + ("\n" if indent is not None else ""))


def copy_file(source: str | Path, dest: str | Path) -> Path:
    """Copy ``source`` to ``dest`` atomically (a model import, a registered model)."""
    with atomic_path(dest) as part:
        shutil.copyfile(source, part)
    return Path(dest)


def torch_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` atomically: the previous file under ``path`` stays intact if this one cannot be written."""
    import torch

    with atomic_path(path) as part, open(part, "wb") as raw:
        out = _ErrorKeepingFile(raw)
        try:
            torch.save(obj, out)
        except RuntimeError as exc:  # torch reports a failed write as "unexpected pos …": give the real cause
            if out.error is not None:
                raise out.error from None
            raise OSError(errno.EIO, first_line(exc)) from None
    return Path(path)


class _ErrorKeepingFile:
    """A binary file that remembers the OSError of a failed write, which ``torch.save`` turns into a vague message."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self.raw.write(data)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        self.raw.flush()
