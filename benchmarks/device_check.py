"""The GPU run in one call: every speed figure the GPU issue asks for, side by side, on whatever device is here.

    python benchmarks/device_check.py [--device cuda] [--quick] [--boxes BOXES.npz] [--frames 2000] [--out DIR]
    python benchmarks/device_check.py --make-boxes BOXES.npz   # on a machine with the detector, before the run

Made to run on a lent GPU machine that has PyTorch but not Ultralytics, PySide6 or the app's other extras, within a
few minutes: the person boxes of the street clip are found beforehand (``--make-boxes``, with yolo11n-pose here)
and travel as a small file, so the export figure measures what runs on the GPU (crops, network, decoding). On a
CPU ``--quick`` checks the script itself in a minute.

On the lent machine the shared clips do not travel by themselves: copy the two it reads into an ignored folder of
the checkout and carry it (2 MB), with the installed package's dependencies the machine lacks as cp312 wheels::

    mkdir -p .device/data/videos && cp ../shared/data/videos/{street_crowd_1280x720.avi,\
    two_people_basketball_gym_426x240.mp4} .device/data/videos/          # .device/ is in .gitignore
    run(command="HRNET_STUDIO_ASSETS=.device PYTHONUNBUFFERED=1 python benchmarks/device_check.py", carry=[".device"])

Printed (and written to ``DIR/device_check.json``):
1. network only, HRNet-W32 192×256 and W48 288×384: persons/s at batch 1, 8, 32, 64, 128 in fp32, fp16, bf16;
2. export end to end on the street clip looped to ``--frames`` frames with the replayed boxes, 8 frames a pass,
   through the tensor path: persons/s, and its ratio to the network alone at the same batch;
   with the last pass kept in flight while the next starts (``PoseEngine(lookahead=)``) and without;
3. HRNet-W32 through ``torch.compile`` (fp16 on CUDA, bf16 on the CPU): compile time and persons/s;
4. training images/s, the step alone and with the MPII sample loaded by the trainer's dataset and loader settings;
5. the tensor path's keypoints on this device against the CPU's OpenCV path (a stand-in network with real peaks).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from itertools import cycle, islice
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STREET = "street_crowd_1280x720.avi"


def shared_dir() -> Path:
    return Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))


def make_boxes(path: Path, frames: int = 120) -> None:
    """The street clip's person boxes per frame, by yolo11n-pose on ONNX Runtime (run where the detector is)."""
    from hrnet_studio.inference.detect.detector import make_detector
    from hrnet_studio.sources.video_file import VideoFileSource

    detector = make_detector(str(shared_dir() / "models/yolo11n-pose.pt"), runtime="onnx")
    boxes = {}
    with VideoFileSource(shared_dir() / "data/videos" / STREET) as source:
        for frame, _ in zip(source, range(frames)):
            boxes[str(frame.index)] = detector.detect(frame.image).boxes
    np.savez_compressed(path, **boxes)
    print(f"{path}: {sum(len(b) for b in boxes.values())} boxes in {len(boxes)} frames")


class ReplayDetector:
    """The boxes found beforehand, frame by frame (the clip loops, so frame i has the boxes of i mod n)."""

    name, runtime, device = "replayed boxes", "replay", "cpu"

    def __init__(self, path: Path):
        from hrnet_studio.inference.detect.detector import Detections

        stored = np.load(path)
        self.frames = [stored[str(i)] for i in range(len(stored.files))]
        self.calls = 0
        self._detections = Detections

    def detect(self, frame_bgr):
        boxes = self.frames[self.calls % len(self.frames)]
        self.calls += 1
        return self._detections(boxes.astype(np.float32), np.ones(len(boxes), np.float32))


def network_only(device: str, batches: list[int], dtypes: list[str], seconds: float) -> list[dict]:
    import torch

    from hrnet_studio.inference.runtime.backends import TorchBackend
    from hrnet_studio.inference.runtime.bench import measure_throughput
    from hrnet_studio.models.hrnet import build_hrnet

    rows = []
    for arch, size in (("hrnet_w32", (192, 256)), ("hrnet_w48", (288, 384))):
        for dtype in dtypes:
            torch.manual_seed(0)
            backend = TorchBackend(build_hrnet(arch, 17), device, channels_last=True, dtype=dtype)
            for batch in batches:
                result = measure_throughput(backend, size, batch, seconds=seconds, warmup=2)
                rows.append({"arch": arch, "dtype": dtype, "batch": batch, "persons_per_s": result.persons_per_s})
                print(f"  {arch} {size[0]}x{size[1]} {dtype:<5} batch {batch:>3}: "
                      f"{result.persons_per_s:9.1f} persons/s", flush=True)
            del backend
    return rows


def export_speed(device: str, dtype: str, boxes: Path, frames: int, lookahead: bool | None = None) -> dict:
    from hrnet_studio.inference.engine import PoseEngine
    from hrnet_studio.inference.options import PipelineOptions
    from hrnet_studio.inference.pipeline import PosePipeline
    from hrnet_studio.inference.runtime.backends import TorchBackend
    from hrnet_studio.models.hrnet import build_hrnet
    from hrnet_studio.models.spec import PoseModelSpec
    from hrnet_studio.skeletons import COCO_17
    from hrnet_studio.sources.video_file import VideoFileSource

    with VideoFileSource(shared_dir() / "data/videos" / STREET) as source:
        clip = [frame for frame, _ in zip(source, range(120))]
    detector = ReplayDetector(boxes)
    backend = TorchBackend(build_hrnet("hrnet_w32", 17), device, channels_last=True, dtype=dtype)
    spec = PoseModelSpec("hrnet_w32", 17, (192, 256), COCO_17)
    pipeline = PosePipeline(backend, spec, detector, PipelineOptions(max_batch=128, track=False))
    looped = islice(cycle(clip), frames)
    persons, start = 0, time.perf_counter()
    engine = PoseEngine(pipeline, frames_per_pass=8, lookahead=lookahead)
    for _, result in engine.run(looped):
        persons += len(result.persons)
    seconds = time.perf_counter() - start
    row = {"dtype": dtype, "frames": frames, "persons": persons, "persons_per_s": persons / seconds,
           "frames_per_s": frames / seconds, "lookahead": engine.lookahead}
    print(f"  export, street clip x{frames} frames, {dtype}, lookahead {'on' if engine.lookahead else 'off'}: "
          f"{row['persons_per_s']:.1f} persons/s ({row['frames_per_s']:.1f} frames/s, {persons} persons)", flush=True)
    return row


def compiled_speed(device: str, dtype: str, batches: list[int], seconds: float) -> list[dict]:
    """``--compile``: HRNet-W32 through torch.compile (the batch dynamic), its compile time and persons/s."""
    import torch

    from hrnet_studio.inference.runtime.backends import TorchBackend
    from hrnet_studio.inference.runtime.bench import measure_throughput
    from hrnet_studio.models.hrnet import build_hrnet

    torch.manual_seed(0)
    backend = TorchBackend(build_hrnet("hrnet_w32", 17), device, channels_last=True, dtype=dtype, compile=True,
                           say=print)
    started = time.perf_counter()
    backend.infer(np.zeros((max(batches), 3, 256, 192), np.float32))
    compile_s = time.perf_counter() - started
    rows = []
    for batch in batches:
        result = measure_throughput(backend, (192, 256), batch, seconds=seconds, warmup=2)
        rows.append({"dtype": dtype, "batch": batch, "persons_per_s": result.persons_per_s, "compile_s": compile_s})
        print(f"  hrnet_w32 {dtype} compiled batch {batch:>3}: {result.persons_per_s:9.1f} persons/s "
              f"(compiled in {compile_s:.0f} s)", flush=True)
    return rows


def training_speed(device: str, batch: int, steps: int) -> dict:
    """Training images/s of HRNet-W32 256×192 (16 joints): the GPU step alone on a batch already there (AMP on CUDA,
    channels-last), and with the MPII sample's images loaded, augmented and targeted by the trainer's dataset and
    DataLoader settings (``training/loading.py``)."""
    import torch
    from torch.utils.data import DataLoader

    from hrnet_studio.inference.codec.heatmap_codec import HeatmapCodec
    from hrnet_studio.models.hrnet import build_hrnet
    from hrnet_studio.skeletons import MPII_16
    from hrnet_studio.training.datasets.joints_dataset import JointsDataset
    from hrnet_studio.training.datasets.mpii import load_mpii
    from hrnet_studio.training.loading import AUTO, loader_settings
    from hrnet_studio.training.loss import JointsMSELoss

    cuda = device.startswith("cuda")
    net = build_hrnet("hrnet_w32", 16).to(device, memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(enabled=cuda)
    loss_fn = JointsMSELoss()

    def step(x, target, weight):
        x, target, weight = (t.to(device, non_blocking=True) for t in (x, target, weight))
        with torch.autocast("cuda" if cuda else "cpu", enabled=cuda):
            loss = loss_fn(net(x.contiguous(memory_format=torch.channels_last)).float(), target, weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def timed(batches) -> float:
        count, started = 0, None
        for i, (x, target, weight, *_) in enumerate(batches):
            if i == 2:  # after two warm-up steps
                if cuda:
                    torch.cuda.synchronize()
                started, count = time.perf_counter(), 0
            step(x, target, weight)
            count += len(x)
        if cuda:
            torch.cuda.synchronize()
        return count / (time.perf_counter() - started)

    synthetic = (torch.randn(batch, 3, 256, 192), torch.rand(batch, 16, 64, 48), torch.ones(batch, 16, 1))
    alone = timed([tuple(t.to(device) for t in synthetic)] * (steps + 2))
    root = shared_dir() / "data/mpii_sample"
    records = load_mpii(root / "annotations/test_mpii.json", root / "images")
    repeat = -(-(steps + 2) * batch // max(1, len(records)))
    dataset = JointsDataset(records * repeat, MPII_16, HeatmapCodec.for_input((192, 256)), train=True)
    settings = loader_settings(AUTO, "cuda" if cuda else "cpu")
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True, **settings)
    loaded = timed(batch for _, batch in zip(range(steps + 2), loader))
    row = {"batch": batch, "step_alone_images_per_s": alone, "with_loading_images_per_s": loaded, **settings}
    print(f"  training W32 256x192 batch {batch}: step alone {alone:.1f} images/s, with loading {loaded:.1f} "
          f"images/s ({settings['num_workers']} loading workers)", flush=True)
    return row


def parity(device: str) -> dict:
    import torch

    from hrnet_studio.inference.detect.detector import Detections
    from hrnet_studio.inference.options import PipelineOptions
    from hrnet_studio.inference.pipeline import PosePipeline
    from hrnet_studio.inference.runtime.backends import TorchBackend
    from hrnet_studio.models.spec import PoseModelSpec
    from hrnet_studio.skeletons import COCO_17
    from hrnet_studio.sources.video_file import VideoFileSource

    class BrightSpots(torch.nn.Module):  # as tests/inference/test_tensor_path.py: peaks on the crop's content
        def __init__(self):
            super().__init__()
            generator = torch.Generator().manual_seed(0)
            self.kernels = torch.nn.Parameter(torch.rand(17, 1, 9, 9, generator=generator), requires_grad=False)

        def forward(self, x):
            grey = torch.nn.functional.avg_pool2d(x.mean(dim=1, keepdim=True), 4)
            return torch.nn.functional.conv2d(grey, self.kernels, padding=4) / 81

    spec = PoseModelSpec("hrnet_w32", 17, (192, 256), COCO_17)
    with VideoFileSource(shared_dir() / "data/videos/two_people_basketball_gym_426x240.mp4") as source:
        frames = [frame.image for frame, _ in zip(source, range(16))]
    boxes = Detections(np.array([[90, 25, 200, 235], [230, 20, 340, 238]], np.float32), np.ones(2, np.float32))
    here = PosePipeline(TorchBackend(BrightSpots(), device), spec, None, PipelineOptions(flip_test=True))
    cpu = PosePipeline(TorchBackend(BrightSpots(), "cpu"), spec, None, PipelineOptions(flip_test=True))
    cpu.tensor_path = False
    gaps = np.concatenate([np.linalg.norm(a.keypoints - b.keypoints, axis=1)
                           for f in frames for a, b in zip(here.estimate(f, boxes), cpu.estimate(f, boxes))])
    row = {"max_px": float(gaps.max()), "p99_px": float(np.percentile(gaps, 99))}
    print(f"  tensor path on {device} against the CPU path: keypoints apart at most {row['max_px']:.4f} px "
          f"(99th percentile {row['p99_px']:.4f})", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="a minute on a CPU: checks the script, not the speed")
    parser.add_argument("--boxes", type=Path, default=Path(__file__).with_name("street_boxes.npz"))
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")))
    parser.add_argument("--make-boxes", type=Path, metavar="FILE")
    args = parser.parse_args()
    if args.make_boxes:
        make_boxes(args.make_boxes)
        return
    import torch

    from hrnet_studio.inference.runtime.system_report import (
        format_report,
        system_report,
    )

    print(format_report(system_report(speed=False)), flush=True)
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.backends.cudnn.benchmark = True
    batches = [1, 8] if args.quick else [1, 8, 32, 64, 128]
    dtypes = (["fp32", "fp16", "bf16"] if cuda else ["fp32", "bf16"])
    results = {"device": torch.cuda.get_device_name(0) if cuda else "CPU"}
    print("network only", flush=True)
    results["network"] = network_only(args.device, batches, dtypes[:1] if args.quick else dtypes,
                                      0.3 if args.quick else 2.0)
    print("export end to end", flush=True)
    frames = 16 if args.quick else args.frames
    results["export"] = [export_speed(args.device, dtype, args.boxes, frames) for dtype in dtypes[-1:] + dtypes[:1]]
    results["export"].append(export_speed(args.device, dtypes[-1], args.boxes, frames, lookahead=not cuda))
    print("torch.compile", flush=True)
    half = "fp16" if cuda else "bf16"
    if args.quick:  # compiling takes minutes on a CPU
        print("  skipped with --quick", flush=True)
    else:
        results["compiled"] = compiled_speed(args.device, half, batches[-2:], 2.0)
    print("training", flush=True)
    results["training"] = training_speed(args.device, 4 if args.quick else 64, 2 if args.quick else 30)
    print("parity", flush=True)
    results["parity"] = parity(args.device)
    for row in results["export"]:
        same = [r for r in results["network"] if r["arch"] == "hrnet_w32" and r["dtype"] == row["dtype"]
                and r["batch"] == max(batches)]
        if same:
            print(f"RATIO export / network-only ({row['dtype']}, batch {max(batches)}): "
                  f"{row['persons_per_s'] / same[0]['persons_per_s']:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "device_check.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
