"""Backend benchmark: PyTorch vs ONNX Runtime persons/s at batch 1, 8 and 32, side by side in one run.

    python benchmarks/backends.py [--model MODEL.pth] [--arch hrnet_w32] [--device auto] [--seconds 3]

Each batch size is measured for every backend in turn, in the same process, on the same random
crops, and the ratio to PyTorch fp32 is printed. On the CPU the table also has PyTorch fp32 in channels-last,
bf16 under autocast and bf16 as ``--precision bf16`` runs it (weights in bfloat16, channels-last), and
ONNX Runtime INT8 (static quantization; calibrated on random crops here, which does not change its speed).
On a GPU the table also has PyTorch fp16 and
channels-last and ONNX Runtime CUDA (and TensorRT when its libraries are installed).

``--compile`` adds the PyTorch rows as ``--compile`` runs them (``torch.compile``, the batch dimension dynamic) and
prints each one's compile time (its first batch, and its first batch of one) apart from its speed.

Without --model a randomly initialised HRNet of the official layout is used: the speed of a
network does not depend on its weights.
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
from hrnet_studio.inference.runtime.ort_session import tensorrt_present  # noqa: E402
from hrnet_studio.models.checkpoints import load_pose_model  # noqa: E402
from hrnet_studio.models.hrnet import build_hrnet  # noqa: E402
from hrnet_studio.models.onnx_export import export_onnx  # noqa: E402


def make_backends(model: torch.nn.Module, input_size: tuple[int, int], device: str, workdir: Path,
                  compile: bool = False) -> dict:
    onnx_path = workdir / "model.onnx"
    export_onnx(model, input_size, onnx_path)
    if compile:
        dtypes = ["fp32", "bf16"] if device == "cpu" else ["fp32", "fp16", "bf16"]
        return {"torch fp32": TorchBackend(model, device)} | {
            f"torch {d} compiled": TorchBackend(build_copy(model), device, channels_last=True, dtype=d, compile=True)
            for d in dtypes} | {"torch bf16 (--precision bf16)": TorchBackend(build_copy(model), device,
                                                                              channels_last=True, dtype="bf16")}
    if device == "cpu":
        int8_path = workdir / "model.int8.onnx"
        w, h = input_size
        crops = np.random.default_rng(0).standard_normal((32, 3, h, w)).astype(np.float32)  # speed only
        quantize_onnx(onnx_path, crops, int8_path)
        return {
            "torch fp32": TorchBackend(model, "cpu"),
            "torch fp32 channels_last": TorchBackend(build_copy(model), "cpu", channels_last=True),
            "torch bf16 (autocast)": Bf16Backend(build_copy(model)),
            "torch bf16 (--precision bf16)": TorchBackend(build_copy(model), "cpu", channels_last=True, dtype="bf16"),
            "onnxruntime CPU": OnnxBackend(onnx_path, "cpu"),
            "onnxruntime CPU INT8": OnnxBackend(int8_path, "cpu"),
        }
    backends = {
        "torch fp32": TorchBackend(model, "cuda"),
        "torch fp16": TorchBackend(build_copy(model), "cuda", fp16=True),
        "torch fp16 channels_last": TorchBackend(build_copy(model), "cuda", fp16=True, channels_last=True),
    }
    ort = OnnxBackend(onnx_path, "cuda")
    backends[ort.device_name.split(" (")[0].replace("ONNX Runtime", "onnxruntime")] = ort
    return backends


class Bf16Backend(TorchBackend):
    """PyTorch on the CPU under bf16 autocast (AVX-512 BF16 / AMX where the CPU has them)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__(model, "cpu")

    def infer(self, batch):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return super().infer(batch)


def build_copy(model: torch.nn.Module) -> torch.nn.Module:
    copy = build_hrnet(model.config.arch, model.config.num_joints, model.config.final_conv_kernel)
    copy.load_state_dict(model.state_dict())
    return copy.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="HRNet checkpoint (default: random-init --arch)")
    parser.add_argument("--arch", default="hrnet_w32")
    parser.add_argument("--input-size", default="192x256", help="WxH (default 192x256)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--compile", action="store_true", help="PyTorch with torch.compile beside plain PyTorch")
    args = parser.parse_args()

    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if args.model:
        model, spec = load_pose_model(args.model)
        input_size = spec.input_size
    else:
        model = build_hrnet(args.arch, 17).eval()
        input_size = tuple(int(v) for v in args.input_size.split("x"))
    name = args.model.name if args.model else f"{args.arch} (random init)"
    with tempfile.TemporaryDirectory() as workdir:
        backends = make_backends(model, input_size, device, Path(workdir), args.compile)
        for label, backend in backends.items():
            if "compiled" in label:  # compile before the clock starts: a batch of one, then any other size
                for batch in sorted({1, max(2, max(args.batches))}):
                    started = time.perf_counter()
                    backend.infer(np.zeros((batch, 3, input_size[1], input_size[0]), np.float32))
                    print(f"{label}: compiled for batch {'1' if batch == 1 else '2+'} in "
                          f"{time.perf_counter() - started:.0f} s", flush=True)
        print(f"{name}, input {input_size[0]}x{input_size[1]}, device {device}, torch {torch.__version__}, "
              f"threads {torch.get_num_threads()}" + (f", TensorRT libs {'found' if tensorrt_present() else 'absent'}"
                                                      if device == "cuda" else ""))
        print(f"{'backend':<28}{'batch':>6}{'persons/s':>12}{'ms/batch':>10}{'vs torch fp32':>15}")
        for batch in args.batches:
            base = None
            for label, backend in backends.items():
                result = measure_throughput(backend, input_size, batch, args.seconds)
                base = base or result.persons_per_s
                print(f"{label:<28}{batch:>6}{result.persons_per_s:>12.1f}{result.ms_per_batch:>10.1f}"
                      f"{result.persons_per_s / base:>14.2f}x", flush=True)


if __name__ == "__main__":
    main()
