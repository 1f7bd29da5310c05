"""Live view benchmark: the app's own capture thread and inference worker, headless, on a clip paced like a camera.

    python benchmarks/live.py [--video CLIP] [--fps 30] [--seconds 15] [--model W32|FILE] [--backend onnx|torch]
                              [--variants "sequential" "overlapped" "overlapped det-every=5 det-size=320" ...]

A simulated camera delivers the clip's frames in real time (a slow reader misses frames, as with a real
camera); the capture thread and the PoseWorker run exactly as in the app. Each variant runs in its own
process, one after the other, and the script prints, side by side: frames/s shown, the latency from a frame's
capture to its result (median and 95th percentile), where the milliseconds go (camera read, detection, pose,
decode, per frame; detection is 0 on frames whose boxes follow the keypoints), frames dropped, and the CPU use.

A variant is words: ``sequential`` (every stage in one thread, as before the engine) or ``overlapped`` (the engine's
stages in their own threads); ``det-every=N`` (the detector on every n-th frame); ``det-size=N`` (the detector's input
size); ``spinning`` (ONNX Runtime's workers spin between runs, its own default); ``torch-threads=N``,
``ort-threads=N`` (threads other than the budget's; ``ort-threads`` is the pose session's only inline);
``pose-threads=N`` (a Lite-HRNet pose session's), ``detector-threads=N`` (threads when the detector runs beside the
pose step); ``inline`` (the detector before the pose step on the frames it runs on, as exports run it; the app runs it
beside, never holding a frame up); ``depth=N`` (inline, frames detection may run ahead of pose; 0: it begins the next
frame when pose takes the last); ``int8`` (the model's INT8 version, quantized here on the clip's crops and kept
whatever the guard says: speed does not depend on it); ``follow-always`` (boxes follow the keypoints however unsure
they are: a random HRNet's flat heatmaps would otherwise bring the detector back on every frame; for speed only, with
a model whose keypoints mean nothing).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def shared_dir() -> Path:
    return Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))


def run_once(args: argparse.Namespace) -> dict:
    """One configuration, in this process: the app's worker path for ``args.seconds`` seconds."""
    import dataclasses

    from hrnet_studio import thread_budget as budgets

    variant = parse_variant(args.variant)
    plan = budgets.ThreadBudget.plan()
    budgets.use_thread_budget(dataclasses.replace(plan, ort_spinning=variant["spinning"],
                                                  torch_threads=variant["torch_threads"] or plan.torch_threads,
                                                  ort_intra=variant["ort_threads"] or plan.ort_intra,
                                                  beside_detector_threads=variant["detector_threads"]
                                                  or plan.beside_detector_threads,
                                                  live_pose_threads=variant["pose_threads"] or plan.live_pose_threads))

    from PySide6.QtCore import Qt

    from hrnet_studio.gui.live import worker as worker_module
    from hrnet_studio.gui.live.capture import CaptureThread
    from hrnet_studio.gui.live.worker import PoseWorker
    from hrnet_studio.inference.engine import PoseEngine
    from hrnet_studio.inference.options import PipelineChoice, PipelineOptions
    from hrnet_studio.sources.channel import FrameChannel
    from hrnet_studio.sources.live import PacedVideoCamera

    if not variant["overlapped"]:
        worker_module.PoseEngine = lambda pipeline, depth=0, **_: PoseEngine(pipeline, depth, overlap=False)
    elif variant["inline"] or variant["depth"] is not None:  # the detect stage before pose, as exports run it
        worker_module.PoseEngine = lambda pipeline, depth=0, **_: PoseEngine(
            pipeline, depth if variant["depth"] is None else variant["depth"])

    camera = PacedVideoCamera(args.video, fps=args.fps)
    reads: list[float] = []
    plain_read = camera._video.read

    def timed_read():  # the camera's decode alone, not its wait for the next frame
        start = time.perf_counter()
        frame = plain_read()
        reads.append((time.perf_counter() - start) * 1000)
        return frame

    camera._video.read = timed_read
    channel = FrameChannel()
    worker = PoseWorker(channel)
    results, loaded = [], threading.Event()
    direct = Qt.ConnectionType.DirectConnection  # no event loop runs here: slots run in the worker's thread
    worker.resultReady.connect(lambda live: results.append((time.monotonic(), live)), direct)  # capture's clock
    worker.modelLoaded.connect(lambda info: loaded.set(), direct)
    worker.failed.connect(lambda line: print(line, file=sys.stderr, flush=True), direct)
    worker.request_options(PipelineOptions(det_every=variant["det_every"], redetect_below=variant["redetect_below"]))
    worker.request_model(PipelineChoice(args.model_file, args.detector, "cpu", args.backend,
                                        detector_size=variant["det_size"], precision=variant["precision"]))
    inference = threading.Thread(target=worker.run, daemon=True)
    inference.start()
    if not loaded.wait(300):
        raise SystemExit("the model did not load")
    capture = CaptureThread(camera, channel)
    reader = threading.Thread(target=capture.run, daemon=True)
    cpu0, start = os.times(), time.monotonic()
    reader.start()
    time.sleep(args.seconds)
    wall = time.monotonic() - start
    cpu1 = os.times()
    capture.stop()
    worker.stop()
    reader.join(5)
    inference.join(5)
    shown = [live for t, live in results if t - start > 1.0]  # the first second warms up
    latency = sorted((t - live.frame.capture_time) * 1000 for t, live in results if t - start > 1.0)
    stages = {s: statistics.mean(live.result.timings_ms.get(s, 0.0) for live in shown)
              for s in ("detect", "crop", "pose", "decode", "track")}
    return {"variant": args.variant, "fps": len(shown) / (wall - 1.0), "camera_read_ms": statistics.median(reads),
            "camera_read_p90_ms": sorted(reads)[int(0.9 * (len(reads) - 1))], **{f"{k}_ms": v for k, v in stages.items()},
            "latency_ms": statistics.median(latency), "latency_p95_ms": latency[int(0.95 * (len(latency) - 1))],
            "persons": statistics.mean(len(live.result.persons) for live in shown), "dropped": channel.dropped,
            "cpu_percent": 100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=shared_dir() / "data/videos/two_people_basketball_gym_426x240.mp4")
    parser.add_argument("--detector", default=str(shared_dir() / "models/yolo11n-pose.pt"))
    parser.add_argument("--model", default="W32", help="W32 (a random HRNet-W32: speed does not depend on weights) or a file")
    parser.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--variants", nargs="+", default=["sequential", "overlapped"])
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # one run, in a child
    parser.add_argument("--model-file", help=argparse.SUPPRESS)  # the name installed in this run's model folder
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_once(args)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HRNET_STUDIO_MODELS"] = str(Path(tmp) / "models")  # children inherit this model folder
        model_file = Path(args.model) if args.model != "W32" else random_w32(Path(tmp))
        rows = []
        variants = [parse_variant(variant) for variant in args.variants]  # a typo fails before anything runs
        model_name = install(model_file, args.video, args.detector, any(v["precision"] == "int8" for v in variants))
        for variant in args.variants:
            command = [sys.executable, __file__, "--video", str(args.video), "--detector", args.detector,
                       "--backend", args.backend, "--fps", str(args.fps), "--seconds", str(args.seconds),
                       "--variant", variant, "--model-file", model_name]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"live view: {args.video.name} paced at {args.fps:g} fps, {args.backend}, {model_file.name}, "
          f"{args.seconds:g} s per run")
    keys = ["fps", "latency_ms", "latency_p95_ms", "camera_read_ms", "camera_read_p90_ms", "detect_ms", "crop_ms", "pose_ms", "decode_ms", "track_ms",
            "persons", "dropped", "cpu_percent"]
    for i, row in enumerate(rows):
        print(f"[{i}] {row['variant']}")
    print(f"{'':<20}" + "".join(f"{f'[{i}]':>10}" for i in range(len(rows))))
    for key in keys:
        print(f"{key:<20}" + "".join(f"{r[key]:>10.1f}" for r in rows))
    for i, row in enumerate(rows[1:], 1):
        print(f"RATIO frames/s [{i}] / [0]: {row['fps'] / rows[0]['fps']:.3f}")


def parse_variant(text: str) -> dict:
    variant = {"overlapped": True, "det_every": 1, "det_size": 640, "spinning": False, "torch_threads": 0,
               "ort_threads": 0, "precision": "fp32", "redetect_below": 0.3, "depth": None, "inline": False,
               "detector_threads": 0, "pose_threads": 0}
    for word in text.split():
        key, _, value = word.partition("=")
        if word in ("sequential", "overlapped"):
            variant["overlapped"] = word == "overlapped"
        elif word == "spinning":
            variant["spinning"] = True
        elif word == "inline":
            variant["inline"] = True
        elif word == "int8":
            variant["precision"] = "int8"
        elif word == "follow-always":
            variant["redetect_below"] = 0.0
        elif key in ("det-every", "det-size", "torch-threads", "ort-threads", "depth", "detector-threads",
                     "pose-threads") and value.isdigit():
            variant[key.replace("-", "_")] = int(value)
        else:
            raise SystemExit(f"unknown variant word {word!r} in {text!r}")
    return variant


def random_w32(folder: Path) -> Path:
    import torch

    from hrnet_studio.models.hrnet import build_hrnet

    torch.manual_seed(0)
    path = folder / "pose_hrnet_w32_256x192.pth"
    torch.save(build_hrnet("hrnet_w32", 17).eval().state_dict(), path)
    return path


def install(model_file: Path, video: Path, detector: str, int8: bool) -> str:
    """Import the model into this run's model folder (ONNX Runtime then runs its export, as in the app) and, for
    INT8 variants, quantize it on the clip's crops; returns its name."""
    from hrnet_studio.inference.detect.detector import make_detector
    from hrnet_studio.inference.quantize import prepare_int8, register_int8
    from hrnet_studio.models.registry import ModelRegistry

    registry = ModelRegistry()
    record = registry.import_file(model_file, name="bench")
    if int8:
        register_int8(registry, prepare_int8(registry, record, [video], make_detector(detector)))
    return record.name


if __name__ == "__main__":
    main()
