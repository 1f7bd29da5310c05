"""Start the desktop app."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import __version__

OPENCV_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")


def drop_opencv_qt_paths() -> list[str]:
    """Undo what importing OpenCV's GUI build does: it points Qt at its own plugins and fonts (a Qt PySide6 cannot
    load), so on an X11 desktop the window would not open ("could not load the Qt platform plugin xcb"). Returns
    the variables removed; a path the user set to somewhere else is kept."""
    import cv2

    ours = Path(cv2.__file__).resolve().parent
    removed = []
    for name in OPENCV_QT_VARIABLES:
        value = os.environ.get(name)
        if value and (Path(value).resolve() == ours or ours in Path(value).resolve().parents):
            del os.environ[name]
            removed.append(name)
    return removed


def report_in(window):
    """An exception no slot caught becomes a message in ``window``: a file the system refused (``OSError``) or our
    own error in its one line; anything else (a bug) also keeps its traceback on stderr for the report."""
    import traceback

    from ..errors import StudioError, first_line, user_message

    def report(kind, exc, tb) -> None:
        if isinstance(exc, (OSError, StudioError)):
            window.show_error(user_message(exc, "that action"))
            return
        traceback.print_exception(kind, exc, tb)
        window.show_error(f"unexpected error ({kind.__name__}): {first_line(exc)} — the details are on the terminal")

    return report


def run_app(source: Path | None = None, argv: list[str] | None = None) -> int:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from .common.shutdown import end_process
    from .main_window import MainWindow

    drop_opencv_qt_paths()  # before the application loads its platform plugin
    QCoreApplication.setOrganizationName("HRNet Studio")
    QCoreApplication.setApplicationName("hrnet-studio")
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    window = MainWindow()
    sys.excepthook = report_in(window)
    window.show()
    if source is not None:
        window.sources.open_path(source)
    code = app.exec()
    end_process(code)  # returns unless a thread outlived its stop: then the process ends without destroying it
    return code
