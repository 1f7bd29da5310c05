"""INT8 with an accuracy guard: ONNX Runtime static quantization calibrated on crops, refused when it strays; made
from the command line and from the app's Tools menu, for body models and for face models on face crops.

The tests that quantize calibrate on the same footage (the gym clip) with the same detector (yolo11n-pose on ONNX
Runtime) and run in this order on one worker (``RUN_TOGETHER`` in conftest.py), so that what one made is what the next
takes from the cache, as a user's second quantization does: the people found (remembered detections), then the INT8
file itself (the app and the command line quantize the same w8 on the same crops)."""
import json

import numpy as np
import pytest
import torch
from helpers import read_csv, run_cli
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox

from hrnet_studio.inference.quantize import (
    GUARD_PCK,
    GuardReport,
    guard,
    quantize_onnx,
)
from hrnet_studio.models.registry import ModelRegistry

GYM = "two_people_basketball_gym_426x240.mp4"  # the calibration footage of every test here that quantizes a model
JOINTS = 3


class BlobFinder(torch.nn.Module):
    """A tiny network with real peaks: joint k is the blob of colour channel k, found by a 4x4 average (the heatmap
    stride) and a 3x3 smoothing, as an HRNet's head would place it."""

    def __init__(self):
        super().__init__()
        self.pool = torch.nn.Conv2d(3, JOINTS, 4, stride=4, bias=False)
        self.smooth = torch.nn.Conv2d(JOINTS, JOINTS, 3, padding=1, bias=True)
        with torch.no_grad():
            self.pool.weight.zero_()
            for k in range(JOINTS):
                self.pool.weight[k, k] = 1 / 16
            self.smooth.weight.zero_()
            for k in range(JOINTS):
                self.smooth.weight[k, k] = torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
            self.smooth.bias.fill_(-0.2)

    def forward(self, x):
        return torch.relu(self.smooth(torch.relu(self.pool(x))))


def blob_crops(n: int, seed: int) -> np.ndarray:
    """float32 [n, 3, 64, 48]: one Gaussian blob per colour channel at a random place."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:64, 0:48]
    crops = np.zeros((n, 3, 64, 48), np.float32)
    for i in range(n):
        for k in range(JOINTS):
            cx, cy = rng.uniform(6, 42), rng.uniform(6, 58)
            crops[i, k] = 2.5 * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * 3.0 ** 2))
    return crops + rng.normal(0, 0.05, crops.shape).astype(np.float32)


@pytest.fixture(scope="module")
def blob_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("blob") / "blob.onnx"
    torch.onnx.export(BlobFinder().eval(), (torch.zeros(2, 3, 64, 48),), str(path), dynamo=False, opset_version=18,
                      input_names=["crops"], output_names=["heatmaps"],  # not our exporter's name
                      dynamic_axes={"crops": {0: "batch"}, "heatmaps": {0: "batch"}})
    return path


def test_the_guard_accepts_a_good_quantization_and_refuses_a_broken_one(blob_model, tmp_path):
    calibration, held_out = blob_crops(64, seed=1), blob_crops(32, seed=2)
    good = tmp_path / "good.int8.onnx"
    quantize_onnx(blob_model, calibration, good)
    report = guard(blob_model, good, held_out)
    assert report.passed and report.pck >= GUARD_PCK and report.correlation > 0.95 and report.crops == 32

    broken = tmp_path / "broken.int8.onnx"  # calibrated on near-black crops: every real peak saturates
    quantize_onnx(blob_model, calibration * 0.01, broken)
    report = guard(blob_model, broken, held_out)
    assert not report.passed and report.pck < GUARD_PCK
    assert "PCK@0.05 agreement" in report.describe() and "needs 0.95" in report.describe()
    assert report.speedup > 0 and "fp32's speed on this CPU" in report.describe()  # measured, reported, not judged
    slower = GuardReport(0.99, 0.99, 32, speedup=0.71)
    assert slower.passed and slower.describe().endswith(
        "it runs 0.71x fp32's speed on this CPU (slower: fp32 is the faster choice for this model here)")


def test_the_same_quantization_is_made_once(blob_model, tmp_path, monkeypatch):
    """The same model on the same crops gives the same INT8 file: the second time it comes from the cache."""
    from hrnet_studio.inference import quantize

    monkeypatch.setenv("HRNET_STUDIO_CACHE", str(tmp_path / "cache"))
    made = []
    real = quantize._quantize
    monkeypatch.setattr(quantize, "_quantize", lambda *args: (made.append(args[2]), real(*args)))
    calibration = blob_crops(16, seed=1)
    quantize_onnx(blob_model, calibration, tmp_path / "first.onnx")
    quantize_onnx(blob_model, calibration, tmp_path / "second.onnx")
    assert made == [tmp_path / "first.onnx"]
    assert (tmp_path / "second.onnx").read_bytes() == (tmp_path / "first.onnx").read_bytes()
    for seed in range(2, 2 + quantize.CACHE_KEEP):  # other crops are another quantization; the oldest are dropped
        quantize_onnx(blob_model, blob_crops(16, seed=seed), tmp_path / f"other{seed}.onnx")
    assert len(made) == 1 + quantize.CACHE_KEEP
    assert len(list((tmp_path / "cache" / "int8").glob("*.onnx"))) == quantize.CACHE_KEEP


def test_a_face_model_is_quantized_on_face_crops_from_a_pose_detector(landmark_files, yolo_pose_weights, videos,
                                                                      models_home, capsys, small_checkpoint_96x128,
                                                                      tmp_path):
    from hrnet_studio.cli.main import main

    ModelRegistry().import_file(landmark_files["face"], name="face")
    calib = ["--calib", str(videos / GYM)]
    assert main(["models", "quantize", "face", *calib, "--detector", "none"]) != 0
    err = capsys.readouterr().err
    assert "calibrating a face model needs a pose detector (such as yolo11n-pose)" in err and "Traceback" not in err
    assert main(["models", "quantize", "face", *calib, "--detector", str(yolo_pose_weights), "--force"]) == 0
    err = capsys.readouterr().err
    assert "collecting face crops for calibration" in err
    assert "registered face.int8.onnx (UNGUARDED: it failed the guard): run it with --face-model face --part-precision " \
        "int8" in err
    meta = json.loads((models_home / "face.int8.onnx.json").read_text())
    assert "face crops from two_people_basketball_gym_426x240.mp4" in meta["notes"][0]

    # with INT8 chosen, the face model runs its INT8 version; a hand model without one runs in fp32, said once
    from hrnet_studio.inference.factory import open_wholebody
    from hrnet_studio.inference.options import PipelineChoice
    from hrnet_studio.inference.runtime.model_loading import open_pose_model

    ModelRegistry().import_file(landmark_files["hand"], name="hand")
    body = open_pose_model(str(small_checkpoint_96x128), backend="torch", device="cpu")
    said = []
    stage = open_wholebody(PipelineChoice(face_model="face", hand_model="hand", device="cpu", precision="int8"),
                           body, ModelRegistry(), said.append)
    assert stage.face.precision == "INT8 (unguarded)" and stage.face.backend.device_name.startswith("ONNX Runtime")
    assert stage.hands.precision == "fp32" and said[0] == \
        "note: hand has no INT8 version (`hrnet-studio models quantize hand` makes one): it runs in fp32"

    # the landmark models' own precision: INT8 faces beside an fp32 body on PyTorch, from the command line
    out = tmp_path / "parts.csv"
    assert main(["export", str(videos / "two_people_basketball_gym_426x240.mp4"), "--model", str(small_checkpoint_96x128),
                 "--backend", "torch", "--detector", str(yolo_pose_weights), "--face-model", "face", "--hand-model",
                 "hand", "--part-precision", "int8", "--max-frames", "2", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "note: face has no INT8" not in err and "note: hand has no INT8 version" in err  # the face runs INT8
    assert (tmp_path / "parts.wholebody.csv").is_file()
    choice = PipelineChoice(face_model="face", device="cpu", backend="torch", part_precision="int8")
    assert open_wholebody(choice, body, ModelRegistry()).face.backend.device_name.startswith("ONNX Runtime")


def test_the_face_model_is_quantized_from_the_tools_menu(qtbot, window, landmark_files, videos, gui_models):
    """Tools ▸ Quantize the face model…: calibrated on the faces of the open video's people (the window's detector is
    yolo11n-pose); kept unguarded when the user says so, not listed as a model of its own, and run at once (Whole
    body ▸ Precision becomes INT8) while the body model stays in fp32."""
    job = window.models.import_file(landmark_files["face"])
    qtbot.waitUntil(job.isFinished, timeout=30_000)
    box = window.panel.wholebody
    qtbot.waitUntil(lambda: box.face_combo.count() == 4, timeout=10_000)
    menu = next(m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Tools")
    face_action = window.quantize_part_actions["face"]

    def open_tools_menu():
        menu.popup(window.mapToGlobal(window.rect().center()))
        qtbot.waitUntil(menu.isVisible, timeout=5_000)

    open_tools_menu()
    assert not face_action.isEnabled() and not window.quantize_part_actions["hand"].isEnabled()  # no face model yet
    menu.hide()
    box.face_combo.setFocus()
    qtbot.keyClick(box.face_combo, Qt.Key.Key_Down)  # off → the installed face model
    window.sources.open_path(videos / GYM)
    window.sources.set_playing(False)  # calibration reads the open video itself
    open_tools_menu()
    assert face_action.isEnabled() and "face_hrnetv2_w8_128x128" in face_action.text()
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(face_action).center())
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "keepUnguardedQuestion") is not None, timeout=120_000)
    question = window.findChild(QMessageBox, "keepUnguardedQuestion")
    assert "INT8 against fp32 on" in question.text()  # random weights: the guard refuses, the user decides
    qtbot.mouseClick(question.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    int8 = gui_models / "face_hrnetv2_w8_128x128.int8.onnx"
    assert int8.is_file() and "face crops from two_people_basketball_gym" in \
        json.loads(int8.with_name(int8.name + ".json").read_text())["notes"][0]
    assert box.face_combo.findData(int8.name) == -1 and box.face_model == "face_hrnetv2_w8_128x128"
    assert "runs as the face model (Whole body ▸ Precision INT8)" in window.statusBar().currentMessage()
    assert box.precision == "int8" and window.panel.precision_combo.currentData() == "fp32"  # the body keeps fp32
    qtbot.waitUntil(lambda: window.worker.pipeline is not None and window.worker.pipeline.wholebody is not None
                    and window.worker.pipeline.wholebody.face.precision == "INT8 (unguarded)", timeout=60_000)
    assert window.model_info.precision == "fp32" and not window.errors


def test_quantize_to_int8_from_the_tools_menu(qtbot, window, videos, gui_models):
    """The random-weight w8 cannot pass the guard: the app asks, No keeps nothing, Yes keeps it marked unguarded
    (without calibrating again)."""
    window.sources.open_path(videos / GYM)
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
    assert "w8 (hrnet_w8, 96x128, INT8 (unguarded))" in window.model_label.text()
    assert window.panel.model_combo.findData("w8.int8.onnx") == -1  # not a model of its own in the picker


def test_quantize_refuses_in_one_line_then_force_keeps_it_marked_unguarded_until_the_model_is_replaced(
        capsys, models_home, small_checkpoint_96x128, yolo_pose_weights, videos, tmp_path):
    """A random-weight HRNet has flat heatmaps, so its INT8 version cannot agree with fp32: the guard refuses it.
    Kept with --force, it runs; once the model is replaced by another file, that INT8 file is stale and never runs."""
    registry = ModelRegistry()
    registry.import_file(small_checkpoint_96x128, name="w8")
    calib = ["--calib", videos / GYM, "--detector", yolo_pose_weights]
    code, _, err = run_cli(capsys, "models", "quantize", "w8", *calib)
    assert code != 0 and "INT8 refused: INT8 against fp32 on" in err and "nothing was kept" in err
    assert "Traceback" not in err and not (models_home / "w8.int8.onnx").exists()

    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "--model", "w8",
                           "--precision", "int8", "--detector", "none", "-o", tmp_path / "a.csv")
    assert code != 0 and "w8 has no INT8 version made from this file: run `hrnet-studio models quantize w8`" in err

    code, _, err = run_cli(capsys, "models", "quantize", "w8", *calib, "--force")
    assert code == 0, err
    assert "registered w8.int8.onnx (UNGUARDED: it failed the guard)" in err
    meta = json.loads((models_home / "w8.int8.onnx.json").read_text())
    assert meta["precision"] == "int8" and meta["guarded"] is False and meta["derived_from"] == "w8"
    assert meta["metrics"]["int8_speedup"] > 0 and "x fp32's speed on this CPU" in err
    code, out, _ = run_cli(capsys, "models", "list")
    row = next(line for line in out.splitlines() if line.startswith("w8.int8.onnx"))
    assert "int8, unguarded" in row

    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "--model", "w8",
                           "--precision", "int8", "--detector", "none", "-o", tmp_path / "int8.csv",
                           "--max-frames", "3")
    assert code == 0, err
    assert "INT8 (unguarded)) on ONNX Runtime CPU" in err
    _, rows = read_csv(tmp_path / "int8.csv")
    assert [r[0] for r in rows] == ["0", "1", "2"]

    other = torch.load(small_checkpoint_96x128, weights_only=True)
    other = {k: v + 0.01 if v.is_floating_point() else v for k, v in other.items()}
    replaced = tmp_path / "w8_v2.pth"
    torch.save(other, replaced)
    code, _, err = run_cli(capsys, "models", "import", replaced, "--name", "w8", "--force")
    assert code == 0, err
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "--model", "w8",
                           "--precision", "int8", "--detector", "none", "-o", tmp_path / "stale.csv")
    assert code != 0 and "w8 has no INT8 version made from this file" in err


def test_bad_calibration_input_is_one_line(capsys, models_home, small_checkpoint, tmp_path, monkeypatch):
    monkeypatch.delenv("HRNET_STUDIO_ASSETS", raising=False)
    ModelRegistry().import_file(small_checkpoint, name="w8")
    code, _, err = run_cli(capsys, "models", "quantize", "w8")
    assert code != 0 and "give footage with people to calibrate on: --calib VIDEO|FOLDER" in err
    code, _, err = run_cli(capsys, "models", "quantize", "w8", "--calib", tmp_path / "missing.mp4")
    assert code != 0 and f"calibration footage not found: {tmp_path / 'missing.mp4'}" in err
