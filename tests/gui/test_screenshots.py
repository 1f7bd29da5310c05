"""What the app shows and saves: screenshots, recordings, and the same overlay as the exported video."""
import os
from pathlib import Path

import cv2
import numpy as np
from conftest import results_collector
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication


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
    from hrnet_studio.export.draw import draw_poses
    from hrnet_studio.export.options import OverlayOptions

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
    assert draw_poses(expected, window.view.persons, window.latest.keypoints, options) > 0
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
    artifacts = Path(os.environ.get("HRNET_STUDIO_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] /
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
    from hrnet_studio.export.draw import track_colour

    view.repaint()
    image = view.grab().toImage().convertToFormat(view.grab().toImage().Format.Format_RGB888)
    w, h = image.width(), image.height()
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3)
    total = 0
    for track in (1, 2):
        b, g, r = track_colour(track)
        total += int((np.abs(rgb.astype(int) - [r, g, b]).sum(-1) < 30).sum())
    return total
