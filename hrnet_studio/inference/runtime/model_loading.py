"""Turn "which model, which backend" into a ready ``PoseBackend`` and its ``PoseModelSpec``.

The CLI, the GUI and benchmarks call ``open_pose_model``; nothing after it knows whether
PyTorch or ONNX Runtime runs the network.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import StudioError
from ...models.metadata import POSE
from ...models.registry import DEFAULT_POSE_MODEL, ModelRecord, ModelRegistry
from ...models.spec import PoseModelSpec
from ...thread_budget import enforce as enforce_thread_budget
from ...thread_budget import thread_budget
from ..options import BACKENDS, HALF_PRECISIONS, PRECISIONS
from .backends import PoseBackend, TorchBackend, cpu_has_bf16, gpu_present


@dataclass
class LoadedPoseModel:
    backend: PoseBackend
    spec: PoseModelSpec  # spec.path is the file that runs (the .onnx export when ONNX Runtime runs a .pth model)
    record: ModelRecord  # the model the user asked for
    backend_kind: str  # "torch" or "onnx"
    precision: str = "fp32"  # what runs: "fp32", "int8", "bf16" or "fp16"
    guarded: bool = True  # False for an INT8 model kept although it failed the accuracy guard

    @property
    def precision_label(self) -> str:
        """``INT8``, ``INT8 (unguarded)``, ``fp32``, ``bf16`` or ``fp16``, for the status bar and the CLI."""
        return "INT8" + ("" if self.guarded else " (unguarded)") if self.precision == "int8" else self.precision


def first_run_message(registry: ModelRegistry) -> str:
    entry = registry.zoo.get(DEFAULT_POSE_MODEL)
    size = f", about {entry.size_bytes // 1_000_000} MB" if entry and entry.size_bytes else ""
    return (f"no pose model is installed yet: run `hrnet-studio models pull {DEFAULT_POSE_MODEL}` "
            f"(official HRNet-W32 COCO weights{size}), or `hrnet-studio models import FILE.pth` for a checkpoint "
            f"you have (official, mmpose or your own); models live in {registry.folder}")


def open_pose_model(
    ref: str | Path | None = None,
    backend: str = "auto",
    device: str = "auto",
    fp16: bool = False,
    channels_last: bool = False,
    input_size: tuple[int, int] | None = None,
    registry: ModelRegistry | None = None,
    say: Callable[[str], None] | None = None,
    precision: str = "fp32",
    live: bool = False,
    compile: bool = False,
) -> LoadedPoseModel:
    """The model ``ref`` (a registered name or a file; None = the default) ready to run. ``precision`` "int8" runs
    its INT8 version (``hrnet-studio models quantize``) on ONNX Runtime. ``live``: for a live view, whose detector
    runs beside: an ONNX Runtime session gets ``ThreadBudget.live_pose_threads_for`` its architecture (PyTorch's
    threads are the process's). ``compile``: a PyTorch network goes through ``torch.compile``
    (``backends.compiled``); an ONNX Runtime one is already optimised by its session (a note says so)."""
    if backend not in BACKENDS:
        raise StudioError(f"unknown backend {backend!r}: use {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise StudioError(f"unknown precision {precision!r}: use {', '.join(PRECISIONS)}")
    registry = registry or ModelRegistry()
    if ref is None:
        record = registry.default_pose()
        if record is None:
            raise StudioError(first_run_message(registry))
    else:
        record = registry.resolve(ref)
    if record.kind != POSE:
        raise StudioError(f"{record.name} is a person detector, not a pose model (pass it with --detector)")
    if record.problem:
        raise StudioError(record.problem)
    if precision == "int8" or (record.metadata and record.metadata.precision == "int8"):
        _no_compile_on_onnx(compile, say)
        return _open_int8(record, backend, device, input_size, registry, live)
    is_onnx = record.format == "onnx" or record.path.suffix.lower() == ".onnx"
    kind = backend if backend != "auto" else _auto_backend(record, registry, device, is_onnx)
    if precision in HALF_PRECISIONS:
        if backend == "onnx" or is_onnx:
            raise StudioError(f"{precision} runs on PyTorch: choose --backend torch (or auto) and a .pth model")
        kind = "torch"
    if kind == "torch":
        if is_onnx:
            raise StudioError(f"{record.name} is an ONNX model: run it with --backend onnx (or auto)")
        from ...models.checkpoints import load_pose_model

        size = input_size or (record.input_size if record.metadata else None)
        model, spec = load_pose_model(record.path, input_size=size)
        if record.metadata is not None:
            record.metadata.apply_to(spec)
        enforce_thread_budget()
        dtype = precision if precision in HALF_PRECISIONS else ("fp16" if fp16 else "fp32")
        runner = TorchBackend(model, device, channels_last=channels_last or dtype != "fp32", dtype=dtype,
                              compile=compile, say=say)
        if dtype == "bf16" and runner.device_type == "cpu" and not cpu_has_bf16() and say:
            say("note: this CPU has no bfloat16 instructions (AVX-512 BF16 or AMX): bf16 runs slower than fp32 here")
        return LoadedPoseModel(runner, spec, record, kind, runner.dtype)

    try:
        onnx_record = record if is_onnx else _onnx_for(record, registry, say)
    except StudioError as exc:
        if backend != "auto":
            raise
        if say:
            say(f"note: running {record.name} with PyTorch: {exc}")
        return open_pose_model(record.path, "torch", device, fp16, channels_last, input_size, registry, say,
                               compile=compile)

    _no_compile_on_onnx(compile, say)
    return _open_onnx(record, onnx_record, device, input_size, live)


def _no_compile_on_onnx(compile: bool, say: Callable[[str], None] | None) -> None:
    if compile and say:
        say("note: --compile applies to PyTorch; ONNX Runtime optimises its own graph (choose --backend torch and "
            "fp32, bf16 or fp16 to compile)")


def _open_onnx(record: ModelRecord, onnx_record: ModelRecord, device: str,
               input_size: tuple[int, int] | None, live: bool = False) -> LoadedPoseModel:
    from .onnx_backend import OnnxBackend

    meta = onnx_record.metadata
    if meta is None:
        raise StudioError(f"{onnx_record.path.name} could not be identified as a pose model")
    if input_size is not None and tuple(input_size) != tuple(meta.input_size):
        raise StudioError(f"{onnx_record.name} was exported for input {meta.input_size[0]}x{meta.input_size[1]}; "
                          f"an ONNX model's input size is fixed (export again for {input_size[0]}x{input_size[1]})")
    runner = OnnxBackend(onnx_record.path, device, thread_budget().live_pose_threads_for(meta.arch) if live else None)
    spec = meta.spec(onnx_record.path)
    return LoadedPoseModel(runner, spec, record, "onnx", meta.precision, meta.guarded is not False)


def int8_version(record: ModelRecord, registry: ModelRegistry) -> ModelRecord | None:
    """``record`` itself when it is INT8, else its INT8 version made by ``models quantize``, else None."""
    if record.metadata is not None and record.metadata.precision == "int8":
        return record
    return registry.onnx_export_of(record, "int8")


def _open_int8(record: ModelRecord, backend: str, device: str, input_size: tuple[int, int] | None,
               registry: ModelRegistry, live: bool = False) -> LoadedPoseModel:
    """The INT8 version of ``record`` (or ``record`` itself when it is one), on ONNX Runtime."""
    if backend == "torch":
        raise StudioError("INT8 models run on ONNX Runtime: choose the onnx (or auto) backend")
    int8 = int8_version(record, registry)
    if int8 is None:
        raise StudioError(f"{record.name} has no INT8 version made from this file: run `hrnet-studio models quantize "
                          f"{record.name}` (in the app: Tools ▸ Quantize to INT8…)")
    return _open_onnx(record, int8, device, input_size, live)


def _auto_backend(record: ModelRecord, registry: ModelRegistry, device: str, is_onnx: bool) -> str:
    """ONNX for .onnx files; on the CPU also for models in the model folder, as ONNX Runtime runs HRNet
    1.6-2x faster there than PyTorch (benchmarks/backends.py); PyTorch otherwise."""
    if is_onnx:
        return "onnx"
    in_folder = record.path.parent.resolve() == registry.folder.resolve()
    on_cpu = device == "cpu" or (device == "auto" and not gpu_present())
    return "onnx" if in_folder and on_cpu and record.metadata is not None else "torch"


def _onnx_for(record: ModelRecord, registry: ModelRegistry, say: Callable[[str], None] | None) -> ModelRecord:
    """The ONNX export of a registered .pth model, made once on first use."""
    existing = registry.onnx_export_of(record)
    if existing is not None:
        return existing
    if record.path.parent.resolve() != registry.folder.resolve():
        raise StudioError(f"--backend onnx needs an ONNX model: `hrnet-studio models import {record.path}` and then "
                          f"`hrnet-studio models export-onnx NAME`, or pass an .onnx file")
    from ...models.onnx_export import export_registered

    if say:
        say(f"exporting {record.name} to ONNX for ONNX Runtime, once (kept in the model folder)...")
    exported, _ = export_registered(registry, record)
    return exported
