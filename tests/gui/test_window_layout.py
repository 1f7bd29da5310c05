"""The main window fits a laptop screen: it opens inside the screen's available area at 1366×768 and 1280×720 with
the player bar, the plots and the status bar on screen (a window saved on a bigger screen included); its dock layout
is remembered and View ▸ Reset layout puts it back."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QSettings

from hrnet_studio.gui.main_window import MainWindow

# Run in a process of its own: the offscreen platform's screen size is fixed when the application starts.
PROBE = r"""
import json, sys
from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from hrnet_studio.gui.main_window import MainWindow

def seen(window, widget):
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    return {"rect": [top_left.x(), top_left.y(), widget.width(), widget.height()], "visible": widget.isVisible()}

def opened(settings):
    window = MainWindow(settings=settings, probe_cameras_now=False)
    window.show()
    app.processEvents()
    frame = window.frameGeometry()
    return window, {"frame": [frame.x(), frame.y(), frame.width(), frame.height()],
                    "player": seen(window, window.player), "status": seen(window, window.statusBar()),
                    "plots": seen(window, window.performance_plot), "view": seen(window, window.view)}

area = app.primaryScreen().availableGeometry()
settings = QSettings(sys.argv[1], QSettings.Format.IniFormat)
window, first = opened(settings)
window.setGeometry(QRect(0, 0, 1280, 1114))  # as the window opened before: saved taller than this screen
window.close()
window, again = opened(QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.close()
print(json.dumps({"area": [area.x(), area.y(), area.width(), area.height()], "first": first, "again": again}))
"""


def inside(inner: list[int], outer: list[int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


@pytest.mark.parametrize("width, height", [(1366, 768), (1280, 720)])
def test_the_window_opens_inside_a_laptop_screen_with_its_controls_on_it(tmp_path, width, height):
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": width, "height": height,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}",
               HRNET_STUDIO_MODELS=str(tmp_path / "models"), HRNET_STUDIO_RUNS=str(tmp_path / "runs"))
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "window.ini")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["area"] == [0, 0, width, height]
    for opening in ("first", "again"):  # a fresh start, then after a window saved taller than the screen
        window = seen[opening]
        assert inside(window["frame"], seen["area"]), (opening, window["frame"])
        for part in ("player", "status", "plots", "view"):
            assert window[part]["visible"] and inside(window[part]["rect"], window["frame"]), (opening, part, window)
        assert window["view"]["rect"][3] >= 200  # the video keeps a useful height
        assert window["player"]["rect"][1] + window["player"]["rect"][3] <= window["status"]["rect"][1]


@pytest.fixture
def ini(tmp_path):
    return str(tmp_path / "layout.ini")


def open_window(qtbot, ini: str) -> MainWindow:
    window = MainWindow(settings=QSettings(ini, QSettings.Format.IniFormat), probe_cameras_now=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_the_layout_is_remembered_and_reset_from_the_view_menu(qtbot, ini, models_home):
    window = open_window(qtbot, ini)
    window.performance_dock.toggleViewAction().trigger()  # View ▸ Performance: hidden
    window.review_dock.setFloating(True)
    window.close()
    again = open_window(qtbot, ini)
    assert not again.performance_dock.isVisible() and again.review_dock.isFloating()  # as the user left it
    docks = [again.settings_dock, again.review_dock, again.performance_dock, again.joint_dock]
    again.reset_layout_action.trigger()  # View ▸ Reset layout
    qtbot.waitUntil(lambda: all(d.isVisible() and not d.isFloating() for d in docks), timeout=5000)
    assert again.size() == window.size()  # fitted to the screen again (this test's screen: 800×800)
    assert again.tabifiedDockWidgets(again.performance_dock) == [again.joint_dock]
    assert again.tabifiedDockWidgets(again.settings_dock) == [again.review_dock]
    again.close()


def test_opencv_pointing_qt_at_its_own_plugins_is_undone(monkeypatch, tmp_path):
    """Importing OpenCV's GUI build points Qt at OpenCV's plugins, which PySide6 cannot load: the app's window would
    not open on an X11 desktop. A path the user chose stays."""
    from pathlib import Path

    import cv2

    from hrnet_studio.gui.app import drop_opencv_qt_paths

    opencv = Path(cv2.__file__).parent
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", str(opencv / "qt" / "plugins"))
    monkeypatch.setenv("QT_QPA_FONTDIR", str(tmp_path))
    assert drop_opencv_qt_paths() == ["QT_QPA_PLATFORM_PLUGIN_PATH"]
    assert "QT_QPA_PLATFORM_PLUGIN_PATH" not in os.environ and os.environ["QT_QPA_FONTDIR"] == str(tmp_path)
