"""The HRNet family side by side: persons/s of each architecture against HRNet-W32 on the same runtime, precision and
batch, measured in one run.

    python benchmarks/families.py [--archs hrnet_w32,litehrnet_18,litehrnet_30,hrnetv2_w18] [--batches 1 8]
                                  [--seconds 3] [--compiled] [--export VIDEO --frames 60 [--wholebody]]

Each network is random-initialised (speed does not depend on the weights), exported to ONNX and quantized to INT8
(static, calibrated on random crops: it does not change the speed), and measured on PyTorch fp32, ONNX Runtime fp32
and ONNX Runtime INT8 on the CPU, each at its own input: 192×256 for the body models, 256×256 for HRNetV2-W18 (a
68-point face model, as mmpose publishes it). Runs alternate between the architectures per runtime and batch, so a
busy moment of the machine does not fall on one of them only. Printed: persons/s, ms per batch, and the ratio to the
first architecture (W32) on that runtime and batch, with the process's CPU use during the runs. ``--compiled`` adds
PyTorch fp32 through ``torch.compile`` (inductor, which needs a C++ compiler; the product's ``--compile``): its
compilation, minutes on 2 cores, happens in the warm-up runs and is printed apart.

``--export VIDEO`` instead measures the whole export (detector every frame, yolo11n-pose from the shared assets,
ONNX Runtime fp32, CSV written) of the first ``--frames`` frames with each architecture, in that order in this
process: persons/s end to end and the ratio to the first architecture. With ``--wholebody`` a last run adds the
whole-body stage to the first architecture (HRNetV2-W18 face and hand models on every person), for its cost, and
another runs the first architecture as a COCO-WholeBody model (133 keypoints in one network: feet, face and hands
without a second stage).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrnet_studio.inference.quantize import quantize_onnx  # noqa: E402
from hrnet_studio.inference.runtime.backends import TorchBackend  # noqa: E402
from hrnet_studio.inference.runtime.bench import measure_throughput  # noqa: E402
from hrnet_studio.inference.runtime.onnx_backend import OnnxBackend  # noqa: E402
from hrnet_studio.inference.wholebody import PARTS  # noqa: E402
from hrnet_studio.models.checkpoints import build_pose_model  # noqa: E402
from hrnet_studio.models.onnx_export import export_onnx  # noqa: E402

NATIVE = {"hrnetv2_w18": ((256, 256), 68)}  # arch → (input size, keypoints) where not a 192×256 COCO body model


def native(arch: str) -> tuple[tuple[int, int], int]:
    return NATIVE.get(arch, ((192, 256), 17))


def backends_for(arch: str, workdir: Path, compiled: bool = False) -> dict:
    input_size, joints = native(arch)
    model = build_pose_model(arch, joints).eval()
    onnx_path, int8_path = workdir / f"{arch}.onnx", workdir / f"{arch}.int8.onnx"
    export_onnx(model, input_size, onnx_path)
    w, h = input_size
    quantize_onnx(onnx_path, np.random.default_rng(0).standard_normal((16, 3, h, w)).astype(np.float32), int8_path)
    backends = {"torch fp32": TorchBackend(model, "cpu"), "onnxruntime fp32": OnnxBackend(onnx_path, "cpu"),
                "onnxruntime INT8": OnnxBackend(int8_path, "cpu")}
    if compiled:
        backends["torch compiled"] = TorchBackend(torch.compile(model), "cpu")
    return backends


def export_speed(archs: list[str], video: Path, frames: int, workdir: Path, wholebody: bool = False) -> None:
    import os

    from hrnet_studio.export.job import export_video
    from hrnet_studio.inference.factory import build_pipeline
    from hrnet_studio.inference.options import PipelineChoice

    detector = Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared")) \
        / "models" / "yolo11n-pose.pt"
    base = None
    print(f"export of {video.name}, first {frames} frames, detector every frame, ONNX Runtime fp32 on the CPU")
    parts = {}
    if wholebody:
        for part, joints in (("face", 68), ("hand", 21)):
            parts[part] = workdir / f"{part}_hrnetv2_w18_256x256.onnx"
            export_onnx(build_pose_model("hrnetv2_w18", joints).eval(), (256, 256), parts[part])
    runs = [(arch, {}) for arch in archs] + ([(archs[0], parts), (archs[0], "133")] if wholebody else [])
    for arch, landmarks in runs:
        whole = landmarks == "133"
        onnx_file = workdir / f"{arch}_coco{'_wholebody' if whole else ''}_256x192.onnx"
        export_onnx(build_pose_model(arch, 133 if whole else 17).eval(), (192, 256), onnx_file)
        landmarks = {} if whole else landmarks
        pipeline, _ = build_pipeline(PipelineChoice(
            model=str(onnx_file), detector=str(detector), device="cpu", backend="onnx",
            face_model=str(landmarks["face"]) if landmarks else None,
            hand_model=str(landmarks["hand"]) if landmarks else None))
        label = f"{arch}+face+hands" if landmarks else f"{arch} 133 kp" if whole else arch
        export_video(video, pipeline, workdir / "warm-up.csv", max_frames=2)  # sessions made, caches warm
        cpu0, start = time.process_time(), time.perf_counter()
        report = export_video(video, pipeline, workdir / f"{arch}{'-133' if whole else ''}.csv", max_frames=frames)
        elapsed = time.perf_counter() - start
        rate = report.persons / elapsed
        base = base or rate
        pose = report.stage_ms.get("pose", 0.0) / max(report.frames, 1)
        print(f"{label:>14}: {report.persons} persons in {report.frames} frames, {elapsed:.1f} s, {rate:.1f} persons/s "
              f"({rate / base:.2f}x), pose {pose:.0f} ms a frame, CPU {100 * (time.process_time() - cpu0) / elapsed:.0f}%",
              flush=True)
        if landmarks:  # how many face and hand boxes the stage ran on, and what it cost
            import csv

            with open(workdir / f"{arch}.wholebody.csv", newline="") as f:
                rows = list(csv.DictReader(f))
            crops = sum(1 for r in rows for part in PARTS if r.get(f"{part}_box_x1"))
            parts = report.stage_ms.get("parts", 0.0) / max(report.frames, 1)
            print(f"{'':>14}  whole-body stage: {crops} face/hand crops, {parts:.0f} ms a frame", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default="hrnet_w32,litehrnet_18,litehrnet_30,hrnetv2_w18")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--compiled", action="store_true", help="also PyTorch fp32 through torch.compile")
    parser.add_argument("--export", type=Path, metavar="VIDEO", help="measure the whole export of this video instead")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--wholebody", action="store_true", help="with --export: also the first arch with the "
                        "whole-body stage (HRNetV2-W18 face and hands)")
    args = parser.parse_args()
    archs = args.archs.split(",")
    if args.export:
        with tempfile.TemporaryDirectory() as workdir:
            export_speed([a for a in archs if a not in NATIVE], args.export, args.frames, Path(workdir), args.wholebody)
        return
    with tempfile.TemporaryDirectory() as workdir:
        per_arch = {arch: backends_for(arch, Path(workdir), args.compiled) for arch in archs}
        inputs = ", ".join(f"{a} {native(a)[0][0]}x{native(a)[0][1]}" for a in archs)
        print(f"inputs: {inputs}; CPU, torch {torch.__version__}, threads {torch.get_num_threads()}")
        print(f"{'runtime':<18}{'batch':>6}{'arch':>14}{'persons/s':>11}{'ms/batch':>10}{'vs ' + archs[0]:>16}"
              f"{'CPU %':>7}")
        for runtime in per_arch[archs[0]]:
            for batch in args.batches:
                base = None
                for arch in archs:
                    if runtime == "torch compiled":  # compiled for this batch in warm-up runs, timed apart
                        start = time.perf_counter()
                        measure_throughput(per_arch[arch][runtime], native(arch)[0], batch, 0.0, warmup=2)
                        print(f"{'':<18}{batch:>6}{arch:>14}  compiled and warmed up in "
                              f"{time.perf_counter() - start:.0f} s", flush=True)
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    result = measure_throughput(per_arch[arch][runtime], native(arch)[0], batch, args.seconds)
                    cpu = 100 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
                    base = base or result.persons_per_s
                    print(f"{runtime:<18}{batch:>6}{arch:>14}{result.persons_per_s:>11.1f}{result.ms_per_batch:>10.1f}"
                          f"{result.persons_per_s / base:>15.2f}x{cpu:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
