"""The desktop app driven through its real widgets (pytest-qt, offscreen)."""
import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import make_settings
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from hrnet_studio.gui.main_window import MainWindow
from hrnet_studio.models.hrnet import build_hrnet

LOAD_TIMEOUT = 60_000
PORTRAIT = "single_person_basketball_portrait_1080x1920.mp4"  # 40 frames: keeps exports quick


def results_collector(win):
    seen = []
    win.worker.resultReady.connect(lambda live: seen.append(live))
    return seen


@pytest.mark.fresh_detector_export
def test_open_play_and_see_persons(qtbot, window, videos, gui_models):
    from hrnet_studio.thread_budget import thread_budget

    assert window.model_info.name == "w8" and window.device_label.text() == "CPU"
    assert window.threads_label.text() == thread_budget().describe()  # the thread budget, in the status bar
    assert "w8 (hrnet_w8, 192x256)" in window.model_label.text()
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
    assert window.view.image is not None and (window.view.image.width(), window.view.image.height()) == (426, 240)
    assert window.fps > 0 and window.fps_label.text().endswith("fps")
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


def test_change_model_in_the_picker(qtbot, window, videos, tmp_path):
    mpii = tmp_path / "mpii_w8_256x256.pth"
    torch.save(build_hrnet("hrnet_w8", 16).state_dict(), mpii)
    window.models.import_file(mpii)  # File ▸ Import model… then selects it
    qtbot.waitUntil(lambda: window.model_info.name == "mpii_w8_256x256", timeout=LOAD_TIMEOUT)
    assert window.panel.model_combo.currentData() == "mpii_w8_256x256"
    seen = results_collector(window)
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    assert seen[-1].spec.num_joints == 16 and seen[-1].result.persons[0].keypoints.shape == (16, 2)
    # And back through the combo box, as a user picks it.
    combo = window.panel.model_combo
    combo.setCurrentIndex(combo.findData("w8"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: window.model_info.name == "w8", timeout=LOAD_TIMEOUT)
    qtbot.waitUntil(lambda: seen[-1].spec.num_joints == 17, timeout=30_000)


def test_export_from_the_gui(qtbot, window, videos, tmp_path):
    assert window.sources.open_path(videos / PORTRAIT)
    window.sources.set_playing(False)
    dialog = window.outputs.export_keypoints()
    assert dialog.csv_edit.text().endswith("single_person_basketball_portrait_1080x1920.poses.csv")
    out = tmp_path / "gui.csv"
    dialog.csv_edit.setText(str(out))
    dialog.json_check.setChecked(True)
    dialog.json_edit.setText(str(tmp_path / "gui.json"))
    qtbot.mouseClick(dialog.angles_check, Qt.MouseButton.LeftButton, pos=dialog.angles_check.rect().topLeft() + QPoint(6, 6))
    dialog.angles_edit.setText(str(tmp_path / "gui.angles.csv"))
    box = dialog.analysis_box
    box.filter_combo.setFocus()
    qtbot.keyClick(box.filter_combo, Qt.Key.Key_Down)  # none → Butterworth, as a user picks it
    assert box.filter_combo.currentData() == "butterworth" and box.cutoff_spin.isEnabled()
    dialog.accept()  # the Export button
    outputs = window.outputs
    qtbot.waitUntil(lambda: outputs.export_job is not None and outputs.export_job.isFinished(), timeout=120_000)
    qtbot.waitUntil(lambda: "exported" in window.statusBar().currentMessage(), timeout=5000)
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:4] == ["frame", "time_s", "time_flag", "person_id"] and rows[0][-1] == "filled"  # smoothed
    assert sorted({int(r[0]) for r in rows[1:]}) == list(range(40))
    assert (tmp_path / "gui.json").exists() and (tmp_path / "gui.angles.csv").exists()
    assert "exported 40 frames" in window.statusBar().currentMessage()
    # The panel's "auto" detection schedule follows the machine's timing; an export detects every frame.
    assert window.panel.det_every_combo.currentData() == 0 and outputs.export_job.request.options.det_every == 1


def test_cancel_export_leaves_no_file(qtbot, window, videos, tmp_path):
    window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    window.sources.set_playing(False)
    out = tmp_path / "cancelled.csv"
    job = window.outputs.start_export(out, None, tmp_path / "cancelled.mp4")
    qtbot.waitUntil(lambda: window.outputs.export_dialog.value() >= 2, timeout=60_000)
    cancel = next(b for b in window.outputs.export_dialog.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(job.isFinished, timeout=60_000)
    qtbot.waitUntil(lambda: "export cancelled" in window.statusBar().currentMessage(), timeout=5000)
    assert list(tmp_path.glob("cancelled*")) == [] and list(tmp_path.glob(".cancelled*")) == []
    assert "export cancelled" in window.statusBar().currentMessage()


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


def test_model_that_fails_to_load_is_a_message(qtbot, window, gui_models, small_checkpoint):
    window.registry.import_file(small_checkpoint, name="damaged")
    (gui_models / "damaged.pth").write_bytes(b"PK\x03\x04 damaged after import")
    window.refresh_models()
    combo = window.panel.model_combo
    combo.setCurrentIndex(combo.findData("damaged"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: any("damaged.pth is not a readable PyTorch checkpoint" in e for e in window.errors),
                    timeout=30_000)
    combo.setCurrentIndex(combo.findData("w8"))  # the app stays usable
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: window.model_info.name == "w8" and "w8 (" in window.model_label.text(), timeout=30_000)


def test_settings_persist(qtbot, gui_models, tmp_path):
    path = tmp_path / "persist.ini"
    first = MainWindow(settings=make_settings(path), probe_cameras_now=False)
    qtbot.addWidget(first)
    first.panel.threshold_slider.setValue(55)
    first.panel.flip_check.setChecked(True)
    first.panel.ids_check.setChecked(False)
    first.panel.decoder_combo.setCurrentText("official")
    first.close()
    second = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat), probe_cameras_now=False)
    qtbot.addWidget(second)
    assert second.panel.threshold_slider.value() == 55 and second.view.options.threshold == 0.55
    assert second.panel.flip_check.isChecked() and not second.panel.ids_check.isChecked()
    assert second.panel.decoder_combo.currentText() == "official"
    qtbot.waitUntil(lambda: second.worker.options.decoder == "official" and second.worker.options.flip_test, timeout=5000)
    assert second.panel.model_combo.currentData() == "w8"
    second.close()


def test_screenshot_and_recording(qtbot, window, videos, tmp_path):
    seen = results_collector(window)
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    window.record_action.trigger()
    recorder = window.outputs.recorder
    # Wait on the recorder itself: the collector above runs in the worker thread, ahead of the window's painting.
    qtbot.waitUntil(lambda: recorder.written >= 5, timeout=30_000)
    window.record_action.trigger()
    recorded = window.outputs.record_path
    cap = cv2.VideoCapture(str(recorded))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) >= 5
    cap.release()
    window.sources.set_playing(False)
    shot = window.outputs.save_screenshot()
    image = cv2.imread(str(shot))
    assert image.shape == (256, 340, 3) and shot.parent == tmp_path / "shots"


def test_screenshot_and_exported_video_draw_the_same_overlay(qtbot, window, videos):
    """One renderer: the screenshot of a paused frame is exactly what the exporter's renderer draws on that frame with
    the options the panel shows, and an export started from the app draws with those options."""
    from hrnet_studio.inference.draw import OverlayOptions, draw_poses

    seen = results_collector(window)
    window.panel.threshold_slider.setValue(0)  # random weights score low: show every joint
    for check in (window.panel.scores_check, window.panel.boxes_check):  # scores on, boxes off: a click on the box
        qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=QPoint(8, check.height() // 2))
    window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=30_000)
    window.sources.set_playing(False)
    qtbot.wait(300)
    options = OverlayOptions(skeleton=True, boxes=False, ids=True, scores=True, threshold=0.0)
    assert window.view.options == options
    expected = window.view.frame.copy()
    assert draw_poses(expected, window.view.persons, window.latest.spec.keypoints, options) > 0
    shot = cv2.imread(str(window.outputs.save_screenshot()))
    np.testing.assert_array_equal(shot, expected)
    assert not np.array_equal(shot, window.view.frame)  # there is an overlay on it
    job = window.outputs.start_export(None, None, window.outputs.screenshot_dir() / "overlay.mp4")
    assert job.request.overlay_options == options and job.request.overlay_options is not window.view.options
    job.cancel()
    qtbot.waitUntil(job.isFinished, timeout=60_000)


def test_window_screenshot_with_a_skeleton(qtbot, window, videos):
    """Saves the whole window as a PNG artifact (test-artifacts/) to look at, and checks a skeleton is on it."""
    seen = results_collector(window)
    window.panel.threshold_slider.setValue(0)  # random weights score low: show every joint
    window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 5 and len(seen[-1].result.persons) == 2, timeout=30_000)
    window.sources.set_playing(False)
    qtbot.wait(200)
    window.view.repaint()
    assert window.view.joints_drawn == sum(int((p.scores >= 0).sum()) for p in window.view.persons) > 10
    artifacts = Path(os.environ.get("HRNET_STUDIO_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] /
                                    "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    path = artifacts / f"window-{QApplication.platformName()}.png"
    assert window.grab().save(str(path))
    # The players' colours (IDs 1 and 2) cover more of the view with the overlay than without it.
    with_overlay = overlay_pixels(window.view)
    window.panel.skeleton_check.setChecked(False)
    window.panel.boxes_check.setChecked(False)
    window.panel.ids_check.setChecked(False)
    assert with_overlay > overlay_pixels(window.view) + 200


def overlay_pixels(view) -> int:
    from hrnet_studio.inference.draw import track_colour

    view.repaint()
    image = view.grab().toImage().convertToFormat(view.grab().toImage().Format.Format_RGB888)
    w, h = image.width(), image.height()
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3)
    total = 0
    for track in (1, 2):
        b, g, r = track_colour(track)
        total += int((np.abs(rgb.astype(int) - [r, g, b]).sum(-1) < 30).sum())
    return total


def test_first_run_downloads_from_the_window(qtbot, models_home, tmp_path, monkeypatch, file_server,
                                             small_checkpoint, yolo_pose_weights):
    import hashlib
    import json

    pose_blob, yolo_blob = small_checkpoint.read_bytes(), yolo_pose_weights.read_bytes()
    file_server.files.update({"w8.pth": pose_blob, "yolo.pt": yolo_blob})
    zoo = tmp_path / "zoo.json"
    zoo.write_text(json.dumps({"models": [
        {"name": "hrnet_w8_test_256x192", "kind": "pose", "title": "W8", "arch": "hrnet_w8", "input_size": [192, 256],
         "keypoints": "coco17", "size_bytes": len(pose_blob),
         "sources": [{"url": file_server.url("w8.pth"), "sha256": hashlib.sha256(pose_blob).hexdigest()}]},
        {"name": "yolo11n-pose", "kind": "detector", "title": "YOLO", "file": "yolo11n-pose.pt",
         "sources": [{"url": file_server.url("yolo.pt"), "sha256": hashlib.sha256(yolo_blob).hexdigest()}]},
    ]}))
    monkeypatch.setenv("HRNET_STUDIO_ZOO", str(zoo))
    win = MainWindow(settings=make_settings(tmp_path / "s.ini", model="", detector=""), probe_cameras_now=False)
    qtbot.addWidget(win)
    win.show()
    panel = win.panel
    assert "No pose model is installed yet" in win.view.placeholder
    assert panel.model_combo.currentText() == "hrnet_w8_test_256x192  (download…)"
    assert panel.download_button.isVisible() and panel.download_button.text() == "Download hrnet_w8_test_256x192"
    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.model_info is not None, timeout=LOAD_TIMEOUT)
    assert win.model_info.name == "hrnet_w8_test_256x192" and not panel.download_button.isVisible()
    assert (models_home / "hrnet_w8_test_256x192.pth").read_bytes() == pose_blob

    # The detector, through the combo box and the question the app asks.
    combo = panel.detector_combo
    combo.setCurrentIndex(combo.findData("yolo11n-pose"))
    combo.activated.emit(combo.currentIndex())
    question = next(w for w in win.findChildren(QMessageBox) if w.objectName() == "downloadQuestion")
    qtbot.mouseClick(question.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.model_info.detector == "yolo11n-pose.pt", timeout=LOAD_TIMEOUT)
    assert combo.currentText() == "yolo11n-pose"
    win.close()


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


def test_garbage_is_collected_in_the_ui_thread_only(qtbot, window):
    import gc

    from hrnet_studio.gui.gc_guard import _Collector

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


def test_onnx_exports_are_not_listed_as_models_of_their_own(qtbot, window):
    from hrnet_studio.cli import main

    assert main(["models", "export-onnx", "w8"]) == 0
    window.refresh_models()
    combo = window.panel.model_combo
    names = [combo.itemData(i) for i in range(combo.count())]
    assert "w8" in names and "w8.onnx" not in names


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


def test_the_model_picker_says_where_each_model_comes_from(qtbot, window):
    combo = window.panel.model_combo
    tip = combo.itemData(combo.findData("w8"), Qt.ItemDataRole.ToolTipRole)
    assert tip == "your own file: no published metrics"  # an imported file never shows zoo figures
    tip = combo.itemData(combo.findData("hrnet_w32_coco_256x192"), Qt.ItemDataRole.ToolTipRole)
    assert tip == "model zoo: AP 0.746, AR 0.799"  # not installed: what the catalogue's download would bring


def test_detect_every_and_detector_size_from_the_panel(qtbot, window, videos, tmp_path):
    panel = window.panel
    assert panel.det_every_combo.currentData() == 0  # auto: the live view's default
    panel.det_every_combo.setFocus()
    for _ in range(4):  # auto → every frame → 2nd → 3rd → 5th, with the keyboard
        qtbot.keyClick(panel.det_every_combo, Qt.Key.Key_Down)
    assert panel.det_every_combo.currentText() == "every 5th frame"
    qtbot.waitUntil(lambda: window.worker.pipeline is not None and window.worker.pipeline.options.det_every == 5,
                    timeout=10_000)
    panel.detector_size_combo.setFocus()
    qtbot.keyClick(panel.detector_size_combo, Qt.Key.Key_Home)  # 320 px
    qtbot.waitUntil(lambda: getattr(window.worker.pipeline.detector, "imgsz", None) == 320, timeout=30_000)
    assert window.worker.pipeline.options.det_every == 5  # a new model keeps the options
    seen = results_collector(window)
    window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 6, timeout=30_000)
    assert all(len(live.result.persons) >= 1 for live in seen[:6])
    # the export uses what the panel shows, and the choice is kept for the next start
    assert window.current_choice().detector_size == 320 and panel.options().det_every == 5
    window.save_settings()
    settings = QSettings(window.settings.fileName(), QSettings.Format.IniFormat)
    assert settings.value("detEvery", type=int) == 5 and settings.value("detectorSize", type=int) == 320


def test_quantize_to_int8_from_the_tools_menu(qtbot, window, videos, gui_models):
    """The random-weight w8 cannot pass the guard: the app asks, No keeps nothing, Yes keeps it marked unguarded
    (without calibrating again)."""
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    window.sources.set_playing(False)  # calibration reads the open video itself
    action = next(a for a in window.findChildren(QAction) if a.text() == "&Quantize to INT8…")
    action.trigger()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "keepUnguardedQuestion") is not None, timeout=120_000)
    box = window.findChild(QMessageBox, "keepUnguardedQuestion")
    assert "INT8 against fp32 on" in box.text() and "PCK@0.05 agreement" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert not (gui_models / "w8.int8.onnx").exists()
    box.deleteLater()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "keepUnguardedQuestion") is None, timeout=5_000)

    action.trigger()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "keepUnguardedQuestion") is not None, timeout=120_000)
    box = window.findChild(QMessageBox, "keepUnguardedQuestion")
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert (gui_models / "w8.int8.onnx").is_file()  # registered at once: the candidate was kept while asking
    qtbot.waitUntil(lambda: window.model_info is not None and window.model_info.precision == "INT8 (unguarded)"
                    or bool(window.errors), timeout=120_000)
    assert window.model_info.precision == "INT8 (unguarded)", window.errors
    assert (gui_models / "w8.int8.onnx").is_file()
    assert window.panel.precision_combo.currentText() == "INT8"
    assert "w8 (hrnet_w8, 192x256, INT8 (unguarded))" in window.model_label.text()
    assert window.panel.model_combo.findData("w8.int8.onnx") == -1  # not a model of its own in the picker


def test_the_settings_panel_saves_and_restores_every_setting(qtbot, tmp_path):
    """One table of typed settings: each widget of it, changed by the user, comes back in a new panel."""
    from hrnet_studio.gui.settings_panel import SETTINGS, SettingsPanel

    first = SettingsPanel()
    qtbot.addWidget(first)
    defaults = SettingsPanel()
    qtbot.addWidget(defaults)
    for s in SETTINGS:  # every setting away from its default
        widget = getattr(first, s.widget)
        if s.kind in ("text", "data"):
            widget.setCurrentIndex((widget.currentIndex() + 1) % widget.count())
        elif s.kind == "check":
            widget.setChecked(not widget.isChecked())
        else:
            widget.setValue(widget.value() + 17)
    settings = QSettings(str(tmp_path / "panel.ini"), QSettings.Format.IniFormat)
    first.save(settings)
    settings.sync()
    second = SettingsPanel()
    qtbot.addWidget(second)
    second.restore(QSettings(str(tmp_path / "panel.ini"), QSettings.Format.IniFormat))
    assert second.options() == first.options() != defaults.options()
    assert second.overlay_options() == first.overlay_options() != defaults.overlay_options()
    assert second.choice() == first.choice() != defaults.choice()
    assert second.threshold == first.threshold == 0.47
