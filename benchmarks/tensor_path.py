"""The PyTorch backend's tensor path (crops made and heatmaps decoded on the device) against the OpenCV/numpy path,
with the same network, on the same frames and boxes, side by side in one run.

    python benchmarks/tensor_path.py [--model W32|FILE] [--device cpu|cuda] [--frames 60] [--persons 2] [--flip]
                                     [--rounds 3]

Both paths run ``PosePipeline.estimate`` (crop, network, decode) on the gym clip's frames with fixed boxes, in
alternating rounds (this machine's speed drifts: compare within a run). Printed per path: persons/s, milliseconds
per frame for crop, network and decode (medians over the rounds), and the keypoints' largest and 99th-percentile
difference between the paths (px; with a random network the heatmaps are flat, so give a trained ``--model`` for a
meaningful difference).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def shared_dir() -> Path:
    return Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))


def main() -> None:
    import torch

    from hrnet_studio.inference.detect.detector import Detections
    from hrnet_studio.inference.options import PipelineOptions
    from hrnet_studio.inference.pipeline import PosePipeline, StageTimer
    from hrnet_studio.inference.runtime.backends import TorchBackend
    from hrnet_studio.models.checkpoints import load_pose_model
    from hrnet_studio.models.hrnet import build_hrnet
    from hrnet_studio.models.spec import PoseModelSpec
    from hrnet_studio.skeletons import COCO_17
    from hrnet_studio.sources.video_file import VideoFileSource

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="W32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--persons", type=int, default=2)
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    if args.model == "W32":
        torch.manual_seed(0)
        model, spec = build_hrnet("hrnet_w32", 17).eval(), PoseModelSpec("hrnet_w32", 17, (192, 256), COCO_17)
    else:
        model, spec = load_pose_model(args.model)
    backend = TorchBackend(model, args.device)
    with VideoFileSource(shared_dir() / "data/videos/two_people_basketball_gym_426x240.mp4") as source:
        frames = [f.image for f, _ in zip(source, range(args.frames))]
    h, w = frames[0].shape[:2]
    left = np.linspace(0.05, 0.6, args.persons)
    boxes = np.array([[w * x, h * 0.05, w * (x + 0.35), h * 0.95] for x in left], np.float32)
    detections = Detections(boxes, np.ones(len(boxes), np.float32))
    pipeline = PosePipeline(backend, spec, None, PipelineOptions(flip_test=args.flip))

    def run(tensor: bool) -> tuple[float, dict, list]:
        pipeline.tensor_path = tensor
        timer = StageTimer()
        start = time.perf_counter()
        poses = [pipeline.estimate(frame, detections, timer) for frame in frames]
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start, timer.ms, poses

    run(True), run(False)  # warm-up
    results: dict[bool, list] = {False: [], True: []}
    for _ in range(args.rounds):
        for tensor in (False, True):
            results[tensor].append(run(tensor))
    print(f"{spec.arch} {spec.input_size[0]}x{spec.input_size[1]} on {backend.device_name}, {args.frames} frames x "
          f"{args.persons} persons, flip test {'on' if args.flip else 'off'}, {args.rounds} rounds")
    rows = {}
    for tensor, name in ((False, "OpenCV + numpy"), (True, "tensor path")):
        seconds = statistics.median(r[0] for r in results[tensor])
        per_frame = {s: statistics.median(r[1].get(s, 0.0) for r in results[tensor]) / args.frames
                     for s in ("crop", "pose", "decode")}
        rows[tensor] = seconds
        print(f"{name:<16} {args.frames * args.persons / seconds:8.1f} persons/s   crop {per_frame['crop']:6.2f} ms  "
              f"network {per_frame['pose']:7.2f} ms  decode {per_frame['decode']:6.2f} ms a frame")
    gaps = np.concatenate([np.linalg.norm(a.keypoints - b.keypoints, axis=1)
                           for ta, tb in zip(results[False][0][2], results[True][0][2]) for a, b in zip(ta, tb)])
    print(f"RATIO persons/s tensor / OpenCV: {rows[False] / rows[True]:.3f}; keypoints apart: max {gaps.max():.4f} px, "
          f"99th percentile {np.percentile(gaps, 99):.4f} px")


if __name__ == "__main__":
    main()
