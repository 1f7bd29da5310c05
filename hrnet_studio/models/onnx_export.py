"""Export an HRNet to ONNX with a dynamic batch axis, check it, and prove it computes the same heatmaps."""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from ..atomic_writer import atomic_path
from ..errors import StudioError, first_line

OPSET = 18
INPUT_NAME = "input"
OUTPUT_NAME = "heatmaps"
PARITY_TOLERANCE = 1e-4


EXPORTERS = ("auto", "torchscript", "dynamo")


def export_onnx(model: torch.nn.Module, input_size: tuple[int, int], dest: Path, opset: int = OPSET,
                exporter: str = "auto") -> float:
    """Write ``dest`` (atomically) and return the largest heatmap difference to PyTorch on a test batch.

    The ONNX graph takes float32 ``input`` [N, 3, H, W] and returns ``heatmaps`` [N, K, H/4, W/4];
    N is dynamic. Raises ``StudioError`` when the export fails the checker or the parity test.

    ``auto`` uses PyTorch's TorchScript exporter, about ten times faster than the ``torch.export``
    based one on HRNet (1.3 s against 15 s on a 2-core CPU), and falls back to the latter
    where the former fails or is gone. Either way the parity check below guards the result.
    """
    import onnx

    dest = Path(dest)
    width, height = input_size
    model = model.eval().float().cpu()
    example = torch.randn(2, 3, height, width)
    if exporter not in EXPORTERS:
        raise StudioError(f"unknown ONNX exporter {exporter!r}: use {', '.join(EXPORTERS)}")
    with atomic_path(dest) as part:
        try:
            with _quiet():
                if exporter in ("auto", "torchscript"):
                    try:
                        _torchscript_export(model, example, part, opset)
                    except OSError:
                        raise
                    except Exception:
                        if exporter == "torchscript":
                            raise
                        _dynamo_export(model, example, part, opset)
                else:
                    _dynamo_export(model, example, part, opset)
            onnx.checker.check_model(str(part), full_check=True)
            max_diff = _parity(model, part, (height, width))
        except (StudioError, OSError):
            raise  # OSError: the atomic writer names the file and the cause
        except Exception as exc:
            raise StudioError(f"ONNX export failed: {type(exc).__name__}: {first_line(exc)}") from None
    return max_diff


def _torchscript_export(model: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    torch.onnx.export(
        model, (example,), str(path), dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
    )


def _dynamo_export(model: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.onnx.export(
        model, (example,), str(path), dynamo=True, opset_version=opset, external_data=False,
        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_shapes=({0: batch},),
    )


def _parity(model: torch.nn.Module, path: Path, hw: tuple[int, int]) -> float:
    """Heatmaps from ONNX Runtime (CPU) against PyTorch on batches of 1 and 3. The tolerance is absolute for
    heatmaps up to 1 and relative to their largest value beyond (float32 rounding grows with the values)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst, scale = 0.0, 1.0
    for n in (1, 3):
        x = rng.standard_normal((n, 3, *hw)).astype(np.float32)
        with torch.inference_mode():
            expected = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {INPUT_NAME: x})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
        scale = max(scale, float(np.abs(expected).max()))
    if worst > PARITY_TOLERANCE * scale:
        raise StudioError(f"the ONNX export differs from PyTorch by {worst:.2e} (more than {PARITY_TOLERANCE:g} × "
                          f"{scale:.3g}, the heatmaps' largest value); it was not saved")
    return worst


@contextlib.contextmanager
def _quiet():
    """The exporter narrates to stdout and warns about its internals; a user needs none of it."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


EXPORTS_KEEP = 4  # ONNX exports kept in the cache, the most recently used


def _export_once(model: torch.nn.Module, input_size: tuple[int, int], dest: Path, source_sha256: str) -> float:
    """``export_onnx`` of a checkpoint file's model, made once per file content, input size and exporter: the same
    checkpoint exported again (imported under another name or into another model folder, removed and imported
    again, exported with ``-o``) is copied from the cache (``cache_dir()/onnx``) with its parity figure."""
    from ..atomic_writer import WriteError, copy_file, write_text
    from ..paths import cache_file, mark_used, prune_cache

    cached = cache_file("onnx", f"{source_sha256} {tuple(input_size)} {OPSET} {torch.__version__}", ".onnx")
    figure = cached.with_suffix(".parity")
    try:
        max_diff = float(figure.read_text())
        copy_file(cached, dest)
    except (OSError, ValueError, WriteError):  # not made yet (or only half of it survived): made now
        pass
    else:
        mark_used(cached, figure)
        return max_diff
    max_diff = export_onnx(model, input_size, dest)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        copy_file(dest, cached)
        write_text(figure, repr(max_diff))
        prune_cache(cached.parent, 2 * EXPORTS_KEEP)
    except (OSError, WriteError):  # a cache that cannot be written only costs time next time
        pass
    return max_diff


def export_registered(registry, record, dest: Path | None = None):
    """Export a registered .pth model to ONNX, with its metadata beside it.

    Into the model folder by default (registered as ``NAME.onnx``, linked to its source by
    ``derived_from``); to ``dest`` when given. Returns (record or path, max heatmap difference).
    """
    from dataclasses import replace

    from .checkpoints import load_pose_model
    from .download import file_sha256
    from .metadata import ModelMetadata, now_iso

    if record.format != "pth" or record.kind != "pose":
        raise StudioError(f"{record.name} is not an HRNet .pth model; only those can be exported to ONNX")
    size = tuple(record.input_size) if record.input_size else None
    model, spec = load_pose_model(record.path, input_size=size)
    in_folder = dest is None
    dest = Path(dest) if dest else registry.folder / f"{record.name}.onnx"
    if dest.suffix.lower() != ".onnx":
        raise StudioError(f"the ONNX file name must end in .onnx: {dest}")
    max_diff = _export_once(model, spec.input_size, dest, file_sha256(record.path))
    base = record.metadata or ModelMetadata(name=record.name, file=record.path.name)
    meta = replace(base, name=dest.name if in_folder else dest.stem, file=dest.name, format="onnx",
                   source="onnx-export", builtin=None, derived_from=record.name,
                   derived_sha256=file_sha256(record.path),
                   input_size=list(spec.input_size),
                   num_joints=spec.num_joints, arch=spec.arch, size_bytes=dest.stat().st_size, sha256=None,
                   created=now_iso(), notes=[f"exported with opset {OPSET}; max heatmap difference to PyTorch {max_diff:.1e}"])
    if meta.keypoints is None:
        from .metadata import keypoints_to_dict

        meta.keypoints = keypoints_to_dict(spec.keypoints)
    if in_folder:
        return registry.add(dest, meta), max_diff
    meta.write(dest.parent)
    return dest, max_diff
