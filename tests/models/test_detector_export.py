"""The detector on ONNX Runtime: exported once by Ultralytics, cached beside the .pt with its sha256, and run
without Ultralytics or PyTorch."""
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from hrnet_studio.errors import DetectorError
from hrnet_studio.inference.detect.detector import detector_label, make_detector
from hrnet_studio.inference.detect.yolo_onnx import (
    Letterbox,
    YoloOnnx,
    letterbox,
    select_boxes,
)
from hrnet_studio.inference.tracking import box_iou
from hrnet_studio.models import detector_export
from hrnet_studio.models.download import sha256_of
from hrnet_studio.models.registry import ModelRegistry
from hrnet_studio.thread_budget import thread_budget


@pytest.fixture
def installed_detector(models_home, yolo_pose_weights):
    models_home.mkdir(parents=True, exist_ok=True)
    return shutil.copyfile(yolo_pose_weights, models_home / "yolo11n-pose.pt")


@pytest.fixture(scope="module")
def gym_frame(videos):
    cap = cv2.VideoCapture(str(videos / "two_people_basketball_gym_426x240.mp4"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


def test_exported_once_beside_the_model_and_finds_the_same_persons(installed_detector, models_home, gym_frame):
    said = []
    onnx = make_detector(str(installed_detector), runtime="onnx", imgsz=320, warn=said.append)
    assert onnx.runtime == "onnx" and detector_label(onnx) == "yolo11n-pose.pt (ONNX Runtime, 320 px)"
    export = models_home / "yolo11n-pose.exports" / "detector.onnx"
    record = json.loads((models_home / "yolo11n-pose.exports" / "detector.json").read_text())
    assert export.is_file() and record["source_sha256"] == sha256_of(installed_detector) and record["task"] == "pose"
    assert len(said) == 1 and "exporting detector yolo11n-pose.pt to ONNX" in said[0]
    assert [r.name for r in ModelRegistry().records() if r.installed] == ["yolo11n-pose"]  # not a model of its own
    session = onnx.model.session.get_session_options()  # under the thread budget, not ORT's defaults
    assert session.intra_op_num_threads == thread_budget().ort_intra
    assert session.get_session_config_entry("session.intra_op.allow_spinning") == "0"

    torch_boxes = make_detector(str(installed_detector), runtime="torch", imgsz=320).detect(gym_frame)
    onnx_boxes = onnx.detect(gym_frame)
    assert len(onnx_boxes) == len(torch_boxes) == 2
    assert box_iou(onnx_boxes.boxes, torch_boxes.boxes).max(axis=1).min() > 0.95

    stamp = export.stat().st_mtime_ns
    again = make_detector(str(installed_detector), runtime="onnx", imgsz=640, warn=said.append)
    assert again.runtime == "onnx" and export.stat().st_mtime_ns == stamp and len(said) == 1  # one export, any size


def test_a_replaced_detector_is_exported_again(installed_detector, models_home):
    record = models_home / "yolo11n-pose.exports" / "detector.json"
    make_detector(str(installed_detector), runtime="onnx", warn=lambda line: None)
    record.write_text(json.dumps(dict(json.loads(record.read_text()), source_sha256="0" * 64)))  # made from another file
    said = []
    make_detector(str(installed_detector), runtime="onnx", warn=said.append)
    assert any("exporting detector" in line for line in said)
    assert json.loads(record.read_text())["source_sha256"] == sha256_of(installed_detector)


def test_a_file_outside_the_model_folder_is_exported_to_the_cache(yolo_pose_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("HRNET_STUDIO_CACHE", str(tmp_path / "cache"))
    detector = make_detector(str(yolo_pose_weights), runtime="onnx", warn=lambda line: None)
    assert detector.runtime == "onnx"
    assert list((tmp_path / "cache" / "detector-exports").glob("yolo11n-pose-*/detector.onnx"))
    assert not (yolo_pose_weights.parent / "yolo11n-pose.exports").exists()


def test_a_failed_export_runs_the_detector_on_pytorch(installed_detector, monkeypatch, models_home):
    def broken(weights, trust, dest):
        raise DetectorError("cannot export detector yolo11n-pose.pt to ONNX: no space left on device")

    monkeypatch.setattr(detector_export, "_export", broken)
    said = []
    detector = make_detector(str(installed_detector), runtime="onnx", warn=said.append)
    assert detector.runtime == "torch" and detector.name == "yolo11n-pose.pt"
    assert said[-1] == ("warning: cannot export detector yolo11n-pose.pt to ONNX: no space left on device; the "
                        "detector runs on PyTorch instead")
    assert not (models_home / "yolo11n-pose.exports" / "detector.onnx").exists()
    assert np.isfinite(detector.detect(np.zeros((64, 64, 3), np.uint8)).boxes).all()


@pytest.fixture(scope="module")
def exported_detector(tmp_path_factory, yolo_pose_weights):
    """The real pose detector's ONNX export (Ultralytics' exporter), made once for this module."""
    folder = tmp_path_factory.mktemp("det")
    task, path = detector_export.onnx_detector(shutil.copyfile(yolo_pose_weights, folder / "yolo11n-pose.pt"))
    assert task == "pose"
    return path


@pytest.mark.parametrize("imgsz", [320, 640])
def test_our_runner_finds_the_boxes_ultralytics_finds(exported_detector, videos, imgsz):
    """Letterbox, decoding and NMS as Ultralytics' predictor does them: the same boxes on real frames."""
    from hrnet_studio.models.ultralytics_files import open_yolo

    ours = YoloOnnx(exported_detector, imgsz, conf=0.4, iou=0.5, max_det=100)
    theirs = open_yolo(exported_detector, task="pose")
    compared = 0
    for clip in ("two_people_basketball_gym_426x240.mp4", "street_crowd_1280x720.avi",
                 "two_people_portrait_1080x1920.mp4"):
        cap = cv2.VideoCapture(str(videos / clip))
        for _ in range(3):
            ok, frame = cap.read()
            assert ok
            boxes, scores, _ = ours.detect(frame, class_id=0)
            result = theirs.predict(frame, conf=0.4, iou=0.5, classes=[0], imgsz=imgsz, max_det=100,
                                    device="cpu", verbose=False)[0]
            order = np.argsort(-result.boxes.conf.numpy(), kind="stable")
            assert len(boxes) == len(order)
            np.testing.assert_allclose(boxes, result.boxes.xyxy.numpy()[order], atol=0.05)
            np.testing.assert_allclose(scores, result.boxes.conf.numpy()[order], atol=1e-4)
            compared += len(boxes)
        cap.release()
    assert compared >= 10  # the street clip has a crowd


def test_letterbox_places_the_frame_and_maps_boxes_back():
    frame = np.full((240, 426, 3), 7, np.uint8)
    tensor, placed = letterbox(frame, (320, 320), stride=32, minimum_rectangle=True)
    assert tensor.shape == (1, 3, 192, 320) and tensor.dtype == np.float32  # 426x240 → 320x180, padded to 192
    assert placed == Letterbox(320 / 426, 180 / 240, 0, 6)
    assert tensor[0, :, 6:186].max() == pytest.approx(7 / 255) and tensor[0, :, :6].min() == pytest.approx(114 / 255)
    fixed, _ = letterbox(frame, (640, 640), stride=32, minimum_rectangle=False)
    assert fixed.shape == (1, 3, 640, 640)
    box = np.array([[0, 6, 320, 186], [-5, 0, 400, 300]], np.float32)
    np.testing.assert_allclose(placed.to_frame(box, frame.shape), [[0, 0, 426, 240], [0, 0, 426, 240]], atol=1e-3)


def test_selection_keeps_the_best_person_boxes_only():
    # rows: cx, cy, w, h, score person, score dog
    rows = np.array([
        [50, 50, 20, 40, 0.9, 0.1],   # a person
        [51, 50, 20, 40, 0.8, 0.1],   # the same person again: removed by NMS
        [150, 50, 20, 40, 0.3, 0.1],  # too unsure
        [250, 50, 20, 40, 0.5, 0.7],  # more a dog than a person: not a person
        [350, 50, 20, 40, 0.6, 0.0],  # a second person
    ], np.float32)
    boxes, scores, extra = select_boxes(rows, num_classes=2, class_id=0, conf=0.4, iou=0.5, max_det=10)
    np.testing.assert_allclose(boxes, [[40, 30, 60, 70], [340, 30, 360, 70]])
    np.testing.assert_allclose(scores, [0.9, 0.6])
    assert extra.shape == (2, 0)  # a detect model: nothing after the class scores
    pose_rows = np.concatenate([rows[:, :5], np.arange(5 * 6, dtype=np.float32).reshape(5, 6)], axis=1)
    _, _, keypoints = select_boxes(pose_rows, num_classes=1, class_id=0, conf=0.4, iou=0.5, max_det=10)
    # one class now, so the "dog" row is a person too; each box keeps its own row's rest, best first
    np.testing.assert_allclose(keypoints, [[0, 1, 2, 3, 4, 5], [24, 25, 26, 27, 28, 29], [18, 19, 20, 21, 22, 23]])
    assert len(select_boxes(rows, 2, 0, 0.4, 0.5, max_det=1)[0]) == 1
    end2end = np.array([[1, 2, 3, 4, 0.9, 0], [5, 6, 7, 8, 0.95, 3], [9, 9, 9, 9, 0.2, 0]], np.float32)
    boxes, scores, _ = select_boxes(end2end, 80, 0, 0.4, 0.5, 10, end2end=True)
    np.testing.assert_allclose(boxes, [[1, 2, 3, 4]]) and np.testing.assert_allclose(scores, [0.9])


def test_an_onnx_file_without_ultralytics_metadata_is_one_line(onnx_w8):
    said = []
    detector = make_detector(str(onnx_w8), warn=said.append)
    assert detector.name == "full frame"
    assert said == [f"warning: cannot load detector {onnx_w8.name}: 'names'; using the full frame as one person "
                    f"box instead (--detector none to silence)"]


def test_an_onnx_pose_path_starts_without_pytorch_or_ultralytics(installed_detector, models_home, onnx_w8, videos,
                                                                  tmp_path):
    """The pure ONNX Runtime path (ONNX pose model, detector export made once) imports neither PyTorch nor
    Ultralytics: seconds of start-up on a small CPU."""
    make_detector(str(installed_detector), runtime="onnx", warn=lambda line: None)  # the export, made once
    shutil.copyfile(onnx_w8, models_home / "w8.onnx")
    script = ("import sys; from hrnet_studio.cli.main import main; "
              f"code = main(['export', {str(videos / 'two_people_basketball_gym_426x240.mp4')!r}, '--model', 'w8.onnx', "
              f"'--detector', 'yolo11n-pose', '--max-frames', '3', '-o', {str(tmp_path / 'out.csv')!r}]); "
              "print('imported:', sorted(m for m in ('torch', 'ultralytics', 'torchvision') "
              "if m in sys.modules)); sys.exit(code)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ),
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "imported: []" in run.stdout
    assert "detector: yolo11n-pose.pt (ONNX Runtime, 640 px)" in run.stderr
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert len(rows) > 1 + 3  # a header, and both persons of the gym clip in each frame
