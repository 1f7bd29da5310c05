import collections

import numpy as np
import pytest

from hrnet_studio.inference.detect.detector import (
    FullFrameDetector,
    YoloPersonDetector,
    make_detector,
)
from hrnet_studio.inference.tracking import PoseTracker
from hrnet_studio.skeletons import COCO_17
from hrnet_studio.sources.video_file import VideoFileSource


@pytest.fixture(scope="module")
def yolo(yolo_pose_weights):
    return YoloPersonDetector(yolo_pose_weights, conf=0.4)


@pytest.fixture(scope="module")
def cpu_yolo(yolo_pose_weights, yolo_pose_export):
    """The detector as the app and the CLI run it on a CPU: yolo11n-pose's ONNX export on ONNX Runtime."""
    return make_detector(str(yolo_pose_weights), conf=0.4, runtime="onnx")


def first_frame(path):
    with VideoFileSource(path) as src:
        return next(iter(src)).image


def test_finds_both_people_in_gym_clip(yolo, videos):
    det = yolo.detect(first_frame(videos / "two_people_basketball_gym_426x240.mp4"))
    assert len(det) == 2
    assert det.boxes.dtype == np.float32 and (det.scores >= 0.4).all()
    centres_x = sorted((det.boxes[:, 0] + det.boxes[:, 2]) / 2)
    assert centres_x[0] < 213 < centres_x[1]  # one person left of centre, one right


def test_blank_frame_has_nobody(yolo):
    assert len(yolo.detect(np.zeros((480, 640, 3), np.uint8))) == 0


def test_confidence_threshold_is_applied(yolo_pose_weights, videos):
    frame = first_frame(videos / "two_people_basketball_gym_426x240.mp4")
    strict = YoloPersonDetector(yolo_pose_weights, conf=0.99).detect(frame)
    assert len(strict) == 0


def test_full_frame_fallback():
    det = FullFrameDetector().detect(np.zeros((240, 320, 3), np.uint8))
    np.testing.assert_array_equal(det.boxes, [[0, 0, 320, 240]])


@pytest.mark.parametrize("spec", ["/nonexistent/yolo11n.pt", "openvino_needs_its_package"])
def test_unusable_weights_fall_back_with_one_line(assets, spec):
    if spec == "openvino_needs_its_package":
        pytest.importorskip("ultralytics")
        spec = str(assets / "models/yolo11n_int8_openvino_model")
        try:
            import openvino  # noqa: F401
            pytest.skip("openvino is installed, so this model loads")
        except ImportError:
            pass
    lines = []
    det = make_detector(spec, warn=lines.append)
    assert isinstance(det, FullFrameDetector)
    assert len(lines) == 1 and "\n" not in lines[0] and "full frame" in lines[0]


def test_none_means_full_frame():
    assert isinstance(make_detector("none"), FullFrameDetector)


def tracked_ids(yolo, path):
    tracker = PoseTracker(COCO_17.oks_sigmas())
    per_frame = []
    with VideoFileSource(path) as src:
        for frame in src:
            det = yolo.detect(frame.image)
            per_frame.append((tracker.update(det.boxes), det.boxes))
    return per_frame


def test_ids_on_two_people_portrait_clip(cpu_yolo, videos):
    frames = tracked_ids(cpu_yolo, videos / "two_people_portrait_1080x1920.mp4")
    assert len(frames) == 40
    for ids, boxes in frames:
        assert sorted(ids) == [1, 2]
    for track in (1, 2):
        centres = np.array([((b[ids == track][0, :2] + b[ids == track][0, 2:]) / 2) for ids, b in frames])
        assert np.abs(np.diff(centres, axis=0)).max() < 0.1 * 1080  # each ID follows one person smoothly


def test_ids_on_two_people_gym_clip(cpu_yolo, videos):
    """Hand-held, low-resolution, the two players occlude each other; IDs stay few and stable."""
    frames = tracked_ids(cpu_yolo, videos / "two_people_basketball_gym_426x240.mp4")
    counts = collections.Counter(i for ids, _ in frames for i in ids.tolist())
    assert len(frames) == 300
    assert all(len(set(ids.tolist())) == len(ids) for ids, _ in frames)
    assert len(counts) <= 5
    two_main = sum(c for _, c in counts.most_common(2))
    assert two_main >= 0.75 * sum(counts.values()), counts


def test_a_pose_detector_gives_each_persons_keypoints_on_either_runtime(yolo_pose_weights, videos):
    from hrnet_studio.inference.detect.detector import make_detector

    frame = first_frame(videos / "two_people_basketball_gym_426x240.mp4")
    found = {runtime: make_detector(str(yolo_pose_weights), runtime=runtime).detect(frame)
             for runtime in ("torch", "onnx")}
    for det in found.values():
        assert det.keypoints is not None and det.keypoints.shape == (2, 17, 3)
        seen = det.keypoints[..., 2] > 0.5
        x, y = det.keypoints[..., 0], det.keypoints[..., 1]
        inside = (x >= det.boxes[:, None, 0] - 5) & (x <= det.boxes[:, None, 2] + 5) \
            & (y >= det.boxes[:, None, 1] - 5) & (y <= det.boxes[:, None, 3] + 5)
        assert seen.sum() >= 10 and inside[seen].all()  # each person's joints lie in that person's box
    order = [np.argsort(d.boxes[:, 0]) for d in found.values()]
    torch_kpts, onnx_kpts = (d.keypoints[o] for d, o in zip(found.values(), order))
    both = (torch_kpts[..., 2] > 0.5) & (onnx_kpts[..., 2] > 0.5)
    assert np.abs(torch_kpts[..., :2] - onnx_kpts[..., :2])[both].max() < 3  # the same joints, frame pixels
    assert make_detector("none").detect(frame).keypoints is None
