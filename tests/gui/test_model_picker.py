"""Models in the app: the picker, a model that fails to load, first-run downloads (INT8 from the Tools menu: see
tests/inference/test_quantize.py)."""

import numpy as np
import torch
from conftest import make_settings, results_collector
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from hrnet_studio.gui.main_window import MainWindow
from hrnet_studio.models.hrnet import build_hrnet

LOAD_TIMEOUT = 60_000


def test_change_model_in_the_picker(qtbot, window, videos, tmp_path):
    mpii = tmp_path / "mpii_w8_256x256.pth"
    torch.save(build_hrnet("hrnet_w8", 16).state_dict(), mpii)
    window.models.import_file(mpii)  # File ▸ Import model… then selects it
    qtbot.waitUntil(lambda: window.model_info.name == "mpii_w8_256x256", timeout=LOAD_TIMEOUT)
    assert window.panel.model_combo.currentData() == "mpii_w8_256x256"
    seen = results_collector(window)
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    assert seen[-1].keypoints.num_joints == 16 and seen[-1].result.persons[0].keypoints.shape == (16, 2)
    # And back through the combo box, as a user picks it.
    combo = window.panel.model_combo
    combo.setCurrentIndex(combo.findData("w8"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: window.model_info.name == "w8", timeout=LOAD_TIMEOUT)
    qtbot.waitUntil(lambda: seen[-1].keypoints.num_joints == 17, timeout=30_000)


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


def test_onnx_exports_are_not_listed_as_models_of_their_own(qtbot, window):
    from hrnet_studio.cli.main import main

    assert main(["models", "export-onnx", "w8"]) == 0
    window.refresh_models()
    combo = window.panel.model_combo
    names = [combo.itemData(i) for i in range(combo.count())]
    assert "w8" in names and "w8.onnx" not in names


def test_the_model_picker_says_where_each_model_comes_from(qtbot, window):
    combo = window.panel.model_combo
    tip = combo.itemData(combo.findData("w8"), Qt.ItemDataRole.ToolTipRole)
    assert tip == "your own file: no published metrics"  # an imported file never shows zoo figures
    tip = combo.itemData(combo.findData("hrnet_w32_coco_256x192"), Qt.ItemDataRole.ToolTipRole)
    assert tip == "model zoo: AP 0.746, AR 0.799"  # not installed: what the catalogue's download would bring


def test_bf16_from_the_precision_box_runs_pytorch_in_bfloat16(qtbot, window, videos):
    combo = window.panel.precision_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["fp32", "int8", "bf16", "fp16"]
    combo.setCurrentIndex(combo.findData("bf16"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: window.model_info.precision == "bf16", timeout=LOAD_TIMEOUT)
    assert window.model_info.backend == "torch"  # bf16 runs on PyTorch, whatever the backend box says (auto)
    seen = results_collector(window)
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    assert seen[-1].result.persons and seen[-1].result.persons[0].keypoints.dtype == np.float32
