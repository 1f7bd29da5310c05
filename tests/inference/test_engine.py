"""The pose engine (overlapped stages) and the detection schedule (the detector on every n-th frame)."""
import threading

import numpy as np
import pytest

from hrnet_studio.errors import StudioError
from hrnet_studio.inference.detect.detector import Detections, FullFrameDetector
from hrnet_studio.inference.detect.schedule import DetectionSchedule, check_det_every
from hrnet_studio.inference.engine import PoseEngine
from hrnet_studio.inference.options import PipelineOptions
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.inference.tracking import follow_boxes
from hrnet_studio.models.spec import PoseModelSpec
from hrnet_studio.skeletons import COCO_17
from hrnet_studio.sources.video_file import Frame

SPEC = PoseModelSpec("hrnet_w32", 17, (48, 64), COCO_17)


class PeakBackend:
    """Heatmaps with one clear Gaussian peak per joint, at fixed places in the crop (a model with real peaks);
    ``strength(call)`` sets the peak height of each call (a person fading out of view)."""

    device_name = "CPU (synthetic)"
    device_type = "cpu"

    def __init__(self, strength=lambda call: 1.0):
        self.strength = strength
        self.calls = 0
        w, h = SPEC.heatmap_size
        ys, xs = np.mgrid[0:h, 0:w]
        rng = np.random.default_rng(0)
        centres = np.stack([rng.uniform(0.3, 0.7, 17) * w, rng.uniform(0.15, 0.85, 17) * h], axis=1)
        self.maps = np.stack([np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 2) for cx, cy in centres]).astype(np.float32)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.repeat(self.maps[None] * self.strength(self.calls), len(batch), axis=0)


class CountingDetector:
    """Two persons side by side; remembers which frames it was asked about (frames are told apart by a pixel)."""

    name = "counting"

    def __init__(self):
        self.frames: list[int] = []

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        self.frames.append(int(frame_bgr[0, 0, 0]))
        boxes = np.array([[20, 30, 120, 230], [180, 30, 280, 230]], dtype=np.float32)
        return Detections(boxes, np.array([0.9, 0.8], dtype=np.float32))


def frames(n: int) -> list[Frame]:
    out = []
    for i in range(n):
        image = np.full((240, 320, 3), 90, np.uint8)
        image[0, 0, 0] = i
        out.append(Frame(i, i / 30, image))
    return out


def run(pipeline: PosePipeline, n: int, overlap: bool = True):
    return list(PoseEngine(pipeline, overlap=overlap).run(frames(n)))


def test_every_frame_in_order_and_the_same_results_as_one_stage_after_the_other():
    overlapped = run(PosePipeline(PeakBackend(), SPEC, CountingDetector()), 12)
    sequential = run(PosePipeline(PeakBackend(), SPEC, CountingDetector()), 12, overlap=False)
    assert [f.index for f, _ in overlapped] == list(range(12))
    assert [r.frame_index for _, r in overlapped] == list(range(12))
    for (_, a), (_, b) in zip(overlapped, sequential):
        assert [p.track_id for p in a.persons] == [p.track_id for p in b.persons] == [1, 2]
        np.testing.assert_array_equal(np.stack([p.keypoints for p in a.persons]),
                                      np.stack([p.keypoints for p in b.persons]))
    assert {"read", "detect", "crop", "pose", "decode", "track"} <= set(overlapped[0][1].timings_ms)


def test_detection_of_the_next_frame_runs_while_the_network_works():
    """Overlap, shown without a clock: while the network works on frame i, it waits (up to 2 s) for the detector to
    have taken frame i + 1; one stage after the other, that never happens."""
    for overlap in (True, False):
        detector = CountingDetector()
        seen_together = []

        class WaitingBackend(PeakBackend):
            def infer(self, batch):
                next_frame = self.calls + 1  # one forward per frame
                for _ in range(40):
                    if next_frame in detector.frames or threading.Event().wait(0.05):
                        break
                seen_together.append(next_frame in detector.frames)
                return super().infer(batch)

        assert len(run(PosePipeline(WaitingBackend(), SPEC, detector), 2, overlap)) == 2
        assert seen_together == [overlap, False]  # the last frame has no next frame to overlap with


def test_a_hand_over_stage_begins_an_item_only_once_the_last_is_taken():
    """depth 0 (live views): the next frame is begun when pose takes the last one, never earlier, so none waits to
    grow stale. Shown without a clock: holding each item, the consumer waits (up to 0.5 s) for the producer to begin
    two items ahead; with a queue (depth 1) it does, with a hand-over it never does."""
    from hrnet_studio.inference.stages import in_thread

    for depth in (1, 0):
        begun, moved = [-1], threading.Condition()

        def items():
            for k in range(4):
                with moved:
                    begun[0] = k
                    moved.notify_all()
                yield k

        ahead = []
        for item in in_thread(items(), depth=depth):
            with moved:
                moved.wait_for(lambda: begun[0] >= item + 2 or begun[0] == 3, timeout=0.5)
                ahead.append(begun[0] - item)
        assert max(ahead) == (2 if depth == 1 else 1), (depth, ahead)


def test_a_failing_stage_reaches_the_caller_and_every_stage_stops():
    class BrokenDetector(CountingDetector):
        def detect(self, frame_bgr):
            if frame_bgr[0, 0, 0] == 3:
                raise RuntimeError("detector crashed")
            return super().detect(frame_bgr)

    got = []
    with pytest.raises(RuntimeError, match="detector crashed"):
        for frame, _ in PoseEngine(PosePipeline(PeakBackend(), SPEC, BrokenDetector())).run(frames(10)):
            got.append(frame.index)
    assert got == [0, 1, 2]
    assert not {t.name for t in threading.enumerate()} & {"read", "detect", "pose"}


def test_stopping_early_stops_every_stage():
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield Frame(i, 0.0, np.zeros((240, 320, 3), np.uint8))
            i += 1

    results = PoseEngine(PosePipeline(PeakBackend(), SPEC, FullFrameDetector())).run(endless())
    assert [next(results)[0].index for _ in range(3)] == [0, 1, 2]
    results.close()
    assert not {t.name for t in threading.enumerate()} & {"read", "detect", "pose"}
    assert len(produced) < 20  # the bounded queues held the reader back


def test_the_detector_runs_every_nth_frame_and_boxes_follow_the_keypoints_between():
    detector = CountingDetector()
    results = run(PosePipeline(PeakBackend(), SPEC, detector, PipelineOptions(det_every=3)), 10)
    assert sorted(detector.frames) == [0, 3, 6, 9]
    followed = results[1][1].persons
    assert [p.track_id for p in followed] == [1, 2] and [p.box_score for p in followed] == pytest.approx([0.9, 0.8])
    # the keypoints did not move in the crop, so the followed box is the detector's: the same crop as when detected
    np.testing.assert_allclose(followed[0].bbox, [20, 30, 120, 230], atol=1e-3)
    every = [len(r.persons) for _, r in results]
    assert every == [2] * 10 and [p.track_id for _, r in results for p in r.persons] == [1, 2] * 10


def test_a_person_no_longer_seen_clearly_brings_the_detector_back_on_the_next_frame():
    detector = CountingDetector()
    fading = PeakBackend(strength=lambda call: 0.1 if call == 3 else 1.0)  # one forward per frame: frame 2 is unclear
    run(PosePipeline(fading, SPEC, detector, PipelineOptions(det_every=5)), 8)
    assert sorted(detector.frames) == [0, 3, 5]  # 0 and 5 on schedule, 3 because the persons of frame 2 were unclear


def test_the_same_frames_are_detected_whatever_the_timing():
    for _ in range(3):
        detector = CountingDetector()
        run(PosePipeline(PeakBackend(), SPEC, detector, PipelineOptions(det_every=4)), 9)
        assert sorted(detector.frames) == [0, 4, 8]


def test_auto_follows_the_measured_costs():
    schedule = DetectionSchedule(every=0)
    assert schedule.current_every == 1  # nothing measured yet
    schedule.remember([], True, {"detect": 60.0, "crop": 2.0, "pose": 36.0, "decode": 2.0})
    assert schedule.current_every == 5  # detection about a quarter of the time: ceil(3 × 60 / 40)
    schedule.remember([], True, {"detect": 500.0, "pose": 10.0})
    assert schedule.current_every == 10  # at most 10
    with pytest.raises(StudioError, match="got -2"):
        check_det_every(-2)


def test_followed_boxes_move_and_scale_with_the_sure_joints():
    box = np.array([100, 50, 200, 350], np.float32)
    then = np.array([[150, 80], [130, 200], [170, 200], [140, 330], [160, 330]], np.float32)
    scores = np.array([0.9, 0.8, 0.8, 0.7, 0.1], np.float32)  # the last joint is not sure: left out
    moved = then + [12, -4]
    moved[4] = [900, 900]
    np.testing.assert_allclose(follow_boxes([(box, then, scores)], [(moved, scores)], 0.3), [[112, 46, 212, 346]])
    centre = then[:4].mean(axis=0)
    closer = (then - centre) * 1.1 + centre  # the person came closer: the joints spread 1.1 times as far
    grown = follow_boxes([(box, then, scores)], [(closer, scores)], 0.3)[0]
    np.testing.assert_allclose(grown[2:] - grown[:2], [110, 330], rtol=1e-4)
    unsure = follow_boxes([(box, then, scores)], [(moved, scores * 0.2)], 0.3)
    np.testing.assert_allclose(unsure, [box])  # too few sure joints: the detector's box stays


def test_pytorch_work_stays_in_the_callers_thread():
    """PyTorch on the CPU is 35% slower in a thread other than the one that made its OpenMP team (the caller's)."""
    from hrnet_studio.inference.engine import detection_in_own_thread
    from hrnet_studio.inference.runtime.backends import TorchBackend
    from hrnet_studio.models.hrnet import build_hrnet

    torch_cpu = TorchBackend(build_hrnet("hrnet_w8", 17), "cpu")
    spec = PoseModelSpec("hrnet_w8", 17, (64, 64), COCO_17)
    names = {"detect": [], "pose": []}

    class TorchCpuDetector(CountingDetector):
        runtime, device = "torch", "cpu"

        def detect(self, frame_bgr):
            names["detect"].append(threading.current_thread().name)
            return super().detect(frame_bgr)

    class NamingBackend(TorchBackend):
        def infer_tensor(self, batch):  # the PyTorch backend's path: crops and decoding on its device
            names["pose"].append(threading.current_thread().name)
            return super().infer_tensor(batch)

    assert not detection_in_own_thread(PosePipeline(torch_cpu, spec, TorchCpuDetector()))
    assert detection_in_own_thread(PosePipeline(torch_cpu, spec, CountingDetector()))  # e.g. ONNX Runtime
    pose = NamingBackend(build_hrnet("hrnet_w8", 17), "cpu")
    caller = threading.current_thread().name
    assert len(list(PoseEngine(PosePipeline(pose, spec, TorchCpuDetector())).run(frames(3)))) == 3
    assert set(names["detect"]) == set(names["pose"]) == {caller}


@pytest.mark.parametrize("every", [1, 3])
def test_persons_of_several_frames_go_through_the_network_together_with_the_same_results(every):
    one_by_one, together = PeakBackend(), PeakBackend()
    options = PipelineOptions(det_every=every, max_batch=32)
    alone = list(PoseEngine(PosePipeline(one_by_one, SPEC, CountingDetector(), options)).run(frames(20)))
    batched = list(PoseEngine(PosePipeline(together, SPEC, CountingDetector(), options), frames_per_pass=8)
                   .run(frames(20)))
    assert [f.index for f, _ in batched] == list(range(20))
    for (_, a), (_, b) in zip(alone, batched):
        assert [p.track_id for p in a.persons] == [p.track_id for p in b.persons] == [1, 2]
        np.testing.assert_array_equal(np.stack([p.keypoints for p in a.persons]),
                                      np.stack([p.keypoints for p in b.persons]))
        assert b.timings_ms["pose"] > 0
    assert one_by_one.calls == 20
    # every frame detected: 8 + 8 + 4 frames a pass; every third: the detected frames wait for nobody (each frame
    # between them follows the one before), so they go one by one
    assert together.calls == (3 if every == 1 else 20)


@pytest.mark.parametrize("every", [1, 3])
def test_with_lookahead_a_pass_stays_in_flight_while_the_next_starts_and_nothing_changes(every):
    """On a GPU a pass's frames come out after the next pass is started (its crops and network queued behind it);
    forced here on the CPU: the same frames, keypoints and IDs, in order, and the next pass really started first."""
    options = PipelineOptions(det_every=every, max_batch=32)
    plain, ahead = PeakBackend(), PeakBackend()
    expected = list(PoseEngine(PosePipeline(plain, SPEC, CountingDetector(), options), frames_per_pass=8,
                               lookahead=False).run(frames(20)))
    engine = PoseEngine(PosePipeline(ahead, SPEC, CountingDetector(), options), frames_per_pass=8, lookahead=True)
    calls_when_out, got = [], []
    for frame, result in engine.run(frames(20)):
        calls_when_out.append(ahead.calls)
        got.append((frame, result))
    assert [f.index for f, _ in got] == list(range(20))
    for (_, a), (_, b) in zip(expected, got):
        assert [p.track_id for p in a.persons] == [p.track_id for p in b.persons] == [1, 2]
        np.testing.assert_array_equal(np.stack([p.keypoints for p in a.persons]),
                                      np.stack([p.keypoints for p in b.persons]))
    if every == 1:  # passes of 8, 8 and 4 frames: the first comes out once the second has gone to the network
        assert calls_when_out[0] == 2 and calls_when_out[8] == 3 and plain.calls == ahead.calls == 3
    else:  # a frame that follows the one before waits for it: nothing can stay in flight
        assert calls_when_out == list(range(1, 21))
    assert not PoseEngine(PosePipeline(PeakBackend(), SPEC, CountingDetector())).lookahead  # no GPU: off
