"""Pipeline benchmark: per-stage times and three ratios, all measured side by side in one run.

    python benchmarks/pipeline.py [--video CLIP] [--model MODEL.pth] [--frames 60] [--device auto] [--det-every N]

1. end-to-end frames/s ÷ network-only frames/s at the same batch (how much the rest of the
   pipeline costs on top of HRNet itself);
2. batched pipeline ÷ an official-style loop (one person at a time: warpAffine, forward at
   batch 1, get_final_preds) on the same frames and boxes, persons/s; the loop runs as its users
   run it, in its own process with PyTorch's default threads (``official_loop.py``), and the CPU
   use of both sides is printed;
3. DARK decode time per person (and the official decoder's, for scale);
4. the export (the pose engine: reading, detection, pose and writing overlapped) on PyTorch, ONNX Runtime fp32
   and ONNX Runtime INT8 (calibrated on this clip's crops): persons/s end to end, ÷ the network alone at the
   same batch on the same runtime, and ÷ the official-style loop of 2 (which is given its boxes: it does not
   even detect).

Without --model a randomly initialised HRNet-W32 of the official layout is used: the speed of
a network does not depend on its weights.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrnet_studio.export.job import export_video  # noqa: E402
from hrnet_studio.inference.codec.decode import decode  # noqa: E402
from hrnet_studio.inference.detect.detector import detector_runtime, make_detector  # noqa: E402
from hrnet_studio.inference.options import PipelineOptions
from hrnet_studio.inference.pipeline import STAGES, PosePipeline  # noqa: E402
from hrnet_studio.inference.quantize import calibration_crops, quantize_onnx  # noqa: E402
from hrnet_studio.inference.runtime.backends import TorchBackend  # noqa: E402
from hrnet_studio.inference.runtime.onnx_backend import OnnxBackend  # noqa: E402
from hrnet_studio.models.checkpoints import load_pose_model  # noqa: E402
from hrnet_studio.models.hrnet import build_hrnet  # noqa: E402
from hrnet_studio.models.onnx_export import export_onnx  # noqa: E402
from hrnet_studio.models.spec import PoseModelSpec  # noqa: E402
from hrnet_studio.skeletons import COCO_17  # noqa: E402
from hrnet_studio.sources.video_file import VideoFileSource  # noqa: E402


def shared_dir() -> Path:
    return Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))


def timed(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=shared_dir() / "data/videos/two_people_basketball_gym_426x240.mp4")
    parser.add_argument("--detector", default=str(shared_dir() / "models/yolo11n-pose.pt"))
    parser.add_argument("--model", type=Path)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--det-every", type=int, default=1, help="the export's detection schedule (section 4)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    if args.model:
        model, spec = load_pose_model(args.model)
    else:
        torch.manual_seed(0)
        model, spec = build_hrnet("hrnet_w32", 17).eval(), PoseModelSpec("hrnet_w32", 17, (192, 256), COCO_17)
    backend = TorchBackend(model, args.device)
    detector = make_detector(args.detector, device="cpu" if backend.device.type == "cpu" else "cuda")
    pipeline = PosePipeline(backend, spec, detector, PipelineOptions(decoder="dark"))
    print(f"device: {backend.device_name}; torch threads: {torch.get_num_threads()}; model {spec.arch} "
          f"{spec.input_size[0]}x{spec.input_size[1]}; detector: {detector.name}; video: {args.video.name}")

    # 1. End to end, as `hrnet-studio export --backend torch` runs it.
    report, e2e_s = end_to_end(args.video, pipeline, args.frames)
    frames = report.frames
    persons_per_frame = report.persons / max(frames, 1)
    print(f"\nend to end: {frames} frames, {persons_per_frame:.2f} persons/frame, {frames / e2e_s:.2f} frames/s")
    print("per-stage ms/frame: " + ", ".join(f"{s} {report.stage_ms.get(s, 0) / frames:.2f}"
                                             for s in STAGES + ("write",)))

    # Network only, at the same batch as a typical frame.
    batch = max(1, round(persons_per_frame))
    w, h = spec.input_size
    x = np.random.default_rng(0).standard_normal((batch, 3, h, w)).astype(np.float32)
    net_s = timed(lambda: backend.infer(x), repeat=10)
    print(f"network only at batch {batch}: {1 / net_s:.2f} frames/s")
    print(f"RATIO end-to-end / network-only frames/s: {(frames / e2e_s) * net_s:.3f}")

    # 2. Batched pipeline vs an official-style loop, same frames and boxes. The loop runs as its users run it:
    #    in its own process, with PyTorch's default threads (benchmarks/official_loop.py).
    with VideoFileSource(args.video) as src:
        images = [f.image for _, f in zip(range(min(args.frames, 30)), src)]
    boxes = [detector.detect(im) for im in images]
    sample = [(im, det) for im, det in zip(images, boxes) if len(det)]
    persons = sum(len(det) for _, det in sample)

    def batched() -> None:
        for im, det in sample:
            pipeline.estimate(im, det)

    batched()  # warm-up
    cpu0, t0 = os.times(), time.perf_counter()
    for _ in range(2):
        batched()
    batched_s = (time.perf_counter() - t0) / 2
    cpu1 = os.times()
    batched_cpu = 100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / (2 * batched_s)
    loop = official_loop_in_own_process([im for im, _ in sample], [det.boxes for _, det in sample], args.model)
    print(f"\nbatched pipeline: {persons / batched_s:.1f} persons/s at {batched_cpu:.0f}% CPU "
          f"(torch threads {torch.get_num_threads()}); official-style loop in its own process: "
          f"{loop['persons_per_s']:.1f} persons/s at {loop['cpu_percent']:.0f}% CPU (torch threads "
          f"{loop['torch_threads']})")
    print(f"RATIO batched / official-style loop persons/s: {persons / batched_s / loop['persons_per_s']:.3f}x")

    # 3. Decoding cost per person.
    hm = backend.infer(np.repeat(x[:1], 32, axis=0))
    centers, scales = np.tile([[200, 150]], (32, 1)).astype(np.float32), np.ones((32, 2), np.float32)
    dark_s = timed(lambda: decode(hm, centers, scales, "dark"), repeat=20)
    official_s = timed(lambda: decode(hm, centers, scales, "official"), repeat=20)
    print(f"\nDARK decode: {dark_s / 32 * 1e6:.1f} us/person; official decode: {official_s / 32 * 1e6:.1f} us/person "
          f"(32 persons, {hm.shape[2]}x{hm.shape[3]} heatmaps)")
    print(f"RATIO DARK / official decode time: {dark_s / official_s:.2f}")

    # 4. The export on each runtime and precision.
    loop_persons_per_s = loop["persons_per_s"]
    crops = calibration_crops([args.video], spec.input_size, detector, max_crops=120)
    print(f"\nexport (the pose engine, the detector as the app runs it), {args.frames} frames, "
          f"--det-every {args.det_every}:")
    print(f"{'runtime':<22}{'persons/s':>10}{'net-only':>10}{'e2e/net':>9}{'÷ loop':>8}{'CPU %':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        export_onnx(model, spec.input_size, fp32)
        int8 = Path(tmp) / "model.int8.onnx"
        quantize_onnx(fp32, crops, int8)
        runs = [("PyTorch fp32", backend), ("ONNX Runtime fp32", OnnxBackend(fp32, args.device)),
                ("ONNX Runtime INT8", OnnxBackend(int8, args.device))]
        rates = {}
        on_gpu = backend.device.type != "cpu"
        for label, runner in runs:
            det = make_detector(args.detector, device="cuda" if on_gpu else "cpu", runtime=detector_runtime(on_gpu),
                                warn=lambda line: None)
            pipe = PosePipeline(runner, spec, det, PipelineOptions(decoder="dark", det_every=args.det_every))
            cpu0 = os.times()
            run_report, run_s = end_to_end(args.video, pipe, args.frames)
            cpu1 = os.times()
            cpu = 100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / run_s  # warm-up included: rough
            batch = max(1, round(run_report.persons / run_report.frames))
            xb = np.repeat(x[:1], batch, axis=0)
            net = batch / timed(lambda: runner.infer(xb), repeat=10)
            rates[label] = run_report.persons / run_s
            print(f"{label:<22}{rates[label]:>10.1f}{net:>10.1f}{rates[label] / net:>9.3f}"
                  f"{rates[label] / loop_persons_per_s:>8.2f}{cpu:>7.0f}")
    print(f"RATIO export persons/s ÷ official-style loop: PyTorch {rates['PyTorch fp32'] / loop_persons_per_s:.2f}x, "
          f"ONNX Runtime fp32 {rates['ONNX Runtime fp32'] / loop_persons_per_s:.2f}x, "
          f"INT8 {rates['ONNX Runtime INT8'] / loop_persons_per_s:.2f}x")


def official_loop_in_own_process(images: list, boxes: list, model: Path | None) -> dict:
    """Run benchmarks/official_loop.py on these frames and boxes in a fresh process with default threads."""
    with tempfile.TemporaryDirectory() as tmp:
        frames = Path(tmp) / "frames.npz"
        as_objects = np.empty(len(images), dtype=object)
        as_objects[:] = images
        box_objects = np.empty(len(boxes), dtype=object)
        box_objects[:] = [np.asarray(b) for b in boxes]
        np.savez(frames, images=as_objects, boxes=box_objects)
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # its defaults, not our budget
        command = [sys.executable, str(Path(__file__).with_name("official_loop.py")), str(frames)]
        out = subprocess.run(command + (["--model", str(model)] if model else []), env=env, capture_output=True,
                             text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def end_to_end(video: Path, pipeline: PosePipeline, max_frames: int):
    """(report, seconds) of an export of ``max_frames`` frames after a 3-frame warm-up."""
    with tempfile.TemporaryDirectory() as tmp:
        export_video(video, pipeline, Path(tmp) / "warm.csv", max_frames=3)
        t0 = time.perf_counter()
        report = export_video(video, pipeline, Path(tmp) / "poses.csv", max_frames=max_frames)
        return report, time.perf_counter() - t0


if __name__ == "__main__":
    main()
