"""Start-up benchmark: seconds from launching a command to its first frame with poses, with installed models.

    python benchmarks/startup.py [--video CLIP] [--repeat 3]

Each run is a fresh process, timed from its launch to its exit, as a user would time it:

* ``export …`` rows: ``hrnet-studio export CLIP --max-frames 1`` (start-up, the first frame, writing the CSV);
* ``app``: the app's window (offscreen) opening the clip, until the worker hands over the first frame with poses;
* ``baseline``: what a script glued from simple-HRNet-style code does before its first frame: import PyTorch and
  Ultralytics, load the YOLO detector and the HRNet checkpoint, detect, crop, one forward, decode (the same
  transforms and decoder as ours, in its own process, with default threads).

The pose model is a random HRNet-W32 192x256 (start-up does not depend on the weights), installed in a model folder
of this run with its ONNX export and INT8 version made before timing, and yolo11n-pose installed as the
detector with its ONNX export made once; every command runs once untimed first, so that the runs timed find
what a user's first run leaves (ONNX Runtime's optimized copies). Prints the median of the runs and
``RATIO baseline / row`` (above 1: that row starts faster than the baseline).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import random_w32, shared_dir  # noqa: E402

EXPORT_ROWS = {
    "export (ONNX Runtime fp32)": [],
    "export --precision int8": ["--precision", "int8"],
    "export --detector none": ["--detector", "none"],
    "export --backend torch": ["--backend", "torch"],
}

APP_CHILD = """
import os, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QSettings
from hrnet_studio.gui.main_window import MainWindow
app = QApplication([])
settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
window = MainWindow(settings=settings, probe_cameras_now=False)
window.show()
window.worker.resultReady.connect(lambda live: os._exit(0 if live.result.persons else 3))
window.worker.failed.connect(lambda line: (print(line, file=sys.stderr), os._exit(4)))
window.sources.open_path(Path(sys.argv[1]))
app.exec()
"""

BASELINE_CHILD = """
import sys
import cv2, numpy as np, torch
from ultralytics import YOLO
from hrnet_studio.models.hrnet import build_hrnet
from hrnet_studio.inference.codec.transforms import box_to_center_scale, normalize_crops, warp_crops, xyxy_to_xywh
from hrnet_studio.inference.codec.decode import decode
video, weights, detector = sys.argv[1:4]
yolo = YOLO(detector)
model = build_hrnet("hrnet_w32", 17)
model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
model.eval()
ok, frame = cv2.VideoCapture(video).read()
boxes = yolo.predict(frame, classes=[0], conf=0.4, verbose=False)[0].boxes.xyxy.numpy()
assert len(boxes) >= 1
with torch.inference_mode():
    for box in boxes:  # one person at a time, as the official demo does
        c, s = box_to_center_scale(xyxy_to_xywh(np.asarray(box)[None]), 192 / 256)
        crop = normalize_crops(warp_crops(frame, c, s, (192, 256)))
        decode(model(torch.from_numpy(crop)).numpy(), c, s, "official")
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}… failed:\n{run.stderr[-2000:]}")
    return seconds


def prepare(folder: Path, video: Path, detector: Path) -> Path:
    """The model folder a user has after the first run: W32 with its ONNX export and INT8 version, the detector
    with its ONNX export. Returns the W32 checkpoint."""
    os.environ["HRNET_STUDIO_MODELS"] = str(folder / "models")
    from hrnet_studio.inference.detect.detector import make_detector
    from hrnet_studio.inference.quantize import prepare_int8, register_int8
    from hrnet_studio.models.onnx_export import export_registered
    from hrnet_studio.models.registry import ModelRegistry

    weights = random_w32(folder)
    registry = ModelRegistry()
    record = registry.import_file(weights, name="w32")
    export_registered(registry, record)
    installed = registry.import_file(detector, name=detector.stem)
    crops_from = make_detector(str(installed.path), runtime="onnx", warn=lambda line: None)  # its export, once
    register_int8(registry, prepare_int8(registry, record, [video], crops_from))
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=shared_dir() / "data/videos/single_person_taichi_340x256.mp4")
    parser.add_argument("--detector", type=Path, default=shared_dir() / "models/yolo11n-pose.pt")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = prepare(tmp, args.video, args.detector)
        cli = [sys.executable, "-m", "hrnet_studio", "export", str(args.video), "--model", "w32",
               "--max-frames", "1", "-o", str(tmp / "out.csv")]
        commands = {name: cli + extra for name, extra in EXPORT_ROWS.items()}
        env_app = [sys.executable, "-c", APP_CHILD, str(args.video), str(tmp / "settings.ini")]
        commands["app (window to first frame)"] = env_app
        commands["baseline"] = [sys.executable, "-c", BASELINE_CHILD, str(args.video), str(weights),
                                str(shutil.copyfile(args.detector, tmp / args.detector.name))]
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        for command in commands.values():  # once untimed: the caches a user's first run leaves (the files ONNX
            timed(command)                 # Runtime optimized, the operating system's file cache)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved, so that a busy moment of the machine touches every row
            for name, command in commands.items():
                times[name].append(timed(command))

    print(f"start-up to the first frame with poses: {args.video.name}, HRNet-W32 192x256, "
          f"{args.detector.name}, median of {args.repeat} runs, {os.cpu_count()} cores")
    baseline = statistics.median(times["baseline"])
    for name, values in times.items():
        runs = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:<32}{statistics.median(values):>7.2f} s   ({runs})")
    for name, values in times.items():
        if name != "baseline":
            print(f"RATIO baseline / {name}: {baseline / statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
