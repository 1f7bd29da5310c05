"""Calibration footage → crops: frames sampled evenly, people found once per source and detector, then remembered."""
import os
import shutil

import numpy as np
import pytest

from hrnet_studio.inference.calibration import calibration_crops, part_boxes
from hrnet_studio.inference.detect.detector import OnnxPersonDetector


@pytest.fixture
def clip(tmp_path, videos):
    copy = tmp_path / "gym.mp4"
    shutil.copy(videos / "two_people_basketball_gym_426x240.mp4", copy)
    return copy


def counted(detector):
    """``detector`` with a count of the frames it was asked to look at."""
    real, detector.calls = detector.detect, 0

    def detect(frame):
        detector.calls += 1
        return real(frame)

    detector.detect = detect
    return detector


class Unnamed:
    """The same detector without a fingerprint: it cannot be remembered, so it always runs."""

    def __init__(self, detector):
        self.detect, self.name = detector.detect, detector.name


@pytest.mark.parametrize("per_source", [120, 5])  # a few frames apart (read on to), and far apart (sought)
def test_calibration_frames_are_spread_evenly_over_the_video(videos, per_source):
    import cv2

    from hrnet_studio.inference.calibration import _sampled_frames

    clip = videos / "two_people_basketball_gym_426x240.mp4"
    capture, every = cv2.VideoCapture(str(clip)), []
    while (frame := capture.read())[0]:
        every.append(frame[1])
    taken = list(_sampled_frames(clip, per_source))
    wanted = np.linspace(0, len(every) - 1, per_source).astype(int)
    assert [i for i, _ in taken] == wanted.tolist()
    assert all(np.array_equal(f, every[i]) for (_, f), i in zip(taken, wanted))


def test_people_found_on_a_source_are_remembered_until_the_file_or_the_detector_changes(clip, yolo_pose_export,
                                                                                       tmp_path, monkeypatch):
    monkeypatch.setenv("HRNET_STUDIO_CACHE", str(tmp_path / "cache"))
    onnx = yolo_pose_export / "detector.onnx"
    detector = counted(OnnxPersonDetector(onnx))
    faces = calibration_crops([clip], (96, 128), detector, frames_per_source=6, boxes_of=part_boxes("face"))
    assert detector.calls == 6 and len(faces) > 0

    # the same footage again, for persons this time (a body model after the face model): nothing is detected again,
    # and the crops are the ones a fresh detection gives, the faces from the remembered keypoints included
    persons = calibration_crops([clip], (96, 128), detector, frames_per_source=6)
    again = calibration_crops([clip], (96, 128), detector, frames_per_source=6, boxes_of=part_boxes("face"))
    assert detector.calls == 6
    fresh = Unnamed(OnnxPersonDetector(onnx))
    np.testing.assert_array_equal(persons, calibration_crops([clip], (96, 128), fresh, frames_per_source=6))
    np.testing.assert_array_equal(again, faces)

    more = calibration_crops([clip], (96, 128), detector, frames_per_source=8)  # other frames: found where new
    assert detector.calls == 6 + 8 - 2 and len(more) >= len(persons)  # frames 0 and the last were found before

    stricter = counted(OnnxPersonDetector(onnx, conf=0.8))  # other settings: its own detections
    calibration_crops([clip], (96, 128), stricter, frames_per_source=6)
    assert stricter.calls == 6

    os.utime(clip, ns=(clip.stat().st_atime_ns, clip.stat().st_mtime_ns + 10**9))  # the file changed
    calibration_crops([clip], (96, 128), detector, frames_per_source=6)
    assert detector.calls == 6 + 6 + 6

    for remembered in (tmp_path / "cache" / "detections").glob("*.npz"):
        remembered.write_bytes(b"damaged")  # a damaged cache file is found again, not an error
    calibration_crops([clip], (96, 128), detector, frames_per_source=6)
    assert detector.calls == 6 + 6 + 6 + 6
