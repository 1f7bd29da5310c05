"""The main window: video view, source bar, player, settings, live plots, export and status bar.

Threads: the capture thread reads the source, the worker thread runs the pose pipeline, and this
(UI) thread only paints the latest result. Nothing here runs the model or waits on a file.
"""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QThread, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ..errors import user_message
from ..inference.options import PipelineChoice
from ..models.registry import ModelRegistry
from ..sources.channel import FrameChannel
from ..sources.live import LiveSource
from .common import gc_guard
from .common.shutdown import stop_thread
from .export.outputs import OutputActions
from .finetune.wizard import FineTuneWizard
from .live.capture import CaptureThread
from .live.player_bar import PlayerBar
from .live.plots import JointPlot, PerformancePlot
from .live.video_view import VideoView
from .live.worker import LiveResult, ModelInfo, PoseWorker
from .models.install import ModelInstaller
from .models.quantize_flow import QuantizeFlow
from .review.control import ReviewControl
from .settings.panel import SettingsPanel
from .source_control import SourceControl
from .window_layout import WindowLayout, scrolling


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, registry: ModelRegistry | None = None,
                 probe_cameras_now: bool = True):
        super().__init__()
        gc_guard.acquire()  # before any thread starts: garbage is collected in this thread only
        self.setWindowTitle("HRNet Studio")
        self.setAcceptDrops(True)
        self.settings = settings or QSettings()
        self.registry = registry or ModelRegistry()
        self.source: LiveSource | None = None
        self.capture: CaptureThread | None = None
        self.channel = FrameChannel()
        self.model_info: ModelInfo | None = None
        self.latest: LiveResult | None = None
        self.errors: list[str] = []  # every message shown to the user, newest last
        self.arrivals: deque[float] = deque(maxlen=30)
        self.latencies: deque[float] = deque(maxlen=100)  # ms from each frame's capture to its poses on screen
        self.fps = 0.0
        self.models = ModelInstaller(self)
        self.finetune_wizard: FineTuneWizard | None = None
        self.outputs = OutputActions(self)
        self._closing = False
        self._released = False

        self._build_view()
        self._build_docks()
        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self.window_layout = WindowLayout(self, [self.settings_dock, self.review_dock, self.performance_dock,
                                                 self.joint_dock])
        self._start_worker()
        self._restore_settings()
        self.refresh_models()
        if probe_cameras_now:
            QTimer.singleShot(0, self.sources.refresh_cameras)
        self.apply_model_choice(ask_download=False)

    # ----- construction --------------------------------------------------------------------
    def _build_view(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.view = VideoView()
        self.player = PlayerBar()
        layout.addWidget(self.view, 1)
        layout.addWidget(self.player)
        self.setCentralWidget(central)
        self.sources = SourceControl(self)

    def _build_docks(self) -> None:
        self.panel = SettingsPanel()
        self.settings_dock = self._dock("Settings", scrolling(self.panel, "settingsScroll"),
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.performance_plot = PerformancePlot()
        self.performance_dock = self._dock("Performance", self.performance_plot, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.joint_plot = JointPlot()
        self.joint_dock = self._dock("Joint over time", self.joint_plot, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.review = ReviewControl(self)
        self.review_dock = self._dock("Review", scrolling(self.review.panel, "reviewScroll"),
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.settings_dock, self.review_dock)
        self.tabifyDockWidget(self.performance_dock, self.joint_dock)  # tabbed: one plot's height, not two
        self.settings_dock.raise_()
        self.performance_dock.raise_()
        self.panel.modelChosen.connect(self.apply_model_choice)
        self.panel.download_button.clicked.connect(lambda: self.models.download(self.panel.pending_download()))
        self.panel.optionsChanged.connect(self.apply_options)
        self.panel.overlayChanged.connect(self.apply_overlay)
        self.panel.streamsChanged.connect(lambda: self.worker.request_streams(self.panel.stream.options()))

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.replace(' ', '')}Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_toolbar(self) -> None:
        self.addToolBar(self.sources.build_toolbar())

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "Open &video…", self.sources.choose_video, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open image &folder…", self.sources.choose_folder)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addSeparator()
        out = self.outputs
        self.export_action = self._action(file_menu, "&Export keypoints…", out.export_keypoints, "Ctrl+E")
        self.batch_action = self._action(file_menu, "&Batch export…", out.open_batch_export, "Ctrl+Shift+E")
        self.screenshot_action = self._action(file_menu, "Save &screenshot", out.save_screenshot, "S")
        self.record_action = self._action(file_menu, "&Record overlay video", out.toggle_recording, "R")
        self.record_action.setCheckable(True)
        file_menu.addSeparator()
        self._action(file_menu, "&Import model…", self.models.ask_and_import)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        for dock in (self.settings_dock, self.review_dock, self.performance_dock, self.joint_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self.reset_layout_action = self._action(view_menu, "&Reset layout", lambda: self.window_layout.reset())
        tools_menu = self.menuBar().addMenu("&Tools")
        self._action(tools_menu, "&Fine-tune a model…", self.open_finetune_wizard)
        self.quantize_flow = QuantizeFlow(self)
        self._action(tools_menu, "&Quantize to INT8…", lambda: self.quantize_flow.start())
        self.quantize_part_actions = {
            part: self._action(tools_menu, f"Quantize the {part} model to INT8…",
                               lambda part=part: self.quantize_flow.start(part=part))
            for part in ("face", "hand")}
        tools_menu.aboutToShow.connect(self._enable_part_quantize)
        self.review.build_menu(self.menuBar().addMenu("&Review"))
        play_menu = self.menuBar().addMenu("&Playback")
        self.play_action = self._action(play_menu, "Play / pause", self.sources.toggle_playing, Qt.Key.Key_Space)
        self._action(play_menu, "Next frame", self.sources.step, Qt.Key.Key_Right)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&System report…", self.show_system_report)

    def show_system_report(self) -> None:
        """What runs here and why (``hrnet-studio doctor``), copyable."""
        from .common.system_report import SystemReportDialog

        self.system_report = SystemReportDialog(self)
        self.system_report.show()

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda *_: self.run_action(slot, text.replace("&", "").rstrip("…")))
        menu.addAction(action)
        self.addAction(action)  # shortcuts work with the menu closed
        return action

    def run_action(self, slot, doing: str) -> None:
        """A user's action: a file or folder the system refuses (no permission, a drive gone) is a message."""
        try:
            slot()
        except OSError as exc:
            self.show_error(user_message(exc, doing))

    def _build_status_bar(self) -> None:
        self.fps_label = QLabel("– fps", objectName="fpsLabel")
        self.persons_label = QLabel("0 persons", objectName="personsLabel")
        self.dropped_label = QLabel("", objectName="droppedLabel")
        self.device_label = QLabel("", objectName="deviceLabel")
        self.threads_label = QLabel("", objectName="threadsLabel")
        self.model_label = QLabel("no model", objectName="modelLabel")
        for label in (self.fps_label, self.persons_label, self.dropped_label, self.device_label, self.threads_label,
                      self.model_label):
            self.statusBar().addPermanentWidget(label)

    def _start_worker(self) -> None:
        self.worker_thread = QThread(self)
        self.worker_thread.setObjectName("inference")
        self.worker = PoseWorker(self.channel, capture_ms=lambda: self.capture.capture_ms if self.capture else 0.0)
        self.worker.moveToThread(self.worker_thread)
        self.worker_thread.started.connect(self.worker.run)
        self.worker.resultReady.connect(self.on_result)
        self.worker.modelLoaded.connect(self.on_model_loaded)
        self.worker.failed.connect(self.on_worker_message)
        self.worker.noted.connect(self.on_worker_note)  # a method of this window: delivered in the UI thread
        self.worker.untrusted.connect(self.models.ask_to_trust)
        self.worker_thread.start()

    # ----- models ------------------------------------------------------------------------------
    def refresh_models(self, select: str | None = None) -> None:
        records = self.registry.records()
        if select and any(r.name == select and r.landmarks for r in records):  # a face or hand model: Whole body
            select = self.panel.model_combo.currentData()
        self.panel.fill_models(records, select or self.settings.value("model", None, str))
        self.panel.fill_detectors(records, self.settings.value("detector", None, str))
        box = self.panel.wholebody  # the pickers' own choice once filled, else the saved one
        face = box.face_model if box.face_combo.count() else self.settings.value("faceModel", None, str)
        hand = box.hand_model if box.hand_combo.count() else self.settings.value("handModel", None, str)
        self.panel.fill_landmark_models(records, face, hand)
        if self.panel.model_combo.count() and self.panel.model_needs_download() and self.model_info is None:
            self.view.clear("No pose model is installed yet: pick one under Settings ▸ Pose model to download it,\n"
                            "or File ▸ Import model… for a checkpoint you have")

    def _enable_part_quantize(self) -> None:
        """The face and hand entries of Tools ▸ Quantize act on Settings ▸ Whole body's models, when one is chosen."""
        for part, action in self.quantize_part_actions.items():
            model = self.panel.wholebody.installed_model(part)
            action.setEnabled(model is not None)
            action.setText(f"Quantize the {part} model{f' ({model})' if model else ''} to INT8…")

    def current_choice(self) -> PipelineChoice:
        return self.panel.choice(self.models.trusted)

    def apply_model_choice(self, ask_download: bool = True) -> None:
        if self.panel.model_combo.count() == 0:
            return
        pending = self.panel.pending_download()
        if pending is not None:
            if ask_download:
                self.models.offer_download(pending)
            return
        self.model_label.setText(f"loading {self.panel.model_combo.currentData()}…")
        self.worker.request_model(self.current_choice())

    def open_finetune_wizard(self) -> FineTuneWizard:
        """Non-modal, one at a time: the app keeps running while a model trains."""
        if self.finetune_wizard is not None and self.finetune_wizard.isVisible():
            self.finetune_wizard.raise_()
            return self.finetune_wizard
        wizard = FineTuneWizard(self.registry, self.settings, self)
        wizard.model_ready.connect(self._fine_tuned)
        self.finetune_wizard = wizard
        wizard.show()
        return wizard

    def _fine_tuned(self, name: str, use_now: bool) -> None:
        self.refresh_models(select=name if use_now else self.panel.model_combo.currentData())
        if use_now:
            self.apply_model_choice()
        self.statusBar().showMessage(f"{name} is ready" + (" and selected" if use_now else ""), 10000)

    def apply_options(self) -> None:
        self.worker.request_options(self.panel.options())

    def apply_overlay(self) -> None:
        self.view.options = self.panel.overlay_options()
        self.view.redraw()

    def on_model_loaded(self, info: ModelInfo) -> None:
        self.model_info = info
        precision = "" if info.precision == "fp32" else f", {info.precision}"
        self.model_label.setText(f"{info.name} ({info.arch}, {info.input_size[0]}x{info.input_size[1]}{precision})")
        self.device_label.setText(info.device)
        self.threads_label.setText(info.threads)
        if self.view.image is None and self.source is None:
            self.view.clear("Open a video (File ▸ Open video…), drop a file here, or pick a camera")

    def on_worker_note(self, line: str) -> None:
        self.statusBar().showMessage(line, 30000)

    def on_worker_message(self, message: str) -> None:
        if message.startswith("warning:"):
            self.statusBar().showMessage(message, 10000)
            self.errors.append(message)
        else:
            self.show_error(message)
            if self.model_info is None:
                self.model_label.setText("no model")

    # ----- results -------------------------------------------------------------------------------
    def on_result(self, live: LiveResult) -> None:
        if self._closing:
            return
        self.latest = live
        now = time.monotonic()
        self.arrivals.append(now)
        if len(self.arrivals) > 1:
            self.fps = (len(self.arrivals) - 1) / max(self.arrivals[-1] - self.arrivals[0], 1e-6)
        persons = self.review.shown_persons(live)  # corrections, where the user made any
        self.view.show_frame(live.frame.image, persons, live.keypoints)
        t = live.result.timings_ms
        stages = {"capture": live.capture_ms, "detect": t.get("detect", 0.0),
                  "pose": t.get("crop", 0.0) + t.get("pose", 0.0), "decode": t.get("decode", 0.0),
                  "draw": self.view.last_draw_ms}
        self.performance_plot.add(now, self.fps, stages)
        self.joint_plot.set_keypoints(live.keypoints, live.part_sets)
        self.joint_plot.add(live.frame.timestamp_s, persons)
        self.latencies.append((now - live.frame.capture_time) * 1000)
        ordered = sorted(self.latencies)
        self.fps_label.setText(f"{self.fps:.1f} fps · latency {ordered[len(ordered) // 2]:.0f} ms")
        self.fps_label.setToolTip(f"from capture to the poses on screen, over the last {len(ordered)} frames: median "
                                  f"{ordered[len(ordered) // 2]:.0f} ms, 95th percentile "
                                  f"{ordered[int(0.95 * (len(ordered) - 1))]:.0f} ms")
        self.persons_label.setText(f"{len(persons)} person{'s' if len(persons) != 1 else ''}")
        self.dropped_label.setText(f"{live.dropped} dropped" if self.source is not None and self.source.is_live
                                   else "")
        self.outputs.add_frame()
        self.panel.stream.show_status(live.streams)

    # ----- messages, settings, drag and drop, closing ----------------------------------------------
    def show_error(self, message: str) -> None:
        """A clear message in the window; the app stays usable (the box is not modal to the app)."""
        self.errors.append(message)
        self.statusBar().showMessage(message, 15000)
        if self._closing:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "HRNet Studio", message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorBox")
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()

    def _restore_settings(self) -> None:
        s = self.settings
        self.window_layout.restore(s)
        self.panel.restore(s)
        speed = self.player.speed_box.findData(s.value("speed", 1.0, float))
        self.player.speed_box.setCurrentIndex(max(speed, 0))
        self.sources.fill_recent()
        self.apply_overlay()
        self.apply_options()

    def save_settings(self) -> None:
        s = self.settings
        self.window_layout.save(s)
        self.panel.save(s)
        s.setValue("speed", self.player.speed_box.currentData())
        s.sync()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.window_layout.shown()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.sources.open_path(Path(urls[0].toLocalFile()))
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        """Stop every job and thread (``shutdown.stop_thread``: cancel, a bounded wait, never destroyed while it
        runs), whatever is running; a recording in progress is saved."""
        self._closing = True
        self.save_settings()
        if self.finetune_wizard is not None:
            self.finetune_wizard.shutdown()  # a running training stops at a resumable point
        if self.outputs.batch_dialog is not None:
            self.outputs.batch_dialog.shutdown()  # the video in progress leaves no file; the manifest says the rest
        for job in (self.outputs.export_job, self.models.download_job, self.review.job, self.quantize_flow.job,
                    self.models.import_job, self.sources.camera_probe):
            stop_thread(job)
        self.sources.stop_source()
        self.worker.stop()
        stop_thread(self.worker_thread, cancel=self.worker_thread.quit)
        if not self._released:
            self._released = True
            gc_guard.release()
        super().closeEvent(event)
