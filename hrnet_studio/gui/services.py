"""What the window's parts may use of the main window, and nothing more.

The parts (the source bar, review, outputs, model installs, quantization, training sets) hold a
``WindowServices`` and never the window's class: ``main_window`` imports the parts, never the other way round.
``MainWindow`` provides every member below; a test checks that it does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMenu, QStatusBar, QWidget

    from ..export.job import Corrections
    from ..inference.options import PipelineChoice
    from ..models.registry import ModelRegistry
    from ..sources.channel import FrameChannel
    from ..sources.live import LiveSource
    from .live.capture import CaptureThread
    from .live.player_bar import PlayerBar
    from .live.video_view import VideoView
    from .live.worker import LiveResult, ModelInfo, PoseWorker
    from .settings.panel import SettingsPanel


class SourceServices(Protocol):
    """The source bar as the other parts see it."""

    def last_dir(self) -> str: ...  # the folder of the last file opened, for the next dialog

    def seek(self, index: int) -> None: ...

    def set_playing(self, playing: bool) -> None: ...


class ReviewServices(Protocol):
    """The review as the exports see it: the open video's review, read before an export uses it."""

    def for_export(self) -> Corrections | None: ...


class WindowServices(Protocol):
    settings: QSettings
    registry: ModelRegistry
    panel: SettingsPanel
    view: VideoView
    player: PlayerBar
    channel: FrameChannel
    worker: PoseWorker
    source: LiveSource | None
    capture: CaptureThread | None
    sources: SourceServices
    review: ReviewServices
    latest: LiveResult | None
    model_info: ModelInfo | None
    errors: list[str]  # every message shown to the user, newest last
    recent_menu: QMenu
    record_action: QAction

    def show_error(self, message: str) -> None: ...

    def statusBar(self) -> QStatusBar: ...

    def current_choice(self) -> PipelineChoice: ...

    def apply_model_choice(self, ask_download: bool = True) -> None: ...

    def refresh_models(self, select: str | None = None) -> None: ...

    def open_finetune_wizard(self) -> QWidget: ...
