"""Verified, resumable downloads.

The file grows in a hidden ``.NAME.part`` beside its destination. A cut connection resumes with an
HTTP Range request (also in a later run), the finished file is checked against its sha256, and only
then is it moved into place, so a half or wrong file never carries the real name.
"""
from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from .. import __version__
from ..atomic_writer import AtomicFile, commit, part_path
from ..errors import StudioError

CHUNK = 1 << 16
Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


class DownloadError(StudioError):
    pass


class ChecksumError(DownloadError):
    pass



def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of the file as it is on disk now (a file overwritten by hand included), hashed once per version of
    the file (its path, size and modification time)."""
    stat = Path(path).stat()
    return _sha256_of_version(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _sha256_of_version(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path))


def checksum_matches(actual: str, expected: str | None) -> bool:
    """``expected`` may be a full sha256 or a published prefix (mmpose names carry the first 8 hex digits)."""
    return expected is None or actual.startswith(expected.lower())


def download(
    url: str,
    dest: Path,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = 20.0,
    attempts: int = 4,
) -> Path:
    """Download ``url`` to ``dest``; resume a cut transfer up to ``attempts`` times; verify; move into place."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    host = urlparse(url).netloc or url
    last_error = ""
    for _ in range(attempts):
        offset = part.stat().st_size if part.exists() else 0
        try:
            complete = _fetch(url, dest, offset, progress, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:  # nothing left to fetch: the part file is already whole
                complete = True
            else:
                raise DownloadError(f"{host} answered HTTP {exc.code} {exc.reason} for {url}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise DownloadError(f"no answer from {host} within {timeout:g} s ({url}); check the connection") from None
            raise DownloadError(f"cannot reach {host} (offline?): {reason}") from None
        except TimeoutError:
            got = part.stat().st_size if part.exists() else 0
            if got == offset:  # not a byte in this attempt: give up fast rather than hang
                raise DownloadError(f"no answer from {host} within {timeout:g} s ({url}); check the connection, "
                                    f"then run the same command again to resume") from None
            last_error = f"timed out after {got} bytes"
            continue
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            continue
        if complete:
            return _verify_and_move(part, dest, sha256)
        last_error = "connection closed before the end of the file"
    size = part.stat().st_size if part.exists() else 0
    raise DownloadError(f"download of {url} kept breaking off ({last_error}); {size} bytes are kept in {part} "
                        f"and the next try resumes from there")


def _fetch(url: str, dest: Path, offset: int, progress: Progress | None, timeout: float) -> bool:
    """One HTTP request appending to ``dest``'s part file; True when the whole file has arrived.

    A failed write (a full disk) raises ``WriteError``, which is not retried as a network error; the part
    file is kept, so the same command resumes once there is room.
    """
    request = urllib.request.Request(url, headers={"User-Agent": f"hrnet-studio/{__version__}"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = offset and response.status == 206
        if not resumed:
            offset = 0  # the server sent the whole file: start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        done = offset
        out = AtomicFile(dest, binary=True, append=bool(resumed))
        try:
            if progress:
                progress(done, total)
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
        finally:
            out.close_keeping_part()
    return total is None or done >= total


def _verify_and_move(part: Path, dest: Path, sha256: str | None) -> Path:
    actual = sha256_of(part)
    if not checksum_matches(actual, sha256):
        part.unlink(missing_ok=True)
        raise ChecksumError(f"checksum mismatch for {dest.name}: expected sha256 {sha256}, got {actual}; "
                            f"the downloaded file was deleted")
    return commit(part, dest)
