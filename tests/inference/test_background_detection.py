"""Live views: the detector runs beside the pose step (``detect/background.py``) and no frame waits for it."""
import threading
import time
from itertools import count

import numpy as np
import pytest
from test_engine import SPEC, PeakBackend

from hrnet_studio.inference.detect.background import (
    Arrival,
    BackgroundDetector,
    BackgroundSchedule,
)
from hrnet_studio.inference.detect.detector import Detections
from hrnet_studio.inference.engine import PoseEngine
from hrnet_studio.inference.options import PipelineOptions
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.inference.results import PersonPose
from hrnet_studio.sources.video_file import Frame

LEFT, RIGHT = [20, 30, 120, 230], [180, 30, 280, 230]


class GatedDetector:
    """Finds the persons at ``boxes``; from the second detection on, each waits until the test releases it."""

    name, runtime, device = "gated", "onnx", "cpu"

    def __init__(self):
        self.boxes = [LEFT]
        self.calls = 0
        self.waiting = threading.Event()  # a detection has begun and waits
        self.release = threading.Event()
        self.returned = threading.Event()  # a released detection has returned its boxes

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        self.calls += 1
        if self.calls > 1:
            self.waiting.set()
            assert self.release.wait(60), "the test never released the detector"
            self.release.clear()
            self.waiting.clear()
        boxes = np.array(self.boxes, np.float32).reshape(-1, 4)
        self.returned.set()
        return Detections(boxes, np.full(len(boxes), 0.9, np.float32))

    def let_one_finish(self) -> None:
        self.returned.clear()
        self.release.set()
        assert self.returned.wait(60)


def endless_frames():
    for i in count():
        yield Frame(i, i / 30, np.full((240, 320, 3), 90, np.uint8))


def test_frames_go_on_while_the_detector_works_and_its_boxes_are_merged_when_they_arrive():
    detector = GatedDetector()
    pipeline = PosePipeline(PeakBackend(), SPEC, detector, PipelineOptions(det_every=3))
    results = PoseEngine(pipeline, depth=0, detect_beside=True).run(endless_frames(), read_ahead=False)
    first = next(results)[1]
    assert len(first.persons) == 1  # nobody was followed: the first frame waited for its own detection
    left_id = first.persons[0].track_id
    while not detector.waiting.is_set():  # a detection is due every third frame
        next(results)
    for _ in range(20):  # the detector is held: the pose step goes on following the person
        result = next(results)[1]
        assert detector.waiting.is_set() and [p.track_id for p in result.persons] == [left_id]
    detector.boxes = [LEFT, RIGHT]  # someone walks in
    detector.let_one_finish()
    for _ in range(20_000):  # the boxes are stored a moment after the detector returns them (a busy CPU: later)
        result = next(results)[1]
        if len(result.persons) == 2:
            break
    assert len(result.persons) == 2 and result.persons[0].track_id == left_id
    assert "detect" in result.timings_ms  # the cost of the detection merged into this frame
    np.testing.assert_allclose(result.persons[1].bbox, RIGHT, atol=1)  # cropped from the box that was detected
    detector.boxes = [RIGHT]  # the first person walks out
    for _ in range(30):
        if detector.waiting.is_set():
            break
        next(results)
    detector.let_one_finish()
    for _ in range(20_000):
        result = next(results)[1]
        if len(result.persons) == 1:
            break
    assert len(result.persons) == 1 and result.persons[0].track_id != left_id
    detector.release.set()  # a detection in flight when the run closes ends with it
    results.close()


def poses(boxes, shift=0.0):
    """One person per box, joints spread over it and moved by ``shift`` pixels to the right."""
    out = []
    for box in boxes:
        x1, y1, x2, y2 = box
        grid = np.stack(np.meshgrid(np.linspace(x1 + 10, x2 - 10, 17), [0.5 * (y1 + y2)]), -1).reshape(17, 2)
        grid[:, 1] += np.linspace(-40, 40, 17)
        out.append(PersonPose(np.array(box, np.float32) + [shift, 0, shift, 0], 0.9,
                              (grid + [shift, 0]).astype(np.float32), np.full(17, 0.9, np.float32)))
    return out


def test_a_late_detection_is_matched_on_the_boxes_of_its_own_frame_then_stale_ones_are_dropped():
    schedule = BackgroundSchedule(every=5)
    schedule.merge(Arrival(0, Detections(np.array([LEFT], np.float32), np.array([0.9], np.float32)), 30.0),
                   current=True)
    np.testing.assert_array_equal(schedule.boxes().boxes, [LEFT])
    for index in range(1, 9):  # the person walks right, 15 px a frame: by frame 8, far from their box at frame 2
        schedule.after_pose(poses([LEFT], 15.0 * index), index, {})
    uid = schedule.persons[0].uid
    # boxes detected on frame 2 arrive: the person is matched on where they were then, not where they are now
    detected_then = np.array([[LEFT[0] + 30, 30, LEFT[2] + 30, 230], RIGHT], np.float32)
    schedule.merge(Arrival(2, Detections(detected_then, np.array([0.8, 0.7], np.float32)), 30.0))
    assert [p.uid for p in schedule.persons][0] == uid and len(schedule.persons) == 2
    followed = schedule.boxes().boxes
    np.testing.assert_allclose(followed[0], detected_then[0] + [90, 0, 90, 0], atol=1e-3)  # moved with the joints
    np.testing.assert_array_equal(followed[1], RIGHT)  # a new person: the detected box, until their first pose
    schedule.merge(Arrival(1, Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32)), 30.0))
    assert len(schedule.persons) == 2  # older than the last merged: stale, ignored
    schedule.merge(Arrival(9, Detections(np.array([RIGHT], np.float32), np.array([0.9], np.float32)), 30.0))
    assert [p.uid for p in schedule.persons] == [schedule.persons[0].uid] != [uid]  # not seen then: dropped


def test_the_background_detector_takes_one_frame_at_a_time_and_hands_its_failure_over():
    release, started = threading.Event(), threading.Event()

    def detect(image):
        started.set()
        assert release.wait(60)
        if image[0, 0, 0] == 1:
            raise RuntimeError("the detector broke")
        return Detections(np.array([LEFT], np.float32), np.array([0.9], np.float32))

    detector = BackgroundDetector(detect)
    try:
        frame = np.zeros((4, 4, 3), np.uint8)
        assert detector.submit(0, frame) and started.wait(60)
        assert not detector.submit(1, frame) and detector.take() is None  # busy: refused; nothing finished yet
        release.set()
        while detector.busy:
            time.sleep(0.001)
        arrival = detector.take()
        assert arrival.index == 0 and len(arrival.detections) == 1 and detector.take() is None
        broken = frame.copy()
        broken[0, 0, 0] = 1
        assert detector.submit(5, broken)
        while detector.busy:
            time.sleep(0.001)
        with pytest.raises(RuntimeError, match="the detector broke"):
            detector.take()
    finally:
        release.set()
        detector.close()


def test_an_empty_scene_does_not_hold_frames_up_and_a_person_walking_in_appears():
    detector = GatedDetector()
    detector.boxes = []
    pipeline = PosePipeline(PeakBackend(), SPEC, detector, PipelineOptions(det_every=3))
    results = PoseEngine(pipeline, depth=0, detect_beside=True).run(endless_frames(), read_ahead=False)
    assert next(results)[1].persons == [] and detector.calls == 1  # the first frame waited: nobody there
    assert next(results)[1].persons == []  # the next frame hands itself to the detector, and goes on
    assert detector.waiting.wait(60)  # that detection has begun, and is held
    for _ in range(20):  # the empty frames go on without it
        assert next(results)[1].persons == []
    assert detector.waiting.is_set() and detector.calls == 2
    detector.boxes = [LEFT]
    detector.let_one_finish()
    for _ in range(20_000):
        result = next(results)[1]
        if result.persons:
            break
    assert len(result.persons) == 1
    detector.release.set()
    results.close()
