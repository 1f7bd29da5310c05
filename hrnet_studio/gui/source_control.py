"""What the window shows frames from: the source bar (open a video, pick a camera), the file dialogs, recent files,
and the player's controls (play, pause, step, seek, speed) over the capture thread."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFileDialog, QPushButton, QToolBar

from ..errors import StudioError
from ..sources.live import VIDEO_SUFFIXES, LiveSource, open_source
from .common.jobs import CameraProbe
from .common.shutdown import stop_thread
from .live.capture import CaptureThread
from .window_part import WindowPart

MAX_RECENT = 8


class SourceControl(WindowPart):
    """Opens sources for the window (``window.source``, ``window.capture``) and drives their playback."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.camera_probe: CameraProbe | None = None
        player = window.player
        player.playToggled.connect(self.set_playing)
        player.stepRequested.connect(self.step)
        player.seekRequested.connect(self.seek)
        player.speedChanged.connect(self._on_speed)

    def build_toolbar(self) -> QToolBar:
        bar = QToolBar("Source", objectName="sourceBar")
        open_button = QPushButton("Open video…", objectName="openVideoButton")
        open_button.clicked.connect(self.choose_video)
        bar.addWidget(open_button)
        bar.addSeparator()
        self.camera_combo = QComboBox(objectName="cameraCombo")
        self.camera_combo.setMinimumWidth(200)
        self.camera_combo.setPlaceholderText("no camera found")
        bar.addWidget(self.camera_combo)
        self.camera_button = QPushButton("Start camera", objectName="cameraButton", enabled=False)
        self.camera_button.clicked.connect(self.start_selected_camera)
        bar.addWidget(self.camera_button)
        refresh = QPushButton("↻", objectName="refreshCameras")
        refresh.setToolTip("Look for cameras again")
        refresh.clicked.connect(self.refresh_cameras)
        bar.addWidget(refresh)
        return bar

    # ----- cameras ------------------------------------------------------------------------------
    def refresh_cameras(self) -> None:
        """Look for cameras in a thread of its own (opening a camera can take seconds)."""
        probe = CameraProbe(self.window)
        probe.found.connect(self._show_cameras)
        self.camera_probe = probe
        probe.start()

    def _show_cameras(self, cameras: list) -> None:
        self.camera_combo.clear()
        for camera in cameras:
            self.camera_combo.addItem(camera.label, camera.index)
        self.camera_button.setEnabled(self.camera_combo.count() > 0)

    def start_selected_camera(self) -> None:
        index = self.camera_combo.currentData()
        if index is None:
            self.window.show_error("no camera found: connect one and press ↻")
            return
        self._open_or_say(f"camera:{int(index)}")

    # ----- files ----------------------------------------------------------------------------------
    def choose_video(self) -> None:
        pattern = "Videos (" + " ".join(f"*{s}" for s in VIDEO_SUFFIXES) + ");;All files (*)"
        path, _ = QFileDialog.getOpenFileName(self.window, "Open video", self.last_dir(), pattern)
        if path:
            self.open_path(Path(path))

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open image folder", self.last_dir())
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> bool:
        """Open a video file or an image folder; a bad file is a message, not a crash."""
        if not self._open_or_say(path):
            return False
        self._remember(path)
        return True

    def _open_or_say(self, spec: str | Path) -> bool:
        try:
            source = open_source(spec)
        except StudioError as exc:
            self.window.show_error(str(exc))
            return False
        self.open_source(source)
        return True

    def last_dir(self) -> str:
        return self.window.settings.value("lastDir", str(Path.home()), str)

    def _remember(self, path: Path) -> None:
        settings = self.window.settings
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        settings.setValue("recentFiles", recent[:MAX_RECENT])
        settings.setValue("lastDir", str(path.parent))
        self.fill_recent()

    def recent_files(self) -> list[str]:
        value = self.window.settings.value("recentFiles", [])
        return [value] if isinstance(value, str) else list(value or [])

    def fill_recent(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        for entry in self.recent_files():
            action = menu.addAction(entry)
            action.triggered.connect(lambda *_, p=entry: self.open_path(Path(p)))
        menu.setEnabled(bool(self.recent_files()))

    # ----- the open source ----------------------------------------------------------------------------
    def open_source(self, source: LiveSource, playing: bool = True) -> None:
        """Show ``source``: a capture thread feeds the worker, tracks start afresh, the player follows it."""
        window = self.window
        self.stop_source()
        window.channel.reopen()
        window.worker.request_options(window.worker.options)  # new source: fresh tracks
        window.source = source
        capture = window.capture = CaptureThread(source, window.channel, playing=playing)
        capture.speed = window.player.speed_box.currentData()
        capture.failed.connect(self.on_source_failed)
        capture.reachedEnd.connect(lambda: window.player.set_playing(False))
        capture.position.connect(window.player.set_position)
        window.player.set_source(source.frame_count, source.fps, enabled=not source.is_live)
        window.player.set_playing(playing or source.is_live)
        window.performance_plot.clear()
        window.arrivals.clear()
        window.latencies.clear()
        window.setWindowTitle(f"HRNet Studio — {source.name}")
        capture.start()

    def stop_source(self) -> None:
        window = self.window
        if window.capture is not None:
            stop_thread(window.capture, cancel=window.capture.stop, wait_ms=5000)
            window.capture = None
        window.source = None
        if window.outputs.recorder is not None:
            window.outputs.toggle_recording()

    def on_source_failed(self, message: str) -> None:
        self.window.show_error(message)
        self.window.player.set_playing(False)

    # ----- playback ---------------------------------------------------------------------------------------
    def _file_capture(self) -> CaptureThread | None:
        capture = self.window.capture
        return capture if capture is not None and not capture.source.is_live else None

    def is_playing(self) -> bool:
        return self.window.capture is not None and self.window.capture.playing

    def set_playing(self, playing: bool) -> None:
        if (capture := self._file_capture()) is not None:
            capture.set_playing(playing)
        self.window.player.set_playing(self.is_playing())

    def toggle_playing(self) -> None:
        self.set_playing(not self.is_playing())

    def step(self) -> None:
        if (capture := self._file_capture()) is not None:
            capture.set_playing(False)
            self.window.player.set_playing(False)
            capture.step()

    def seek(self, index: int) -> None:
        if (capture := self._file_capture()) is not None:
            capture.seek(index)

    def _on_speed(self, speed: float) -> None:
        if self.window.capture is not None:
            self.window.capture.speed = speed
