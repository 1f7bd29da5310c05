"""Opening an ONNX Runtime session: one place for the thread budget, the providers and the optimized-model cache.

Execution providers are chosen automatically: TensorRT (when its libraries are installed) and CUDA when a GPU is
present, the CPU otherwise; ONNX Runtime silently drops a provider it cannot start, so callers read
``session.get_providers()`` to say what really runs.

ONNX Runtime optimizes a graph each time a session opens (fusions, constant folding, this CPU's blocked layouts):
on a 2-core CPU that is 130 ms of HRNet-W32's 270 ms session start and 180 ms of its INT8 version's 470 ms,
against about 1.1 s from launch to the first exported frame. On the CPU, the optimized graph is saved the first
time and later sessions open that copy with optimization off, running at the same speed
(``benchmarks/startup.py``). The copy holds layouts for one CPU and one ONNX Runtime version, so its name is a key
of both and of the source file (name, size, modification time): anything else gets a copy of its own, and older
copies of the same model are removed. It lives beside the model in the model folder (``NAME.onnx.ort-cache/``,
removed with the model); files elsewhere are not cached. A copy that cannot be written or read only costs the
time it would have saved.
"""
from __future__ import annotations

import ctypes.util
import hashlib
import platform
from functools import lru_cache
from pathlib import Path

from ...atomic_writer import WriteError, commit, discard, make_folder, part_path
from ...errors import StudioError
from ...paths import models_dir, ort_cache_folder
from ...thread_budget import thread_budget
from .backends import gpu_present

CACHE_KIND = "ort-cache"

PROVIDER_LABELS = {
    "TensorrtExecutionProvider": "TensorRT",
    "CUDAExecutionProvider": "CUDA",
    "CPUExecutionProvider": "CPU",
}


def tensorrt_present() -> bool:
    return ctypes.util.find_library("nvinfer") is not None


def choose_providers(device: str, available: list[str]) -> list[str]:
    """Ordered providers for ``device`` (auto / cpu / cuda) from what this onnxruntime build offers."""
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise StudioError(f"unknown device {device!r}: use auto, cpu or cuda")
    want_gpu = device != "cpu" and "CUDAExecutionProvider" in available and gpu_present()
    if device.startswith("cuda") and not want_gpu:
        raise StudioError("--device cuda was asked for, but no CUDA GPU is usable by ONNX Runtime here "
                          "(use --device cpu or auto; `hrnet-studio doctor` says why)")
    providers = []
    if want_gpu:
        if "TensorrtExecutionProvider" in available and tensorrt_present():
            providers.append("TensorrtExecutionProvider")
        providers.append("CUDAExecutionProvider")
    providers.append("CPUExecutionProvider")
    return providers


def open_session(path: str | Path, device: str = "cpu", threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` for the model file ``path`` under the thread budget (``threads``: other
    intra-op threads), on the providers ``device`` (auto / cpu / cuda) allows. ONNX Runtime's own exceptions pass
    through: the caller knows what the file was meant to be."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # errors only: provider fallbacks are reported by the session's providers
    path = Path(path)
    providers = choose_providers(device, ort.get_available_providers())

    def options(level, save_to: Path | None = None):
        made = ort.SessionOptions()
        thread_budget().configure_ort(made)
        if threads:
            made.intra_op_num_threads = threads
        made.graph_optimization_level = level
        if save_to is not None:
            made.optimized_model_filepath = str(save_to)
        return made

    level = ort.GraphOptimizationLevel

    def plain():  # optimized now, nothing saved
        return ort.InferenceSession(str(path), options(level.ORT_ENABLE_ALL), providers=providers)

    if providers != ["CPUExecutionProvider"]:  # a GPU provider's optimized graph is its own: nothing saved
        return plain()
    copy = optimized_copy_path(path)
    if copy is None:
        return plain()
    if copy.is_file():
        try:
            return ort.InferenceSession(str(copy), options(level.ORT_DISABLE_ALL), providers=providers)
        except Exception:  # a damaged copy: made again below
            discard(copy)
    part = part_path(copy)
    try:
        make_folder(copy.parent)
    except WriteError:
        return plain()
    try:
        session = ort.InferenceSession(str(path), options(level.ORT_ENABLE_ALL, part), providers=providers)
    except Exception:  # the save failed inside ONNX Runtime (a full disk), or the model is bad: try without saving
        discard(part)
        return plain()
    try:
        commit(part, copy)
    except WriteError:
        return session
    for old in copy.parent.glob("*.onnx"):
        if old != copy:
            discard(old)
    return session


def optimized_copy_path(path: Path) -> Path | None:
    """Where ONNX Runtime's optimized copy of ``path`` for this CPU and this ONNX Runtime version lives; None for a
    file outside the model folder (a file of the user's, a scratch file): nothing is written beside those. Files in
    the model folder's own subfolders (a detector's ONNX export) are cached too."""
    import os

    import onnxruntime as ort

    if not path.resolve().is_relative_to(models_dir().resolve()) or not os.access(path.parent, os.W_OK):
        return None
    stat = path.stat()
    key = f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}|{ort.__version__}|{_cpu_identity()}"
    return ort_cache_folder(path) / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.onnx"


@lru_cache(maxsize=1)
def _cpu_identity() -> str:
    """The processor's model and instruction-set flags (the layouts ONNX Runtime chose depend on them)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        picked = [next(line for line in lines if line.startswith(key)) for key in ("model name", "flags")]
        return "|".join(picked)
    except (OSError, StopIteration):
        return f"{platform.machine()}|{platform.processor()}"
