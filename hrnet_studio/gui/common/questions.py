"""A yes/no question that does not block the app: the answer comes back through a callback."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_yes_no(parent: QWidget, title: str, text: str, name: str, on_answer: Callable[[bool], None],
               risky: bool = False) -> QMessageBox:
    """Open a question box named ``name`` (for tests and screen readers) over ``parent``; ``on_answer(yes)`` is
    called when it closes. ``risky``: a warning whose safe answer, No, is the default."""
    icon = QMessageBox.Icon.Warning if risky else QMessageBox.Icon.Question
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setObjectName(name)
    if risky:
        box.setDefaultButton(QMessageBox.StandardButton.No)
    box.finished.connect(lambda result: on_answer(result == QMessageBox.StandardButton.Yes))
    box.open()
    return box
