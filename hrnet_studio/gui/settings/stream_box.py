"""Settings ▸ Stream: the live poses sent to other programs as they happen (OSC, WebSocket, Lab Streaming Layer), on
or off while the video plays; the same streams as ``hrnet-studio live --osc/--ws/--lsl``."""
from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QWidget,
)

from ...live.options import LSL_NAME, OSC_ADDRESS, WS_ADDRESS, StreamOptions

STREAMS = (  # (name, label, default address, tooltip)
    ("osc", "OSC", OSC_ADDRESS, "HOST:PORT: one OSC bundle per frame over UDP (TouchDesigner, Max, Pure Data…)"),
    ("ws", "WebSocket", WS_ADDRESS, "[HOST:]PORT: a WebSocket server on this computer (127.0.0.1 unless a host is "
                                    "given); each client gets one JSON message per frame"),
    ("lsl", "LSL", LSL_NAME, "the name of a Lab Streaming Layer outlet LabRecorder records beside other streams"),
)


class StreamBox(QGroupBox):
    changed = Signal()  # a stream switched on or off, or its address edited

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Stream", parent)
        grid = QGridLayout(self)
        self.checks: dict[str, QCheckBox] = {}
        self.edits: dict[str, QLineEdit] = {}
        for row, (name, label, default, tip) in enumerate(STREAMS):
            check = QCheckBox(label, objectName=f"{name}StreamCheck")
            edit = QLineEdit(default, objectName=f"{name}StreamAddress")
            check.setToolTip(tip)
            edit.setToolTip(tip)
            check.toggled.connect(lambda _: self.changed.emit())
            edit.editingFinished.connect(lambda check=check: check.isChecked() and self.changed.emit())
            grid.addWidget(check, row, 0)
            grid.addWidget(edit, row, 1)
            self.checks[name], self.edits[name] = check, edit
        self.normalized_check = QCheckBox("Coordinates 0-1 of the frame", objectName="streamNormalizedCheck")
        self.normalized_check.setToolTip("send x and y as fractions of the frame's width and height, not pixels")
        self.normalized_check.toggled.connect(lambda _: self.changed.emit())
        grid.addWidget(self.normalized_check, len(STREAMS), 0, 1, 2)
        tip = ("send each tracked person's joints where they will be when received: moved ahead by each frame's "
               "latency (auto) or by a number of milliseconds (a constant-velocity Kalman filter per joint; "
               "exports and the picture keep the measured joints)")
        self.predict_check = QCheckBox("Predict ahead", objectName="streamPredictCheck", toolTip=tip)
        self.predict_edit = QLineEdit("auto", objectName="streamPredictAhead", toolTip=tip + ": auto or ms")
        self.predict_check.toggled.connect(lambda _: self.changed.emit())
        self.predict_edit.editingFinished.connect(lambda: self.predict_check.isChecked() and self.changed.emit())
        grid.addWidget(self.predict_check, len(STREAMS) + 1, 0)
        grid.addWidget(self.predict_edit, len(STREAMS) + 1, 1)
        self.status_label = QLabel("off", objectName="streamStatus", wordWrap=True)
        grid.addWidget(self.status_label, len(STREAMS) + 2, 0, 1, 2)

    def options(self) -> StreamOptions:
        on = {name: self.edits[name].text().strip() or None if self.checks[name].isChecked() else None
              for name in self.checks}
        predict = self.predict_edit.text().strip() or "auto" if self.predict_check.isChecked() else None
        return StreamOptions(**on, normalized=self.normalized_check.isChecked(), predict=predict)

    def show_status(self, text: str) -> None:
        self.status_label.setText(text or ("waiting for the first frame" if self.options().any else "off"))

    def save(self, settings: QSettings) -> None:
        for name in self.checks:
            settings.setValue(f"stream/{name}", self.checks[name].isChecked())
            settings.setValue(f"stream/{name}Address", self.edits[name].text())
        settings.setValue("stream/normalized", self.normalized_check.isChecked())
        settings.setValue("stream/predict", self.predict_check.isChecked())
        settings.setValue("stream/predictAhead", self.predict_edit.text())

    def restore(self, settings: QSettings) -> None:
        for name in self.checks:
            self.edits[name].setText(settings.value(f"stream/{name}Address", self.edits[name].text(), str))
            self.checks[name].setChecked(settings.value(f"stream/{name}", False, bool))
        self.normalized_check.setChecked(settings.value("stream/normalized", False, bool))
        self.predict_edit.setText(settings.value("stream/predictAhead", self.predict_edit.text(), str))
        self.predict_check.setChecked(settings.value("stream/predict", False, bool))
