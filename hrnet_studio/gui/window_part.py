"""A part of the main window's behaviour kept in a module of its own (outputs, model installs, quantization)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from .services import WindowServices


class WindowPart(QObject):
    """A QObject of the UI thread, so that signals from worker threads are queued to its methods; it reaches the
    window (its source, panel, view, status bar, messages) through ``self.window``: the ``WindowServices`` of
    ``services.py``, never the window's class."""

    def __init__(self, window: WindowServices):
        super().__init__(window)
        self.window = window
