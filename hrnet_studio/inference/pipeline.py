"""PosePipeline: frame → persons with keypoints. The one path used by the CLI, GUI and benchmarks."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..models.spec import PoseModelSpec
from ..skeletons import KeypointSet, output_keypoints, wholebody_layout
from .codec.heatmap_codec import HeatmapCodec
from .codec.tensor_crops import person_crops_tensor
from .codec.transforms import person_crops
from .detect.background import Arrival, BackgroundDetector, BackgroundSchedule
from .detect.detector import Detections, PersonDetector
from .detect.schedule import DetectionSchedule
from .options import PipelineOptions
from .results import FrameResult, PersonPose
from .runtime.backends import PoseBackend
from .runtime.heatmaps import predict_heatmaps, predict_heatmaps_tensor
from .tracking import KeypointSmoother, PoseTracker
from .wholebody import PartLandmarks, WholeBodyStage

STAGES = ("read", "detect", "crop", "pose", "decode", "track", "parts")


@dataclass
class Estimate:
    """``start_estimate``'s work in flight: the boxes, their crops' centres and scales [N, 2], and the decoded
    keypoints (numpy, or a ``tensor_decode.HostCopy`` on its way back); ``decoded`` None when there were no boxes."""

    boxes: Detections
    centers: np.ndarray | None
    scales: np.ndarray | None
    decoded: object


class StageTimer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        yield
        self.ms[stage] = self.ms.get(stage, 0.0) + (time.perf_counter() - start) * 1000


class PosePipeline:
    """Frame → persons: detect (or follow) boxes, crop each person to the model's input, run the network, decode
    the heatmaps with the model's codec, then track and smooth, and add face and hand landmarks when a
    ``wholebody`` stage is given. Frames are BGR uint8 [H, W, 3]; every coordinate
    that comes out is in frame pixels. Built by ``factory.build_pipeline``; run by ``engine.PoseEngine``."""

    def __init__(
        self,
        backend: PoseBackend,
        spec: PoseModelSpec,
        detector: PersonDetector,
        options: PipelineOptions | None = None,
        wholebody: WholeBodyStage | None = None,
    ):
        self.backend = backend
        self.spec = spec
        self.detector = detector
        self.wholebody = wholebody  # face and hand landmarks after the body (off when None)
        self.tensor_path = hasattr(backend, "infer_tensor")  # PyTorch: crops and decoding on its device
        self.layout = wholebody_layout(spec.keypoints)  # a whole-body model's split, else None
        self.tracker = PoseTracker(output_keypoints(spec.keypoints).oks_sigmas())
        self._detector_lock = threading.Lock()  # the detect stage and a fallback in the pose stage share it
        self.options = options or PipelineOptions()

    @property
    def options(self) -> PipelineOptions:
        return self._options

    @options.setter
    def options(self, options: PipelineOptions) -> None:
        """New options start afresh: tracks, filters and the detection schedule are reset."""
        self._options = options
        self.codec = HeatmapCodec.for_spec(self.spec, options.decoder)
        self.smoother = KeypointSmoother(options.smooth_min_cutoff, options.smooth_beta)
        self.schedule = DetectionSchedule(options.det_every, options.redetect_below)
        self.following = BackgroundSchedule(options.det_every, options.redetect_below)  # ``follow_stage``'s
        self.reset()

    def reset(self) -> None:
        """Forget tracks, filter state and followed boxes, e.g. when a new video starts or the user seeks."""
        self.tracker.reset()
        self.smoother.reset()
        self.schedule.reset()
        self.following.reset()

    def heatmaps(self, batch: np.ndarray) -> np.ndarray:
        """Network output float32 [N, K, h, w] for normalised crops [N, 3, H, W] (``heatmaps.predict_heatmaps``)."""
        return predict_heatmaps(self.backend, batch, self.spec.keypoints.flip_pairs, self.options.flip_test,
                                self.options.max_batch, shift=self.codec.flip_shift)

    def estimate(
        self, frame_bgr: np.ndarray, detections: Detections, timer: StageTimer | None = None
    ) -> list[PersonPose]:
        """Poses for given person boxes (``detections.boxes`` [N, 4] x1, y1, x2, y2 frame pixels), no tracking:
        one ``PersonPose`` per box, keypoints [K, 2] in frame pixels and scores [K] (heatmap peaks, about 0-1)."""
        return self.estimate_many([(frame_bgr, detections)], detections, timer or StageTimer())

    def _poses(self, detections: Detections, coords: np.ndarray, maxvals: np.ndarray) -> list[PersonPose]:
        persons = [PersonPose(detections.boxes[i].astype(np.float32), float(detections.scores[i]), coords[i],
                              maxvals[i, :, 0]) for i in range(len(coords))]
        if self.layout is not None:  # a whole-body model: body and feet stay, the face and hands become parts
            for person in persons:
                person.keypoints, points = self.layout.split(person.keypoints)
                person.scores, scores = self.layout.split(person.scores)
                person.parts = {part: PartLandmarks(_extent(points[part]), points[part], scores[part], landmarks)
                                for part, _, landmarks in self.layout.parts}
        return persons

    @property
    def keypoints(self) -> KeypointSet:
        """The keypoints each person comes out with (``skeletons.output_keypoints``): the model's set, or a whole-body
        model's body and feet."""
        return output_keypoints(self.spec.keypoints)

    @property
    def part_sets(self) -> dict[str, KeypointSet]:
        """The landmark set of each part (face, left_hand, right_hand) persons come with: a whole-body model's own,
        or those of the face and hand models of the whole-body stage; empty with neither."""
        if self.layout is not None:
            return {part: landmarks for part, _, landmarks in self.layout.parts}
        return self.wholebody.part_sets if self.wholebody is not None else {}

    def process(self, frame_bgr: np.ndarray, frame_index: int = 0, timestamp_s: float = 0.0) -> FrameResult:
        """One frame, start to end: ``detect_stage`` then ``pose_stage`` (the engine runs them overlapped)."""
        timer = StageTimer()
        detections = self.detect_stage(frame_bgr, timer)
        return self.pose_stage(frame_bgr, frame_index, timestamp_s, detections, timer)

    def detect_stage(self, frame_bgr: np.ndarray, timer: StageTimer) -> Detections | None:
        """Person boxes for a frame, or None when this frame's boxes follow the previous frame's keypoints
        (``detect/schedule.py``)."""
        return self._detect(frame_bgr, timer) if self.schedule.wants_detection() else None

    def pose_stage(
        self, frame_bgr: np.ndarray, frame_index: int, timestamp_s: float, detections: Detections | None,
        timer: StageTimer,
    ) -> FrameResult:
        """Keypoints, track IDs and smoothing for one frame; frames must come in order.

        ``detections`` None: boxes from the previous frame's keypoints, or from the detector when there is
        nobody to follow."""
        detected = detections is not None
        if not detected:
            detections = self.schedule.followed_boxes()
            if detections is None:
                detected, detections = True, self._detect(frame_bgr, timer)
        persons = self.estimate(frame_bgr, detections, timer)
        self.schedule.remember(persons, detected, timer.ms)
        return self._finish(frame_bgr, frame_index, timestamp_s, persons, timer)

    def start_pass(self, frames: list[tuple[np.ndarray, int, float, Detections, StageTimer]]) -> PosePass:
        """``pose_stage`` for consecutive frames whose boxes are all known (frame BGR, index, time s, detections,
        timer each), first half: the persons of every frame cropped and sent through the network together; on a GPU
        the work is queued and this returns before it is done, so the caller can start the next pass (or read and
        detect) meanwhile. ``end_pass`` then tracks each frame in order; passes must be ended in the order they were
        started. The keypoints are ``pose_stage``'s; the crop, network and decode time is shared out by persons."""
        boxes = Detections(np.concatenate([d.boxes for *_, d, _ in frames]).reshape(-1, 4),
                           np.concatenate([d.scores for *_, d, _ in frames]))
        shared = StageTimer()
        return PosePass(frames, boxes, self.start_estimate([(image, d) for image, _, _, d, _ in frames], boxes,
                                                           shared), shared)

    def end_pass(self, started: PosePass) -> list[FrameResult]:
        """A started pass's frames, tracked in order."""
        persons = self.end_estimate(started.estimate, started.timer)
        results, start = [], 0
        counts = [len(detections) for _, _, _, detections, _ in started.frames]
        total = max(1, sum(counts))
        for (image, index, timestamp_s, _, timer), count in zip(started.frames, counts):
            for stage, ms in started.timer.ms.items():
                timer.ms[stage] = timer.ms.get(stage, 0.0) + ms * (count / total)
            mine = persons[start:start + count]
            start += count
            self.schedule.remember(mine, True, timer.ms)
            results.append(self._finish(image, index, timestamp_s, mine, timer))
        return results

    def estimate_many(self, frames: list[tuple[np.ndarray, Detections]], boxes: Detections, timer: StageTimer
                      ) -> list[PersonPose]:
        """``estimate`` for the persons of several frames in one network pass: ``frames`` (frame, its detections)
        in order; ``boxes`` all their detections concatenated. One ``PersonPose`` per box, in that order. With the
        PyTorch backend the crops are made, run and decoded on its device, and keypoints and scores come back
        (``codec/tensor_crops.py``, ``codec/tensor_decode.py``)."""
        return self.end_estimate(self.start_estimate(frames, boxes, timer), timer)

    def start_estimate(self, frames: list[tuple[np.ndarray, Detections]], boxes: Detections, timer: StageTimer
                       ) -> Estimate:
        """``estimate_many`` up to the keypoints' way back: on the tensor path decoding is queued on the device and
        the keypoints are being copied back; on the other paths everything is done."""
        if len(boxes) == 0:
            return Estimate(boxes, None, None, None)
        with timer("crop"):
            made = [self._crops(image, d) for image, d in frames if len(d)]
            if len(made) == 1:  # one frame (live, or a frame alone): its crops as they are, not copied
                batch, centers, scales = made[0]
            else:
                centers = np.concatenate([m[1] for m in made])
                scales = np.concatenate([m[2] for m in made])
                batch = _joined([m[0] for m in made])
        with timer("pose"):
            heatmaps = self._network(batch)
        with timer("decode"):
            if self.tensor_path:
                return Estimate(boxes, centers, scales, self.codec.decode_tensor_start(heatmaps))
            return Estimate(boxes, centers, scales, self.codec.decode(heatmaps, centers, scales))

    def end_estimate(self, started: Estimate, timer: StageTimer) -> list[PersonPose]:
        """The persons of a ``start_estimate``, one per box (waiting, on a GPU, for its work; counted as "pose")."""
        if started.decoded is None:
            return []
        if self.tensor_path:
            with timer("pose"):
                coords, maxvals = self.codec.decode_tensor_end(started.decoded, started.centers, started.scales)
        else:
            coords, maxvals = started.decoded
        return self._poses(started.boxes, coords, maxvals)

    def _crops(self, frame_bgr: np.ndarray, detections: Detections):
        if self.tensor_path:
            return person_crops_tensor(frame_bgr, detections.boxes, self.spec.input_size, self.backend.device,
                                       self.spec.normalization, udp=self.codec.udp)
        return person_crops(frame_bgr, detections.boxes, self.spec.input_size, self.spec.normalization,
                            udp=self.codec.udp)

    def _network(self, batch):
        if self.tensor_path:
            return predict_heatmaps_tensor(self.backend, batch, self.spec.keypoints.flip_pairs,
                                           self.options.flip_test, self.options.max_batch,
                                           shift=self.codec.flip_shift)
        return self.heatmaps(batch)

    def follow_stage(
        self, frame_bgr: np.ndarray, frame_index: int, timestamp_s: float, detector: BackgroundDetector,
        timer: StageTimer,
    ) -> FrameResult:
        """Live: keypoints, track IDs and smoothing for one frame while the detector runs beside, in ``detector``'s
        thread (``detect/background.py``): boxes follow the keypoints, a detection is handed the frame when due, and
        boxes that arrived since the last frame are merged first. Waits for the detector only when nobody is followed
        and no detection has found the scene empty yet (the first frame, the first after a seek).
        ``timings_ms["detect"]`` is the cost of a detection that arrived, spent beside the frame, not in it, or of the
        frame's own when it waited."""
        arrival = detector.take()
        if arrival is not None:
            self.following.merge(arrival)
            timer.ms["detect"] = arrival.ms
        waited = not self.following.persons and not self.following.found_nobody
        if waited:  # nobody to follow, and no detection has said the scene is empty: this frame waits for its own
            start = time.perf_counter()
            boxes = self.detect_boxes(frame_bgr)  # after the one in flight, if any: they share the detector's lock
            ms = (time.perf_counter() - start) * 1000
            self.following.merge(Arrival(frame_index, boxes, ms), current=True)
            timer.ms["detect"] = timer.ms.get("detect", 0.0) + ms
        detections = self.following.boxes()
        if self.following.wants_detection() and not waited:  # asked once per frame: it counts the frames
            detector.submit(frame_index, frame_bgr)
        persons = self.estimate(frame_bgr, detections, timer)
        self.following.after_pose(persons, frame_index, timer.ms)
        return self._finish(frame_bgr, frame_index, timestamp_s, persons, timer)

    def detect_boxes(self, frame_bgr: np.ndarray) -> Detections:
        """The detector's boxes for a frame (any thread; one detection at a time)."""
        with self._detector_lock:
            return self.detector.detect(frame_bgr)

    def _finish(self, frame_bgr: np.ndarray, frame_index: int, timestamp_s: float, persons: list[PersonPose],
                timer: StageTimer) -> FrameResult:
        with timer("track"):
            self._track(persons, timestamp_s)
        if self.wholebody is not None:
            with timer("parts"):
                self.add_parts(frame_bgr, persons)
        return FrameResult(frame_index, timestamp_s, persons, timer.ms)

    def add_parts(self, frame_bgr: np.ndarray, persons: list[PersonPose]) -> None:
        """Fill each person's face and hand landmarks (``person.parts``) from its body keypoints, with this
        pipeline's decoder and flip test; nothing without a whole-body stage. Also how a corrected frame's faces and
        hands follow its corrected joints."""
        if self.wholebody is not None:
            self.wholebody.add_parts(frame_bgr, persons, self.options.decoder, self.options.flip_test,
                                     self.options.max_batch)

    def _detect(self, frame_bgr: np.ndarray, timer: StageTimer) -> Detections:
        with timer("detect"):
            return self.detect_boxes(frame_bgr)

    def _track(self, persons: list[PersonPose], timestamp_s: float) -> None:
        if not (self.options.track or self.options.smooth):
            return
        boxes = np.array([p.bbox for p in persons]).reshape(-1, 4)
        kpts = np.array([p.keypoints for p in persons]) if persons else None
        scores = np.array([p.scores for p in persons]) if persons else None
        ids = self.tracker.update(boxes, kpts, scores)
        for person, track_id in zip(persons, ids):
            person.track_id = int(track_id) if self.options.track else -1
            if self.options.smooth:
                person.keypoints = self.smoother(int(track_id), person.keypoints, timestamp_s)


@dataclass
class PosePass:
    """``start_pass``'s frames (frame, index, time s, detections, timer each), all their boxes, and the work in
    flight with its shared timer."""

    frames: list
    boxes: Detections
    estimate: Estimate
    timer: StageTimer


def _extent(points: np.ndarray) -> np.ndarray:
    """x1, y1, x2, y2 float32 [4] around points [K, 2] (frame pixels): a whole-body model's face or hand box."""
    return np.concatenate([points.min(axis=0), points.max(axis=0)]).astype(np.float32)


def _joined(batches: list):
    """Crop batches of several frames as one: numpy arrays, or torch tensors (the tensor path)."""
    if isinstance(batches[0], np.ndarray):
        return np.concatenate(batches)
    import torch

    return torch.cat(batches)
