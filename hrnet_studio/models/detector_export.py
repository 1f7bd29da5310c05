"""A YOLO detector exported to ONNX once, by Ultralytics' own exporter, and cached beside its ``.pt``.

On the CPU, ONNX Runtime runs the detector faster than PyTorch does (7% at 640 px, 27% at 320 px: yolo11n-pose
on the two-person gym clip, 2-core CPU) and with the thread budget's own session settings. The export of
``NAME.pt`` (dynamic input size) lives in ``NAME.exports/detector.onnx`` (a folder the model list does not
show), with ``detector.json`` recording the sha256 of the ``.pt`` it came from: a replaced ``.pt`` never runs
a stale export, it is exported again. For a ``.pt`` outside the model folder, the export goes to the user's
cache folder instead. The ``.pt`` is unpickled for the export under the same restrictions as for running it
(``ultralytics_files.py``).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from ..atomic_writer import commit, make_folder, write_json
from ..errors import DetectorError, UnsafeFileError, first_line


def export_folder(weights: Path) -> Path:
    """Where the exports of ``weights`` live: beside it in the model folder (which HRNet Studio owns); for a file
    anywhere else, in the user's cache folder, so that nothing is written among the user's own files."""
    import os

    from ..paths import cache_dir, models_dir
    from .download import sha256_of

    if weights.resolve().parent == models_dir().resolve() and os.access(weights.parent, os.W_OK):
        return weights.parent / f"{weights.stem}.exports"
    return cache_dir() / "detector-exports" / f"{weights.stem}-{sha256_of(weights)[:16]}"


def onnx_detector(weights: str | Path, trust: bool = False,
                  say: Callable[[str], None] | None = None) -> tuple[str, Path]:
    """(task, path) of the ONNX export of the Ultralytics ``.pt`` detector ``weights``, made now when missing or made
    from another version of the file. Its input size is free (the detector's size option and the frame's aspect
    ratio choose it at run time, as with PyTorch). ``task``: "detect" or "pose" (their outputs differ). Raises
    ``DetectorError`` in one line."""
    from .download import sha256_of

    weights = Path(weights)
    if weights.suffix.lower() != ".pt":
        raise DetectorError(f"only an Ultralytics .pt detector can be exported to ONNX, not {weights.name}")
    source_sha256 = sha256_of(weights)
    folder = export_folder(weights)
    onnx_file, record = folder / "detector.onnx", folder / "detector.json"
    if onnx_file.exists() and record.exists():
        try:
            known = json.loads(record.read_text())
            if known.get("source_sha256") == source_sha256 and known.get("task"):
                return known["task"], onnx_file
        except (OSError, ValueError):
            pass  # an unreadable record: export again
    if say:
        say(f"exporting detector {weights.name} to ONNX (once; kept in {folder})")
    make_folder(folder)
    try:
        task = _export(weights, trust, onnx_file)
    except BaseException:
        if not any(folder.iterdir()):  # nothing was exported: no empty folder left beside the model
            folder.rmdir()
        raise
    import ultralytics

    write_json(record, {"source": weights.name, "source_sha256": source_sha256, "task": task,
                        "exporter": f"ultralytics {ultralytics.__version__}"}, indent=1)
    return task, onnx_file


def _export(weights: Path, trust: bool, dest: Path) -> str:
    """Ultralytics writes its export beside the file it loaded: load a copy in a scratch folder next to ``dest``, so
    a half-written export never has the real name, and move the finished file into place."""
    from .ultralytics_files import open_yolo

    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".export-") as scratch:
        copy = Path(scratch) / weights.name
        shutil.copyfile(weights, copy)
        try:
            model = open_yolo(copy, task=None, trust=trust)
            with warnings.catch_warnings():  # the exporter's deprecation notes are for Ultralytics, not our users
                warnings.simplefilter("ignore")
                exported = Path(model.export(format="onnx", imgsz=640, simplify=False, dynamic=True,
                                             verbose=False))
        except (DetectorError, UnsafeFileError):
            raise
        except Exception as exc:  # Ultralytics' exporter raises many types; all mean "no export"
            raise DetectorError(f"cannot export detector {weights.name} to ONNX: {first_line(exc)}") from None
        commit(exported, dest)  # flushed to disk, then renamed: whole or not at all
        return str(model.task)
