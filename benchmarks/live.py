"""Live view benchmark: the app's own capture thread and inference worker, headless, on a clip paced like a camera.

    python benchmarks/live.py [--video CLIP] [--fps 30] [--seconds 15] [--model W32|FILE] [--backend onnx|torch]

A simulated camera delivers the clip's frames in real time (a slow reader misses frames, as with a real
camera); the capture thread and the PoseWorker run exactly as in the app. Each configuration runs in its
own process, one after the other, and the script prints, side by side: frames/s shown, where the
milliseconds go (camera read, detection, pose, decode), frames dropped, and the CPU use.

Compared here: ONNX Runtime's worker threads spinning between runs (its default) against not spinning,
which leaves the cores to the capture thread and the detector.
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

    budgets.use_thread_budget(dataclasses.replace(budgets.ThreadBudget.plan(), ort_spinning=args.spinning == "on"))

    from PySide6.QtCore import Qt

    from hrnet_studio.gui.capture import CaptureThread
    from hrnet_studio.gui.channel import FrameChannel
    from hrnet_studio.gui.worker import ModelChoice, PoseWorker
    from hrnet_studio.inference.live_sources import PacedVideoCamera

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
    worker.resultReady.connect(lambda live: results.append((time.perf_counter(), live)), direct)
    worker.modelLoaded.connect(lambda info: loaded.set(), direct)
    worker.failed.connect(lambda line: print(line, file=sys.stderr, flush=True), direct)
    worker.request_model(ModelChoice(str(args.model_file), args.detector, "cpu", args.backend))
    inference = threading.Thread(target=worker.run, daemon=True)
    inference.start()
    if not loaded.wait(300):
        raise SystemExit("the model did not load")
    capture = CaptureThread(camera, channel)
    reader = threading.Thread(target=capture.run, daemon=True)
    cpu0, start = os.times(), time.perf_counter()
    reader.start()
    time.sleep(args.seconds)
    wall = time.perf_counter() - start
    cpu1 = os.times()
    capture.stop()
    worker.stop()
    reader.join(5)
    inference.join(5)
    shown = [live for t, live in results if t - start > 1.0]  # the first second warms up
    stages = {s: statistics.mean(live.result.timings_ms.get(s, 0.0) for live in shown) for s in ("detect", "pose",
                                                                                                    "decode")}
    return {"spinning": args.spinning, "fps": len(shown) / (wall - 1.0), "camera_read_ms": statistics.median(reads),
            "camera_read_p90_ms": sorted(reads)[int(0.9 * (len(reads) - 1))], **{f"{k}_ms": v for k, v in stages.items()},
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
    parser.add_argument("--spinning", choices=("on", "off"), help=argparse.SUPPRESS)  # one run, in a child
    parser.add_argument("--model-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.spinning:
        print(json.dumps(run_once(args)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(args.model) if args.model != "W32" else random_w32(Path(tmp), args.backend)
        rows = []
        for spinning in ("on", "off"):
            command = [sys.executable, __file__, "--video", str(args.video), "--detector", args.detector,
                       "--backend", args.backend, "--fps", str(args.fps), "--seconds", str(args.seconds),
                       "--spinning", spinning, "--model-file", str(model_file)]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"live view: {args.video.name} paced at {args.fps:g} fps, {args.backend}, {args.seconds:g} s per run")
    keys = ["fps", "camera_read_ms", "camera_read_p90_ms", "detect_ms", "pose_ms", "decode_ms", "persons", "dropped",
            "cpu_percent"]
    print(f"{'ORT spinning':<20}" + "".join(f"{r['spinning']:>12}" for r in rows))
    for key in keys:
        print(f"{key:<20}" + "".join(f"{r[key]:>12.1f}" for r in rows))
    print(f"RATIO frames/s, spinning off / on: {rows[1]['fps'] / rows[0]['fps']:.3f}")


def random_w32(folder: Path, backend: str) -> Path:
    import torch

    from hrnet_studio.models.hrnet import build_hrnet
    from hrnet_studio.models.onnx_export import export_onnx

    torch.manual_seed(0)
    model = build_hrnet("hrnet_w32", 17).eval()
    if backend == "onnx":
        path = folder / "pose_hrnet_w32_256x192.onnx"
        export_onnx(model, (192, 256), path)
    else:
        path = folder / "pose_hrnet_w32_256x192.pth"
        torch.save(model.state_dict(), path)
    return path


if __name__ == "__main__":
    main()
