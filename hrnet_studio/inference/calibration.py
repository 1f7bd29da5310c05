"""Calibration footage → network crops: the user's videos or image folders, sampled evenly, each person (or face, or
hand) cropped as the pipeline crops it, for INT8 calibration and its guard (``quantize.py``).

Finding the people is most of the work (a detector pass over up to 120 frames a source), and the same footage is
often calibrated on again: a ``--force`` after the guard refused, the face model then the hand model, a model
re-trained on the same footage, the app after the command line. So what a detector found on a source's sampled
frames is remembered in the cache (``cache_dir()/detections``, the newest ``DETECTIONS_KEEP``), keyed by the file
(path, size, modification time) and the detector (its file's sha256 and settings), frame by frame; a changed file or
another detector finds them again.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ..errors import StudioError
from ..models.spec import Normalization

READ_ON = 8  # frames: a sampled frame at most this far ahead is read on to, not sought
DETECTIONS_KEEP = 16  # sources whose detections are remembered, the most recently used


def part_boxes(landmarks: str, detector_name: str = "the detector") -> Callable[[object], np.ndarray]:
    """For a ``face`` or ``hand`` landmark model: detections → the face (or both hands') boxes [M, 4] the whole-body
    stage derives from each person's keypoints, which only a pose detector gives."""
    from ..skeletons import COCO_17
    from .wholebody import PartBoxes

    boxes = PartBoxes(COCO_17)
    parts = ("face",) if landmarks == "face" else ("left_hand", "right_hand")

    def of(found) -> np.ndarray:
        if found.keypoints is None:
            raise StudioError(f"calibrating a {landmarks} model needs a pose detector (such as yolo11n-pose) to find "
                              f"{landmarks}s from each person's keypoints; {detector_name} gives boxes only")
        out = [box for kpts in found.keypoints for part in parts
               if (box := boxes.box(part, kpts[:, :2], kpts[:, 2])) is not None]
        return np.array(out, np.float32).reshape(-1, 4)

    return of


def calibration_crops(
    sources: Iterable[Path], input_size: tuple[int, int], detector, max_crops: int = 240, frames_per_source: int = 120,
    progress: Callable[[int, int], None] | None = None, normalization: Normalization | None = None,
    udp: bool = False, boxes_of: Callable[[object], np.ndarray] | None = None,
) -> np.ndarray:
    """Normalised person crops float32 [N, 3, H, W] from videos or image folders, as the pipeline makes them
    (``normalization``: the model's, ImageNet's when not given; ``udp``: UDP's crop matrix, for udp models).

    Frames are taken evenly over each source (``frames_per_source`` at most); every person the detector finds is
    cropped, or every box ``boxes_of(detections)`` gives (``part_boxes``: faces or hands). Raises ``StudioError``
    when nothing is found."""
    from .codec.transforms import person_crops

    crops: list[np.ndarray] = []
    sources = list(sources)
    done, total = 0, frames_per_source * len(sources)
    for spec in sources:
        remembered = RememberedDetections(spec, detector)
        try:
            for index, frame in _sampled_frames(spec, frames_per_source):
                found = remembered.detect(index, frame)
                boxes = found.boxes if boxes_of is None or not len(found) else boxes_of(found)
                if len(boxes):
                    crops.append(person_crops(frame, boxes, input_size, normalization or Normalization(), udp)[0])
                done += 1
                if progress:
                    progress(done, total)
                if sum(len(c) for c in crops) >= max_crops:
                    break
        finally:
            remembered.save()
        if sum(len(c) for c in crops) >= max_crops:
            break
    if progress:  # the frames left unread are not needed: the collection is complete
        progress(total, total)
    if not crops:
        raise StudioError(f"no {'face or hand' if boxes_of else 'person'} was found in the calibration footage: "
                          "give --calib videos or image folders "
                          "with people in them")
    return np.concatenate(crops)[:max_crops]


def _sampled_frames(spec: Path, per_source: int) -> Iterator[tuple[int, np.ndarray]]:
    """(index, frame) for up to ``per_source`` frames spread evenly over a video or image folder (BGR uint8). Frames
    a few apart are read on, not sought: a seek decodes from the last key frame, so a short clip read by seeks took
    4.6 s for 120 frames where reading it through takes under 1."""
    from ..sources.live import open_source

    source = open_source(spec)
    try:
        count, position = max(source.frame_count, 1), 0  # the frame the next read gives
        for index in np.linspace(0, count - 1, min(per_source, count)).astype(int):
            if not 0 <= index - position <= READ_ON:
                source.seek(int(index))
                position = int(index)
            frame = None
            while position <= index:
                frame = source.read()
                position += 1
                if frame is None:
                    break
            if frame is not None:
                yield int(index), frame.image
    finally:
        source.close()


class RememberedDetections:
    """What ``detector`` finds on the sampled frames of one source, taken from the cache where it was found before
    and added to it (``save``) where it was not. A detector that cannot say what it is (no ``fingerprint``) is
    simply run."""

    def __init__(self, spec: Path, detector):
        self.detector = detector
        self.file = _cache_file(spec, detector)
        self.found: dict[int, object] = _load(self.file) if self.file else {}
        self.added = False

    def detect(self, index: int, frame: np.ndarray):
        if index not in self.found:
            self.found[index] = self.detector.detect(frame)
            self.added = True
        return self.found[index]

    def save(self) -> None:
        if self.file is None:
            return
        from ..atomic_writer import WriteError, atomic_path
        from ..paths import mark_used, prune_cache

        if not self.added:
            mark_used(self.file)
            return
        indices = sorted(self.found)
        found = [self.found[i] for i in indices]
        arrays = {"index": np.array(indices, np.int64), "count": np.array([len(f) for f in found], np.int64),
                  "boxes": np.concatenate([f.boxes for f in found]).reshape(-1, 4),
                  "scores": np.concatenate([f.scores for f in found]).reshape(-1)}
        posed = [f for f in found if f.keypoints is not None and len(f)]
        arrays["posed"] = np.array([f.keypoints is not None and len(f) > 0 for f in found])
        if posed:
            arrays["keypoints"] = np.concatenate([f.keypoints for f in posed])
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.file) as part, open(part, "wb") as out:
                np.savez(out, **arrays)
            prune_cache(self.file.parent, DETECTIONS_KEEP)
        except (OSError, WriteError):  # a cache that cannot be written only costs time next run
            pass


def _cache_file(spec: Path, detector) -> Path | None:
    from ..paths import cache_file

    fingerprint = getattr(detector, "fingerprint", None)
    fingerprint = fingerprint() if fingerprint is not None else None
    if fingerprint is None:
        return None
    try:
        stat = Path(spec).stat()
    except OSError:
        return None
    if Path(spec).is_dir():  # an image folder: its images, not the folder's own times
        stat_of = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(Path(spec).iterdir())]
        version = repr(stat_of)
    else:
        version = f"{stat.st_size} {stat.st_mtime_ns}"
    return cache_file("detections", f"{Path(spec).resolve()} {version} {fingerprint}", ".npz")


def _load(file: Path) -> dict[int, object]:
    from .detect.detector import Detections

    try:
        with np.load(file) as data:
            index, count, boxes, scores = data["index"], data["count"], data["boxes"], data["scores"]
            posed = data["posed"]
            keypoints = data["keypoints"] if "keypoints" in data else np.zeros((0, 17, 3), np.float32)
    except (OSError, KeyError, ValueError):  # missing, or damaged: found again
        return {}
    found, start, start_pose = {}, 0, 0
    for i, n, pose in zip(index.tolist(), count.tolist(), posed.tolist()):
        kpts = keypoints[start_pose:start_pose + n] if pose else None
        found[i] = Detections(boxes[start:start + n], scores[start:start + n], kpts)
        start, start_pose = start + n, start_pose + (n if pose else 0)
    return found
