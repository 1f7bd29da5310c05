"""The live view driven through its real widgets: playing, stepping, the overlay, sources, shortcuts and plots."""

import cv2
import pytest
from conftest import make_settings, results_collector
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from hrnet_studio.gui.main_window import MainWindow

LOAD_TIMEOUT = 60_000
PORTRAIT = "single_person_basketball_portrait_1080x1920.mp4"  # 40 frames: keeps exports quick



@pytest.mark.fresh_detector_export
def test_open_play_and_see_persons(qtbot, window, videos, gui_models):
    from hrnet_studio.thread_budget import thread_budget

    assert window.model_info.name == "w8" and window.device_label.text() == "CPU"
    assert window.threads_label.text() == thread_budget().describe()  # the thread budget, in the status bar
    assert "w8 (hrnet_w8, 96x128)" in window.model_label.text()
    assert window.panel.detector_combo.currentText() == "yolo11n-pose"
    # the detector's one-time ONNX export is a note in the status bar while it runs, never an error box
    assert (gui_models / "yolo11n-pose.exports" / "detector.onnx").is_file()
    assert window.errors == [] and window.findChild(QMessageBox, "errorBox") is None
    seen = results_collector(window)
    assert window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 8, timeout=30_000)
    assert max(len(live.result.persons) for live in seen) == 2  # the two players
    shown = len(window.latest.result.persons)  # the label follows the newest result painted
    assert window.persons_label.text() == f"{shown} person{'s' if shown != 1 else ''}"
    latency = float(window.fps_label.text().split("latency ")[1].removesuffix(" ms"))  # capture → on screen
    assert 0 < latency < 60_000 and "95th percentile" in window.fps_label.toolTip()
    assert window.view.image is not None and (window.view.image.width(), window.view.image.height()) == (426, 240)
    assert window.fps > 0 and window.fps_label.text().startswith(f"{window.fps:.1f} fps")
    assert "frame" in window.player.position_label.text() and window.player.slider.maximum() == 299
    assert len(window.performance_plot.times) >= 2
    assert window.joint_plot.person_box.count() >= 1 and len(window.joint_plot.series()[0]) >= 1


def test_file_mode_processes_every_frame_in_order(qtbot, window, videos):
    window.player.speed_box.setCurrentIndex(window.player.speed_box.findData(4.0))
    seen = results_collector(window)
    assert window.sources.open_path(videos / PORTRAIT)
    qtbot.waitUntil(lambda: len(seen) == 40, timeout=60_000)
    assert [live.frame.index for live in seen] == list(range(40))
    assert all(live.dropped == 0 for live in seen)
    qtbot.waitUntil(lambda: not window.player.play_button.isChecked(), timeout=5000)  # stopped at the end


def test_pause_step_seek(qtbot, window, videos):
    seen = results_collector(window)
    window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    qtbot.mouseClick(window.player.play_button, Qt.MouseButton.LeftButton)  # pause
    assert not window.sources.is_playing()
    qtbot.wait(300)
    last = seen[-1].frame.index
    count = len(seen)
    qtbot.mouseClick(window.player.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(seen) == count + 1, timeout=10_000)
    assert seen[-1].frame.index == last + 1
    window.player.slider.setValue(200)  # what releasing the slider does
    qtbot.waitUntil(lambda: seen[-1].frame.index == 200, timeout=10_000)
    assert "frame 200 / 299" in window.player.position_label.text()
    qtbot.wait(300)
    assert seen[-1].frame.index == 200  # still paused after the seek


def test_overlay_threshold_and_toggles(qtbot, window, videos):
    seen = results_collector(window)
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    window.sources.set_playing(False)
    window.panel.threshold_slider.setValue(0)
    assert window.panel.threshold_label.text() == "0.00" and window.view.options.threshold == 0.0
    drawn = {}
    for value in (0, 20, 100):
        window.panel.threshold_slider.setValue(value)
        window.view.repaint()
        persons = window.view.persons
        assert persons and window.view.joints_drawn == sum(int((p.scores >= value / 100).sum()) for p in persons)
        drawn[value] = window.view.joints_drawn
    assert drawn[0] > drawn[100]
    window.panel.threshold_slider.setValue(0)
    window.panel.skeleton_check.setChecked(False)
    window.view.repaint()
    assert window.view.joints_drawn == 0 and not window.view.options.skeleton


def test_image_folder_and_drag_and_drop(qtbot, window, tmp_path, videos):
    folder = tmp_path / "frames"
    folder.mkdir()
    cap = cv2.VideoCapture(str(videos / "single_person_taichi_340x256.mp4"))
    for i in range(3):
        ok, frame = cap.read()
        assert ok and cv2.imwrite(str(folder / f"{i:03d}.jpg"), frame)
    cap.release()
    seen = results_collector(window)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=30_000)
    assert [live.frame.index for live in seen] == [0, 1, 2]
    assert window.sources.recent_files()[0] == str(folder)
    assert [a.text() for a in window.recent_menu.actions()][0] == str(folder)


@pytest.mark.parametrize("case", ["missing", "not_a_video", "empty_folder"])
def test_bad_sources_are_messages(qtbot, window, tmp_path, videos, case):
    path = {"missing": tmp_path / "nope.mp4", "not_a_video": tmp_path / "notes.mp4",
            "empty_folder": tmp_path / "empty"}[case]
    if case == "not_a_video":
        path.write_text("not a video")
    elif case == "empty_folder":
        path.mkdir()
    assert not window.sources.open_path(path)
    expected = {"missing": "video not found", "not_a_video": "not a video OpenCV can decode",
                "empty_folder": "no images"}[case]
    assert expected in window.errors[-1]
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert any(expected in b.text() for b in boxes)
    assert window.sources.open_path(videos / PORTRAIT)  # still usable


def test_keyboard_shortcuts(qtbot, window, videos):
    seen = results_collector(window)
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.sources.is_playing(), timeout=5000)
    assert not window.player.play_button.isChecked()
    qtbot.wait(300)
    count, last = len(seen), seen[-1].frame.index
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: len(seen) == count + 1 and seen[-1].frame.index == last + 1, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_S)
    shots = list(window.outputs.screenshot_dir().glob("*.png"))
    assert len(shots) == 1
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(window.sources.is_playing, timeout=5000)


def test_cameras_are_probed_in_the_background_and_bad_imports_explained(qtbot, gui_models, tmp_path):
    win = MainWindow(settings=make_settings(tmp_path / "s.ini"), probe_cameras_now=True)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.sources.camera_probe is not None and win.sources.camera_probe.isFinished(), timeout=20_000)
    qtbot.wait(50)
    assert win.sources.camera_combo.count() == 0 and not win.sources.camera_button.isEnabled()  # no camera on this machine
    win.sources.start_selected_camera()
    assert "no camera found" in win.errors[-1]
    bad = tmp_path / "notes.pth"
    bad.write_text("not a checkpoint")
    job = win.models.import_file(bad)
    qtbot.waitUntil(job.isFinished, timeout=10_000)
    qtbot.waitUntil(lambda: "notes.pth is not a readable PyTorch checkpoint" in win.errors[-1], timeout=5000)
    win.close()


def test_close_while_running_stops_every_thread(qtbot, gui_models, tmp_path, videos):
    win = MainWindow(settings=make_settings(tmp_path / "s.ini"), probe_cameras_now=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model_info is not None, timeout=LOAD_TIMEOUT)
    seen = results_collector(win)
    win.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    capture = win.capture
    win.close()
    assert capture.isFinished() and win.worker_thread.isFinished() and win.capture is None


def test_garbage_is_collected_in_the_ui_thread_only(qtbot, window):
    import gc

    from hrnet_studio.gui.common.gc_guard import _Collector

    assert not gc.isenabled()  # no collection in the capture or inference threads
    collector = QApplication.instance().findChild(_Collector)
    assert collector is not None and collector.timer.isActive()
    before = gc.get_count()[0]
    junk = [[] for _ in range(gc.get_threshold()[0] + 10)]
    for item in junk:
        item.append(junk)  # cycles only the collector can free
    del junk
    assert gc.get_count()[0] > before
    qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=3000)
    window.close()
    assert gc.isenabled()  # threads stopped: back to normal


def test_qt_binding_keeps_none_alive(qtbot):
    """Regression guard: PySide6 6.12.0 returned None without a reference from every void method, which on
    Python 3.11 (None not immortal) ran None's count down until the interpreter aborted mid-run."""
    import sys

    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(500):
        label.setText("x")
    assert sys.getrefcount(None) >= before - 50


def test_joint_plot_shows_a_knee_angle(qtbot, window, videos):
    seen = results_collector(window)
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 4, timeout=30_000)
    window.sources.set_playing(False)
    plot = window.joint_plot
    plot.mode_box.setCurrentIndex(1)
    plot.joint_box.setCurrentText("left knee")
    track = plot.person_box.currentData()

    def of_track() -> list:
        return [live for live in seen if any(p.track_id == track for p in live.result.persons)]

    # the frames in flight when playing stopped arrive in the plot too (results reach it after the collector)
    qtbot.waitUntil(lambda: len(plot.series()[0]) == len(of_track()) >= 2, timeout=30_000)
    t, angle, other = plot.series()
    frames = of_track()
    assert other is None and len(t) == len(frames)
    kp = next(p for p in frames[-1].result.persons if p.track_id == track).keypoints
    from hrnet_studio.kinematics import angle_deg

    assert angle[-1] == pytest.approx(angle_deg(kp[11], kp[13], kp[15]), nan_ok=True)
    assert plot.plot.getPlotItem().legend.getLabel(plot.curve_a).text == "angle (°)"


def test_every_stage_of_the_latency_plot_is_named_readably(qtbot, window):
    window.resize(1100, 800)
    qtbot.waitExposed(window)
    plot = window.performance_plot
    legend = plot.stage_legend
    assert legend.isVisible()
    for stage in ("capture", "detect", "pose", "decode", "draw"):
        assert stage in legend.text()
    # Not clipped: the label has the height its wrapped text needs, and lies inside the dock's plot widget.
    assert legend.height() >= legend.heightForWidth(legend.width())
    assert plot.rect().contains(legend.geometry())
