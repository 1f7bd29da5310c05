"""Live plots (pyqtgraph): frames/s and per-stage latency; a chosen joint's x/y or a joint angle."""
from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...kinematics import (
    angle_deg,
    ankle_dorsiflexion_deg,
    available_angles,
    available_ankles,
)
from ...skeletons import FEET_6, KeypointSet

WINDOW_S = 10.0  # seconds of history shown
STAGE_COLOURS = {"capture": "#9e9e9e", "detect": "#e69f00", "pose": "#56b4e9", "decode": "#009e73",
                 "draw": "#cc79a7", "crop": "#f0e442", "track": "#d55e00"}
PLOTTED_STAGES = ("capture", "detect", "pose", "decode", "draw")

pg.setConfigOptions(antialias=True, background="#18181c", foreground="#d0d0d8")


class PerformancePlot(QWidget):
    """Frames/s (top) and per-stage latency in ms (bottom) over the last seconds."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.fps_plot = pg.PlotWidget(title="frames/s")
        self.stage_plot = pg.PlotWidget(title="latency per stage (ms)")
        # The legend is a label under the plot, wrapping as the dock narrows: inside a 110-pixel plot,
        # pyqtgraph's legend box clipped all but two of the five stages.
        self.stage_legend = QLabel(" ".join(f'<span style="color:{STAGE_COLOURS[s]}">━ {s}</span>'
                                            for s in PLOTTED_STAGES), objectName="stageLegend", wordWrap=True)
        plots = QHBoxLayout()  # side by side: the dock needs one plot's height, so the window fits a laptop screen
        for plot in (self.fps_plot, self.stage_plot):
            plot.setMinimumHeight(110)
            plot.showGrid(x=True, y=True, alpha=0.2)
            plots.addWidget(plot)
        layout.addLayout(plots)
        layout.addWidget(self.stage_legend)
        self.times: deque[float] = deque()
        self.fps: deque[float] = deque()
        self.stages = {s: deque() for s in PLOTTED_STAGES}
        self.fps_curve = self.fps_plot.plot(pen=pg.mkPen("#ffffff", width=2))
        self.stage_curves = {s: self.stage_plot.plot(pen=pg.mkPen(STAGE_COLOURS[s], width=2), name=s)
                             for s in PLOTTED_STAGES}

    def add(self, t: float, fps: float, stage_ms: dict[str, float]) -> None:
        self.times.append(t)
        self.fps.append(fps)
        for stage, values in self.stages.items():
            values.append(stage_ms.get(stage, 0.0))
        while self.times and self.times[0] < t - WINDOW_S:
            self.times.popleft()
            self.fps.popleft()
            for values in self.stages.values():
                values.popleft()
        x = np.array(self.times) - t
        self.fps_curve.setData(x, np.array(self.fps))
        for stage, curve in self.stage_curves.items():
            curve.setData(x, np.array(self.stages[stage]))

    def clear(self) -> None:
        self.times.clear()
        self.fps.clear()
        for values in self.stages.values():
            values.clear()
        self.fps_curve.setData([], [])
        for curve in self.stage_curves.values():
            curve.setData([], [])


PART_TITLES = {"face": "Face", "left_hand": "Left hand", "right_hand": "Right hand"}


def joint_groups(keypoints: KeypointSet, part_sets: dict[str, KeypointSet] | None = None
                 ) -> list[tuple[str, list[tuple[str, tuple[str, int]]]]]:
    """The joints a person has, grouped by part for the joint picker: (title, [(name, (part, index))]) for the body,
    the feet, then each face or hand landmark set; ``part`` is "body" for the body's own keypoints."""
    feet = [i for i, name in enumerate(keypoints.names) if name in FEET_6]
    groups = [("Body", [(name, ("body", i)) for i, name in enumerate(keypoints.names) if i not in feet])]
    if feet:
        groups.append(("Feet", [(keypoints.names[i], ("body", i)) for i in feet]))
    for part, landmarks in (part_sets or {}).items():
        groups.append((PART_TITLES.get(part, part), [(name, (part, i)) for i, name in enumerate(landmarks.names)]))
    return groups


class JointPlot(QWidget):
    """For one person (by ID) and one joint: its x and y over time, or a joint angle."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        self.person_box = QComboBox(objectName="plotPerson")
        self.mode_box = QComboBox(objectName="plotMode")
        self.mode_box.addItems(["x / y", "angle"])
        self.joint_box = QComboBox(objectName="plotJoint")
        for label, widget in (("person", self.person_box), ("show", self.mode_box), ("joint", self.joint_box)):
            row.addWidget(QLabel(label))
            row.addWidget(widget, 1)
        layout.addLayout(row)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(140)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(5, 5))
        layout.addWidget(self.plot)
        self.curve_a = self.plot.plot(pen=pg.mkPen("#56b4e9", width=2), name="x")
        self.curve_b = self.plot.plot(pen=pg.mkPen("#e69f00", width=2), name="y")
        self.keypoints: KeypointSet | None = None
        self.part_sets: dict[str, KeypointSet] = {}
        self.angles: list = []
        self.history: dict[int, deque] = {}  # track id -> (t, keypoints [K, 2], {part: landmarks [L, 2]})
        self.mode_box.currentIndexChanged.connect(self._fill_joints)
        self.person_box.currentIndexChanged.connect(self.redraw)
        self.joint_box.currentIndexChanged.connect(self.redraw)

    def set_keypoints(self, keypoints: KeypointSet, part_sets: dict[str, KeypointSet] | None = None) -> None:
        """The persons' keypoint set and the landmark sets of their faces and hands (a whole-body model's, or the
        whole-body stage's), for the joint picker."""
        if (keypoints, part_sets or {}) == (self.keypoints, self.part_sets):
            return
        self.keypoints, self.part_sets = keypoints, dict(part_sets or {})
        self.angles = available_angles(keypoints) + available_ankles(keypoints)
        self.history.clear()
        self.person_box.clear()
        self._fill_joints()

    def _fill_joints(self) -> None:
        self.joint_box.blockSignals(True)
        self.joint_box.clear()
        angle_mode = self.mode_box.currentIndex() == 1
        if self.keypoints is not None and angle_mode:
            for label, joints in self.angles:
                self.joint_box.addItem(label, joints)
        elif self.keypoints is not None:
            groups = joint_groups(self.keypoints, self.part_sets)
            for title, joints in groups:
                if len(groups) > 1:  # a title row, not a choice
                    self.joint_box.addItem(title)
                    header = self.joint_box.model().item(self.joint_box.count() - 1)
                    header.setEnabled(False)
                    font = QFont(header.font())
                    font.setBold(True)
                    header.setFont(font)
                for name, where in joints:
                    self.joint_box.addItem(f"  {name}" if len(groups) > 1 else name, where)
            first = next((i for i in range(self.joint_box.count()) if self.joint_box.itemData(i) is not None), -1)
            self.joint_box.setCurrentIndex(first)
        self.joint_box.blockSignals(False)
        legend = self.plot.getPlotItem().legend
        legend.getLabel(self.curve_a).setText("angle (°)" if angle_mode else "x (px)")
        legend.getLabel(self.curve_b).setText("" if angle_mode else "y (px)")
        self.redraw()

    def add(self, t: float, persons: list) -> None:
        for person in persons:
            if person.track_id < 0:
                continue
            if person.track_id not in self.history:
                self.history[person.track_id] = deque()
                self.person_box.addItem(f"#{person.track_id}", person.track_id)
            series = self.history[person.track_id]
            parts = {part: found.keypoints.copy() for part, found in person.parts.items()}
            series.append((t, person.keypoints.copy(), parts))
            while series and series[0][0] < t - WINDOW_S:
                series.popleft()
        self.redraw()

    def series(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(t, a, b): the plotted values of the chosen person — x and y, or the angle and None (NaN where the
        chosen face or hand was not found)."""
        track = self.person_box.currentData()
        chosen = self.joint_box.currentData()
        data = self.history.get(track)
        if not data or chosen is None:
            return np.empty(0), np.empty(0), None
        t = np.array([d[0] for d in data])
        if self.mode_box.currentIndex() == 1:
            if len(chosen) == 4:  # an ankle: knee, ankle, heel, big toe
                return t, np.array([float(ankle_dorsiflexion_deg(*kp[list(chosen)])) for _, kp, _ in data]), None
            i, j, k = chosen
            return t, np.array([angle_deg(kp[i], kp[j], kp[k]) for _, kp, _ in data]), None
        part, index = chosen
        points = np.array([kp[index] if part == "body" else parts[part][index] if part in parts else (np.nan, np.nan)
                           for _, kp, parts in data], dtype=float).reshape(-1, 2)
        return t, points[:, 0], points[:, 1]

    def redraw(self) -> None:
        t, a, b = self.series()
        x = t - t[-1] if len(t) else t
        self.curve_a.setData(x, a)
        self.curve_b.setData(x, b if b is not None else np.empty(0))
