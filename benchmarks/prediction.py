"""Does predicting ahead help? Error of each joint predicted ``L`` ms ahead against where it is actually found ``L`` ms
later, beside no prediction (the last pose as it is), on the shared clips, offline.

    python benchmarks/prediction.py --model MODEL.pth [--latencies 50 100 200] [--frames 300]
                                    [--settings 3:0.01 1:0.01 10:0.01 3:0.03]

Every clip runs once through the export pipeline (detector on every frame, tracking on, no smoothing) with a model
whose keypoints mean something (``benchmarks/teacher_finetune.py --save MODEL.pth``), and, beside it, with the
detector's own keypoints (yolo11n-pose: a stronger pose model, the motion as a good model sees it). For every frame
t and latency L, each track's joints are predicted from frames up to t (``inference/prediction.py``, fed frame by
frame as live would) and compared with the same track's keypoints at t + L (interpolated between the two frames
around it); joints sure (score ≥ 0.3) at t and at both frames only. Printed per clip and over all, for each L: the
mean and median error in percent of the person's box diagonal, no prediction beside each filter setting
(``accel:noise``, see the module), and the ratio. The settings are judged on the same clips they are printed for:
pick the default from a setting that wins everywhere, not from the best cell.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrnet_studio.inference.engine import PoseEngine  # noqa: E402
from hrnet_studio.inference.factory import build_pipeline  # noqa: E402
from hrnet_studio.inference.options import PipelineChoice, PipelineOptions  # noqa: E402
from hrnet_studio.inference.prediction import PosePredictor  # noqa: E402
from hrnet_studio.models.registry import ModelRegistry  # noqa: E402
from hrnet_studio.sources.video_file import VideoFileSource  # noqa: E402

CLIPS = ("single_person_taichi_340x256.mp4", "single_person_weightlifting_340x256.mp4",
         "two_people_basketball_gym_426x240.mp4", "single_person_basketball_portrait_1080x1920.mp4")
SURE = 0.3


def shared_dir() -> Path:
    return Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))


def tracks_of(video: Path, pipeline, frames: int, source: str) -> list[tuple[float, dict]]:
    """Per frame: (time s, {track id: (keypoints [K, 2], scores [K], box [4])}) from the model or the detector."""
    pipeline.reset()
    out = []
    with VideoFileSource(video) as reader:
        for frame, result in PoseEngine(pipeline, overlap=False).run(f for f, _ in zip(reader, range(frames))):
            persons = {}
            for person in result.persons:
                if source == "detector":  # the detector's own keypoints of the same box
                    found = pipeline.detector.last.get(tuple(np.round(person.bbox, 2)))
                    if found is None:
                        continue
                    persons[person.track_id] = (found[:, :2], found[:, 2], person.bbox)
                else:
                    persons[person.track_id] = (person.keypoints, person.scores, person.bbox)
            out.append((frame.timestamp_s, persons))
    return out


class RememberingDetector:
    """The detector, remembering the keypoints it found for each box of the last frame."""

    def __init__(self, detector):
        self.detector, self.name, self.runtime, self.device = detector, detector.name, "onnx", "cpu"
        self.last: dict = {}

    def detect(self, frame):
        found = self.detector.detect(frame)
        self.last = {} if found.keypoints is None else {
            tuple(np.round(box, 2)): kp for box, kp in zip(found.boxes, found.keypoints)}
        return found


def errors(frames: list[tuple[float, dict]], ahead_s: float, predictor: PosePredictor | None) -> np.ndarray:
    """Per sure joint: the distance from the prediction (or the pose at t) to the pose at t + L, / box diagonal."""
    times = np.array([t for t, _ in frames])
    out = []
    if predictor is not None:
        predictor.reset()
    for i, (t, persons) in enumerate(frames):
        for track, (kp, sc, box) in persons.items():
            if predictor is not None:
                predictor.update(track, t, kp, sc, box)
        j = int(np.searchsorted(times, t + ahead_s - 1e-9))
        if j >= len(frames) or j == 0:
            continue
        t0, t1 = times[j - 1], times[j]
        w = 0.0 if t1 == t0 else (t + ahead_s - t0) / (t1 - t0)
        for track, (kp, sc, box) in persons.items():
            a, b = frames[j - 1][1].get(track), frames[j][1].get(track)
            if a is None or b is None:
                continue
            later = (1 - w) * a[0] + w * b[0]
            sure = (sc >= SURE) & (a[1] >= SURE) & (b[1] >= SURE)
            guess = kp if predictor is None else predictor.predict(track, ahead_s)
            diagonal = max(float(np.hypot(box[2] - box[0], box[3] - box[1])), 1.0)
            out.extend(np.linalg.norm(guess[sure] - later[sure], axis=1) / diagonal)
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a pose model whose keypoints mean something")
    parser.add_argument("--detector", default=str(shared_dir() / "models/yolo11n-pose.pt"))
    parser.add_argument("--latencies", type=float, nargs="+", default=[50, 100, 200], help="milliseconds")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    parser.add_argument("--settings", nargs="+", default=["3:0.01:s", "3:0.01", "10:0.01:s", "1:0.01:s"],
                        help="accel:noise pairs (person diagonals/s², diagonals), ':s' to shrink unsure velocities")
    args = parser.parse_args()
    settings = [(float(s.split(":")[0]), float(s.split(":")[1]), s.endswith(":s")) for s in args.settings]

    os.environ["HRNET_STUDIO_MODELS"] = tempfile.mkdtemp()
    ModelRegistry().import_file(Path(args.model), name="teacher")
    pipeline, loaded = build_pipeline(PipelineChoice("teacher", args.detector, "cpu", "onnx"),
                                      PipelineOptions(det_every=1, smooth=False))
    pipeline.detector = RememberingDetector(pipeline.detector)
    print(f"model {loaded.spec.arch} {loaded.spec.input_size[0]}x{loaded.spec.input_size[1]}; detector "
          f"{pipeline.detector.name}; {args.frames} frames per clip; error in % of the person's box diagonal, "
          "mean / median")
    columns = ["none"] + [f"{a:g}:{n:g}" + (":s" if shrink else "") for a, n, shrink in settings]
    for source in ("model", "detector"):
        clips = {clip: tracks_of(shared_dir() / "data/videos" / clip, pipeline, args.frames, source)
                 for clip in args.clips}
        print(f"\nkeypoints of the {source}" + (" (yolo11n-pose)" if source == "detector" else ""))
        print(f"{'clip':<48}{'L ms':>6}" + "".join(f"{c:>16}" for c in columns) + f"{'ratio':>8}")
        for latency in args.latencies:
            pooled: list[list[np.ndarray]] = [[] for _ in columns]
            for clip, frames in clips.items():
                row = [errors(frames, latency / 1000, None)]
                row += [errors(frames, latency / 1000, PosePredictor(a, n, shrink=shrink)) for a, n, shrink in settings]
                for k, e in enumerate(row):
                    pooled[k].append(e)
                print(f"{clip:<48}{latency:>6g}" + "".join(cell(e) for e in row) + ratio(row))
            merged = [np.concatenate(p) for p in pooled]
            print(f"{'all clips':<48}{latency:>6g}" + "".join(cell(e) for e in merged) + ratio(merged))


def cell(e: np.ndarray) -> str:
    return f"{100 * e.mean():>9.2f} / {100 * np.median(e):>4.1f}" if len(e) else f"{'-':>16}"


def ratio(row: list[np.ndarray]) -> str:
    """The first setting's mean error over no prediction's."""
    return f"{row[1].mean() / row[0].mean():>8.3f}" if len(row[0]) and len(row[1]) else f"{'-':>8}"


if __name__ == "__main__":
    main()
