"""The HRNet family side by side: persons/s of each architecture against HRNet-W32 on the same runtime, precision and
batch, measured in one run.

    python benchmarks/families.py [--archs hrnet_w32,litehrnet_18,litehrnet_30] [--batches 1 8] [--seconds 3]
                                  [--export VIDEO --frames 60]

Each network is random-initialised (speed does not depend on the weights), exported to ONNX and quantized to INT8
(static, calibrated on random crops: it does not change the speed), and measured on PyTorch fp32, ONNX Runtime fp32
and ONNX Runtime INT8 at 192×256 on the CPU. Runs alternate between the architectures per runtime and batch, so a
busy moment of the machine does not fall on one of them only. Printed: persons/s, ms per batch, and the ratio to the
first architecture (W32) on that runtime and batch, with the process's CPU use during the runs.

``--export VIDEO`` instead measures the whole export (detector every frame, yolo11n-pose from the shared assets,
ONNX Runtime fp32, CSV written) of the first ``--frames`` frames with each architecture, in that order in this
process: persons/s end to end and the ratio to the first architecture.
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

from hrnet_studio.inference.backends import TorchBackend  # noqa: E402
from hrnet_studio.inference.bench import measure_throughput  # noqa: E402
from hrnet_studio.inference.onnx_backend import OnnxBackend  # noqa: E402
from hrnet_studio.models.checkpoints import build_pose_model  # noqa: E402
from hrnet_studio.models.onnx_export import export_onnx  # noqa: E402
from hrnet_studio.models.quantize import quantize_onnx  # noqa: E402


def backends_for(arch: str, input_size: tuple[int, int], workdir: Path) -> dict:
    model = build_pose_model(arch, 17).eval()
    onnx_path, int8_path = workdir / f"{arch}.onnx", workdir / f"{arch}.int8.onnx"
    export_onnx(model, input_size, onnx_path)
    w, h = input_size
    quantize_onnx(onnx_path, np.random.default_rng(0).standard_normal((16, 3, h, w)).astype(np.float32), int8_path)
    return {"torch fp32": TorchBackend(model, "cpu"), "onnxruntime fp32": OnnxBackend(onnx_path, "cpu"),
            "onnxruntime INT8": OnnxBackend(int8_path, "cpu")}


def export_speed(archs: list[str], video: Path, frames: int, workdir: Path) -> None:
    import os

    from hrnet_studio.inference.export_job import export_video
    from hrnet_studio.inference.factory import PipelineChoice, build_pipeline

    detector = Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared")) \
        / "models" / "yolo11n-pose.pt"
    base = None
    print(f"export of {video.name}, first {frames} frames, detector every frame, ONNX Runtime fp32 on the CPU")
    for arch in archs:
        onnx_file = workdir / f"{arch}_coco_256x192.onnx"
        export_onnx(build_pose_model(arch, 17).eval(), (192, 256), onnx_file)
        pipeline, _ = build_pipeline(PipelineChoice(model=str(onnx_file), detector=str(detector), device="cpu",
                                                    backend="onnx"))
        cpu0, start = time.process_time(), time.perf_counter()
        report = export_video(video, pipeline, workdir / f"{arch}.csv", max_frames=frames)
        elapsed = time.perf_counter() - start
        rate = report.persons / elapsed
        base = base or rate
        pose = report.stage_ms.get("pose", 0.0) / max(report.frames, 1)
        print(f"{arch:>14}: {report.persons} persons in {report.frames} frames, {elapsed:.1f} s, {rate:.1f} persons/s "
              f"({rate / base:.2f}x), pose {pose:.0f} ms a frame, CPU {100 * (time.process_time() - cpu0) / elapsed:.0f}%",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default="hrnet_w32,litehrnet_18,litehrnet_30")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--export", type=Path, metavar="VIDEO", help="measure the whole export of this video instead")
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    archs = args.archs.split(",")
    input_size = (192, 256)
    if args.export:
        with tempfile.TemporaryDirectory() as workdir:
            export_speed(archs, args.export, args.frames, Path(workdir))
        return
    with tempfile.TemporaryDirectory() as workdir:
        per_arch = {arch: backends_for(arch, input_size, Path(workdir)) for arch in archs}
        print(f"input {input_size[0]}x{input_size[1]}, CPU, torch {torch.__version__}, threads {torch.get_num_threads()}")
        print(f"{'runtime':<18}{'batch':>6}{'arch':>14}{'persons/s':>11}{'ms/batch':>10}{'vs ' + archs[0]:>16}"
              f"{'CPU %':>7}")
        for runtime in per_arch[archs[0]]:
            for batch in args.batches:
                base = None
                for arch in archs:
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    result = measure_throughput(per_arch[arch][runtime], input_size, batch, args.seconds)
                    cpu = 100 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
                    base = base or result.persons_per_s
                    print(f"{runtime:<18}{batch:>6}{arch:>14}{result.persons_per_s:>11.1f}{result.ms_per_batch:>10.1f}"
                          f"{result.persons_per_s / base:>15.2f}x{cpu:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
