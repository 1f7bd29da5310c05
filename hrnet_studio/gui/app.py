"""Start the desktop app."""
from __future__ import annotations

import sys
from pathlib import Path

from .. import __version__


def run_app(source: Path | None = None, argv: list[str] | None = None) -> int:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    QCoreApplication.setOrganizationName("HRNet Studio")
    QCoreApplication.setApplicationName("hrnet-studio")
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    window = MainWindow()
    window.show()
    if source is not None:
        window.sources.open_path(source)
    return app.exec()
