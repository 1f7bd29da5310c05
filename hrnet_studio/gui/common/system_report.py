"""Help ▸ System report: what ``hrnet-studio doctor`` prints, in a dialog, to read or copy into a bug report. The
speed check (a few seconds) runs in a thread of its own and is added when it is done."""
from __future__ import annotations

from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...inference.runtime.system_report import (
    Section,
    format_report,
    safely,
    speed_section,
    system_report,
)

MEASURING = "Speed (network only, batch 1)\n  measuring…\n"


class SpeedCheck(QThread):
    done = Signal(object)  # Section

    def run(self) -> None:
        self.done.emit(safely(speed_section))


class SystemReportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("System report")
        self.resize(720, 520)
        self.sections: list[Section] = system_report(speed=False)
        self.text = QPlainTextEdit(objectName="systemReportText", readOnly=True)
        self.text.setPlainText(format_report(self.sections) + "\n" + MEASURING)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy", objectName="copySystemReport")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text.toPlainText()))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.speed = SpeedCheck(self)
        self.speed.done.connect(self._add_speed)
        self.speed.start()

    def _add_speed(self, section: Section) -> None:
        self.sections.append(section)
        self.text.setPlainText(format_report(self.sections))

    def done(self, result: int) -> None:  # closing waits for the speed check: it holds the runtimes for a moment
        self.speed.wait()
        super().done(result)
