"""The main window's size and dock layout: it opens inside the screen's available area (a 1366×768 laptop
included) and stays usable down to 1280×720; the layout is remembered and can be reset from View."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

PREFERRED_SIZE = QSize(1280, 800)  # the window's size on a screen with room for it


def scrolling(widget: QWidget, name: str) -> QScrollArea:
    """``widget`` in a vertical scroll area: a tall panel scrolls in a short dock instead of pushing the window
    taller than the screen."""
    area = QScrollArea(objectName=name)
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


def available_area(window: QWidget) -> QRect:
    """The part of the window's screen not taken by panels and task bars, in global pixels."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fits(window: QWidget) -> bool:
    """Whether the whole window, frame included, lies inside its screen's available area."""
    return available_area(window).contains(window.frameGeometry())


def fit_on_screen(window: QWidget) -> None:
    """``PREFERRED_SIZE``, or the available area where the screen is smaller, frame included; centred there."""
    area = available_area(window)
    frame = window.frameGeometry().size() - window.geometry().size()  # the title bar and borders, once shown
    size = PREFERRED_SIZE.boundedTo(area.size() - frame)
    window.resize(size)
    outer = QRect(0, 0, size.width() + frame.width(), size.height() + frame.height())
    outer.moveCenter(area.center())
    window.move(outer.topLeft())


class WindowLayout:
    """Saves and restores the window's geometry and docks, keeps them on screen, and resets them to the default
    arrangement (``default_state``, taken once the docks are built)."""

    def __init__(self, window: QMainWindow, docks: list[QDockWidget]):
        self.window, self.docks = window, docks
        # the side docks run the window's full height; the plots sit under the video only
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.default_state: QByteArray = window.saveState()

    def default_sizes(self) -> None:
        """The docks' default sizes: the side panel a third of the width at most, the plots a quarter of the height
        (the video gets the rest)."""
        size = self.window.size()
        side = [d for d in self.docks if self.window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]
        bottom = [d for d in self.docks if self.window.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
        self.window.resizeDocks(side[:1], [max(side[0].minimumSizeHint().width(), size.width() // 3)],
                                Qt.Orientation.Horizontal)
        self.window.resizeDocks(bottom[:1], [max(bottom[0].minimumSizeHint().height(), size.height() // 4)],
                                Qt.Orientation.Vertical)

    def restore(self, settings: QSettings) -> None:
        geometry, state = settings.value("geometry"), settings.value("windowState")
        if geometry is None or not self.window.restoreGeometry(geometry):
            fit_on_screen(self.window)
        elif not fits(self.window):  # saved on a larger screen, or a screen that is gone
            fit_on_screen(self.window)
        if state is None or not self.window.restoreState(state):
            self.default_sizes()

    def save(self, settings: QSettings) -> None:
        settings.setValue("geometry", self.window.saveGeometry())
        settings.setValue("windowState", self.window.saveState())

    def shown(self) -> None:
        """Once the window is on screen its frame is known: move it inside the screen if the frame pushes it out."""
        if not fits(self.window):
            fit_on_screen(self.window)

    def reset(self) -> None:
        """View ▸ Reset layout: every dock back in its place and shown, the window fitted to its screen."""
        if self.window.isMaximized() or self.window.isFullScreen():
            self.window.showNormal()
        self.window.restoreState(self.default_state)
        for dock in self.docks:
            dock.setFloating(False)
            dock.show()
        self.docks[0].raise_()
        fit_on_screen(self.window)
        self.default_sizes()
