"""What runs here and why: ``hrnet-studio doctor`` and the app's Help ▸ System report.

Python, PyTorch and its CUDA build, the GPUs and their driver, ONNX Runtime's providers and why CUDA or TensorRT is
or is not among them (the missing library named), OpenCV's video back ends, the thread budget, the model folder, and
a short speed check of the default pose model on each runtime that can run here. Every part is read defensively: a
report must come out on a broken installation, saying what is broken.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from .backends import nvidia_driver_present

# the CUDA libraries ONNX Runtime's CUDA provider loads (sonames of CUDA 12 and 13 builds), by what they are
CUDA_LIBRARIES = {"CUDA runtime": ("libcudart.so.13", "libcudart.so.12"),
                  "cuBLAS": ("libcublas.so.13", "libcublas.so.12"),
                  "cuDNN": ("libcudnn.so.9",),
                  "cuFFT": ("libcufft.so.12", "libcufft.so.11")}


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)


def system_report(speed: bool = True, seconds: float = 0.5, registry=None) -> list[Section]:
    """Every section of the report; ``speed``: also time the default pose model on each runtime (a few seconds)."""
    parts: list[Callable[[], Section]] = [python_section, torch_section, onnx_section, opencv_section,
                                          threads_section, lambda: models_section(registry)]
    if speed:
        parts.append(lambda: speed_section(registry, seconds))
    return [safely(part) for part in parts]


def format_report(sections: list[Section]) -> str:
    """The report as plain text (the terminal, the app's dialog, a bug report)."""
    return "\n".join(f"{s.title}\n" + "".join(f"  {line}\n" for line in s.lines) for s in sections)


def safely(part: Callable[[], Section]) -> Section:
    """``part()``, or a section that says it could not be read."""
    try:
        return part()
    except Exception as exc:  # a report must come out whatever is broken
        from ...errors import first_line

        return Section(getattr(part, "__name__", "section").replace("_section", ""), [f"could not be read: "
                                                                                     f"{first_line(exc)}"])


def python_section() -> Section:
    return Section("Python", [f"{platform.python_version()} ({sys.executable})", f"{platform.platform()}",
                              f"{platform.processor() or platform.machine()}"])


def gpu_reason() -> str:
    """Why PyTorch has no GPU here, in a few words ("" when it has one)."""
    if not nvidia_driver_present():
        return "no NVIDIA driver here (libcuda cannot be loaded)"
    import torch

    if torch.version.cuda is None:
        return f"this PyTorch is a CPU-only build ({torch.__version__}): install a CUDA build (pytorch.org)"
    if not torch.cuda.is_available():
        return (f"PyTorch (CUDA {torch.version.cuda} build) sees no usable GPU: the driver may be older than the "
                "build needs, or CUDA_VISIBLE_DEVICES hides the devices")
    return ""


def torch_section() -> Section:
    import torch

    lines = [f"{torch.__version__}, CUDA build: {torch.version.cuda or 'none (CPU only)'}"]
    reason = gpu_reason()
    if reason:
        return Section("PyTorch", lines + [f"GPU: none — {reason}"])
    try:
        driver = torch._C._cuda_getDriverVersion()
        lines.append(f"driver API {driver // 1000}.{driver % 1000 // 10}, cuDNN {torch.backends.cudnn.version()}")
    except Exception:  # a private call: absent in some builds
        pass
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        lines.append(f"GPU {i}: {p.name}, {p.total_memory / 2**30:.0f} GiB, compute {p.major}.{p.minor}")
    return Section("PyTorch", lines)


def missing_cuda_libraries() -> list[str]:
    """The CUDA libraries ONNX Runtime's CUDA provider needs that cannot be loaded here (by name and soname)."""
    missing = []
    for what, sonames in CUDA_LIBRARIES.items():
        if not any(_loadable(name) for name in sonames):
            missing.append(f"{what} ({' or '.join(sonames)})")
    return missing


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def onnx_section() -> Section:
    import onnxruntime as ort

    from .ort_session import tensorrt_present

    available = ort.get_available_providers()
    lines = [f"{ort.__version__}, providers in this build: {', '.join(available)}"]
    if "CUDAExecutionProvider" not in available:
        lines.append("CUDA: not in this build (the onnxruntime package is CPU-only; onnxruntime-gpu has it)")
    elif not nvidia_driver_present():
        lines.append("CUDA: in this build, but there is no NVIDIA driver here")
    else:
        missing = missing_cuda_libraries()
        lines.append("CUDA: usable" if not missing else f"CUDA: cannot start, missing {', '.join(missing)}")
    if "TensorrtExecutionProvider" in available:
        lines.append("TensorRT: usable" if tensorrt_present() else "TensorRT: in this build, but libnvinfer is missing")
    return Section("ONNX Runtime", lines)


def opencv_section() -> Section:
    import cv2

    registry = cv2.videoio_registry

    def names(backends) -> list[str]:
        return list(dict.fromkeys(registry.getBackendName(b) for b in backends))  # once each, in OpenCV's order

    video, cameras, streams = names(registry.getBackends()), names(registry.getCameraBackends()), \
        names(registry.getStreamBackends())
    return Section("OpenCV", [f"{cv2.__version__}", f"video back ends: {', '.join(video) or 'none'}",
                              f"cameras: {', '.join(cameras) or 'none'}; files and streams: {', '.join(streams)}"])


def threads_section() -> Section:
    from ...thread_budget import thread_budget

    return Section("Threads", [thread_budget().describe()])


def models_section(registry=None) -> Section:
    from ...models.registry import ModelRegistry

    registry = registry or ModelRegistry()
    pose = registry.default_pose()
    detector = registry.default_detector()
    return Section("Models", [f"folder: {registry.folder}",
                              f"default pose model: {pose.name if pose else 'none installed'}",
                              f"default detector: {detector.name if detector else 'none installed'}"])


def speed_section(registry=None, seconds: float = 0.5) -> Section:
    """The default pose model's network alone, one person a batch, on each runtime that can run here."""
    from ...errors import first_line
    from ...models.registry import ModelRegistry
    from .backends import gpu_present
    from .bench import measure_throughput
    from .model_loading import open_pose_model

    registry = registry or ModelRegistry()
    if registry.default_pose() is None:
        return Section("Speed (network only, batch 1)", ["no pose model installed: nothing to time"])
    lines = []
    devices = ["cpu"] + (["cuda"] if gpu_present() else [])
    for backend in ("torch", "onnx"):
        for device in devices:
            try:
                loaded = open_pose_model(None, backend, device, registry=registry)
                result = measure_throughput(loaded.backend, loaded.spec.input_size, 1, seconds=seconds, warmup=1)
                lines.append(f"{loaded.record.name} on {loaded.backend.device_name}: {result.persons_per_s:.1f} "
                             f"persons/s ({result.ms_per_batch:.1f} ms)")
            except Exception as exc:  # no model, a runtime that cannot start: said, and the next one tried
                lines.append(f"{backend} on {device}: {first_line(exc)}")
    return Section("Speed (network only, batch 1)", lines)
