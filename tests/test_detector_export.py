"""The detector on ONNX Runtime: exported once by Ultralytics, cached beside the .pt with its sha256."""
import json
import shutil

import cv2
import numpy as np
import pytest

from hrnet_studio.errors import DetectorError
from hrnet_studio.inference.detector import detector_label, make_detector
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
    session = onnx.model.predictor.model.backend.session.get_session_options()  # ours, not Ultralytics' defaults
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
