"""User-facing errors: each carries one line that the CLI and the GUI show as is; and the exit codes of the
command line."""
import os

EXIT_ERROR = 2  # a bad input, said in one line
EXIT_PARTIAL = 3  # some of the work is done (a damaged video exported up to where it stops; a batch with failures)
EXIT_INTERRUPTED = 130  # Ctrl-C


class StudioError(Exception):
    """An error caused by the user's input (a file, an option), explained in one line."""


class CheckpointError(StudioError):
    pass


class VideoError(StudioError):
    pass


class DetectorError(StudioError):
    pass


class UnsafeFileError(CheckpointError):
    """A model file that holds more than weights: loading it could run code, so it was refused."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = path


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, for one-line reports of third-party errors."""
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__


def os_error_cause(exc: OSError) -> str:
    """``OSError(ENOSPC)`` → ``no space left on device``."""
    text = exc.strerror or (os.strerror(exc.errno) if exc.errno else "") or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def user_message(exc: BaseException, doing: str) -> str:
    """One line for the user: our own errors as they are, a file the system refused as "<doing> failed: <file>:
    <cause>" (``permission denied``, ``no such file or directory``), anything else as "<doing> failed: <first
    line>"."""
    if isinstance(exc, StudioError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename:
        return f"{doing} failed: {exc.filename}: {os_error_cause(exc)}"
    return f"{doing} failed: {first_line(exc)}"
