"""The detector on every n-th frame, boxes following the keypoints in between: speed and agreement, side by side.

    python benchmarks/det_every.py --model MODEL.pth [--every 1 3 5 10] [--det-size 640] [--backend onnx]

Needs a model whose keypoints mean something (a random HRNet has flat heatmaps, so every followed person looks
lost and the detector runs on every frame anyway): ``benchmarks/teacher_finetune.py --save MODEL.pth`` makes
one in ten minutes. For each shared clip and each N, the pose engine runs over every frame, as the export does,
and the script prints:

* frames/s end to end, and the ratio to N = 1 (measured one after the other in this process);
* detector runs per 100 frames (the scheduled ones and the re-detections when someone was lost);
* PCK@0.05 agreement with N = 1: the share of joints N = 1 is sure of (score ≥ 0.3) that lie within 0.05 × the
  person's box size of N = 1's position, persons matched by box IoU (a person N = 1 sees and N misses counts
  as all joints wrong);
* frames until a new person is picked up: for each track N = 1 starts after the first frame, how many frames
  later a person overlapping it (IoU ≥ 0.3) appears with N.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrnet_studio.inference.engine import PoseEngine  # noqa: E402
from hrnet_studio.inference.factory import build_pipeline  # noqa: E402
from hrnet_studio.inference.options import PipelineChoice, PipelineOptions
from hrnet_studio.inference.pipeline import PosePipeline  # noqa: E402
from hrnet_studio.inference.tracking import box_iou  # noqa: E402
from hrnet_studio.models.registry import ModelRegistry  # noqa: E402
from hrnet_studio.sources.video_file import VideoFileSource  # noqa: E402

CLIPS = ("single_person_taichi_340x256.mp4", "single_person_weightlifting_340x256.mp4",
         "two_people_basketball_gym_426x240.mp4", "two_people_portrait_1080x1920.mp4",
         "single_person_basketball_portrait_1080x1920.mp4")


def shared_dir() -> Path:
    return Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))


class CountingDetector:
    def __init__(self, detector):
        self.detector, self.calls, self.name = detector, 0, detector.name

    def detect(self, frame):
        self.calls += 1
        return self.detector.detect(frame)


def run(video: Path, loaded, detector, every: int, max_frames: int):
    counting = CountingDetector(detector)
    pipeline = PosePipeline(loaded.backend, loaded.spec, counting, PipelineOptions(det_every=every))
    with VideoFileSource(video) as source:
        frames = (f for f, _ in zip(source, range(max_frames)))
        start = time.perf_counter()
        results = [result for _, result in PoseEngine(pipeline).run(frames)]
        seconds = time.perf_counter() - start
    return results, seconds, counting.calls


def agreement(reference, other, score: float = 0.3, fraction: float = 0.05) -> float:
    hits = total = 0
    for ref, got in zip(reference, other):
        sure = [p.scores >= score for p in ref.persons]
        total += sum(int(s.sum()) for s in sure)
        if not ref.persons or not got.persons:
            continue
        iou = box_iou(np.stack([p.bbox for p in ref.persons]), np.stack([p.bbox for p in got.persons]))
        for r, g in zip(*linear_sum_assignment(-iou)):
            if iou[r, g] < 0.3:
                continue
            a, b = ref.persons[r], got.persons[g]
            size = max(a.bbox[2] - a.bbox[0], a.bbox[3] - a.bbox[1])
            close = np.linalg.norm(a.keypoints - b.keypoints, axis=1) <= fraction * size
            hits += int((close & sure[r]).sum())
    return hits / max(total, 1)


def pickup_delays(reference, other) -> list[int]:
    """Frames until each person N = 1 picks up after the first frame is also seen by the other run."""
    seen, delays = set(), []
    for index, ref in enumerate(reference):
        for person in ref.persons:
            if person.track_id in seen:
                continue
            seen.add(person.track_id)
            if index == 0:
                continue
            for later in range(index, len(other)):
                boxes = [p.bbox for p in other[later].persons]
                if boxes and box_iou(person.bbox[None], np.stack(boxes)).max() >= 0.3:
                    delays.append(later - index)
                    break
            else:
                delays.append(len(other) - index)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a pose model whose keypoints mean something")
    parser.add_argument("--detector", default=str(shared_dir() / "models/yolo11n-pose.pt"))
    parser.add_argument("--every", type=int, nargs="+", default=[1, 3, 5, 10])
    parser.add_argument("--det-size", type=int, default=640)
    parser.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    args = parser.parse_args()
    everies = sorted(set([1, *args.every]))

    os.environ["HRNET_STUDIO_MODELS"] = tempfile.mkdtemp()  # imported here, ONNX Runtime runs its export
    ModelRegistry().import_file(Path(args.model), name="teacher")
    built, loaded = build_pipeline(PipelineChoice("teacher", args.detector, "cpu", args.backend,
                                                  detector_size=args.det_size))
    detector = built.detector  # each run below wraps it to count its calls
    print(f"model {loaded.record.name} ({loaded.spec.arch} {loaded.spec.input_size[0]}x{loaded.spec.input_size[1]}, "
          f"{args.backend}); detector {detector.name} at {args.det_size} px; this CPU: {os.cpu_count()} cores")
    header = f"{'clip':<44}{'N':>3}{'frames/s':>10}{'÷ N=1':>7}{'det/100':>9}{'PCK@0.05':>10}{'pickup (frames)':>17}"
    print(header)
    totals: dict[int, list[float]] = {n: [] for n in everies}
    for clip in args.clips:
        video = shared_dir() / "data" / "videos" / clip
        run(video, loaded, detector, 1, 5)  # warm-up
        reference, ref_s, ref_calls = run(video, loaded, detector, 1, args.frames)
        for every in everies:
            results, seconds, calls = (reference, ref_s, ref_calls) if every == 1 else run(
                video, loaded, detector, every, args.frames)
            pck = agreement(reference, results)
            delays = pickup_delays(reference, results)
            totals[every].append(pck)
            fps = len(results) / seconds
            pickup = f"{np.mean(delays):.1f} (max {max(delays)})" if delays else "-"
            print(f"{clip:<44}{every:>3}{fps:>10.1f}{fps / (len(reference) / ref_s):>7.2f}"
                  f"{100 * calls / len(results):>9.0f}{pck:>10.3f}{pickup:>17}", flush=True)
    for every in everies[1:]:
        print(f"RATIO PCK@0.05 agreement with N=1, N={every}: worst clip {min(totals[every]):.3f}, "
              f"mean {np.mean(totals[every]):.3f}")


if __name__ == "__main__":
    main()
