"""``hrnet-studio models ...``: list, pull, import, remove, export-onnx and quantize."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import StudioError
from ..models.registry import ModelRecord, ModelRegistry, metrics_text
from .common import say


def add_models_parser(sub, parse_size) -> None:
    models = sub.add_parser("models", help="list, download, import, remove and export models",
                            description="Manage pose models and person detectors: the built-in model zoo and your "
                                        "own files in the model folder.")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = msub.add_parser("list", help="table of every known model")
    ls.set_defaults(func=cmd_list)

    pull = msub.add_parser("pull", help="download a zoo model (progress, resume, sha256 check)")
    pull.add_argument("name", help="zoo model name, e.g. hrnet_w32_coco_256x192")
    pull.add_argument("--timeout", type=float, default=20.0, help="seconds without data before giving up (default 20)")
    pull.set_defaults(func=cmd_pull)

    imp = msub.add_parser("import", help="copy a .pth/.onnx/.pt file into the model folder and describe it")
    imp.add_argument("path", type=Path, help="official / mmpose / fine-tuned HRNet checkpoint, ONNX file or YOLO .pt")
    imp.add_argument("--name", help="model name (default: the file name without extension)")
    imp.add_argument("--input-size", type=parse_size, help="network input WxH when the file does not say it")
    imp.add_argument("--force", action="store_true", help="replace an installed model of the same name")
    imp.set_defaults(func=cmd_import)

    rm = msub.add_parser("remove", help="delete an installed model and its metadata")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_remove)

    ex = msub.add_parser("export-onnx", help="export an HRNet model to ONNX (dynamic batch, checked against PyTorch)")
    ex.add_argument("name", help="installed model name or a checkpoint path")
    ex.add_argument("-o", "--output", type=Path, help="write here instead of registering it in the model folder")
    ex.set_defaults(func=cmd_export_onnx)

    q = msub.add_parser("quantize", help="make an INT8 version of a pose model, calibrated on your footage and "
                        "kept only if it agrees with fp32",
                        description="ONNX Runtime static quantization (QDQ, per-channel) calibrated on person crops "
                                    "from your videos or image folders. A guard compares INT8 with fp32 keypoints on "
                                    "held-out crops (PCK@0.05 agreement, score correlation) and refuses a model that "
                                    "strays. Run it with --precision int8 (or Precision: INT8 in the app).")
    q.add_argument("name", help="installed pose model name")
    q.add_argument("--calib", type=Path, action="append", metavar="VIDEO|FOLDER",
                   help="footage with people to calibrate on (repeatable; default: the sample videos of "
                        "$HRNET_STUDIO_ASSETS/data/videos when set)")
    q.add_argument("--detector", help="person detector for the crops (default: the installed one; 'none': full frame)")
    q.add_argument("--force", action="store_true", help="keep the INT8 model even if it fails the guard "
                   "(marked unguarded)")
    q.set_defaults(func=cmd_quantize)


def human_size(n: int | None) -> str:
    if not n:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "kB") or n >= 100 else f"{n:.1f} {unit}"
        n /= 1000
    return "-"


def table_rows(records: list[ModelRecord]) -> list[list[str]]:
    rows = []
    for r in records:
        size = r.input_size
        installed = "broken" if r.problem else ("yes" if r.installed else "no")
        joints = r.num_joints
        rows.append([
            r.name, r.kind, r.arch or "-", f"{size[0]}x{size[1]}" if size else "-",
            str(joints) if joints else "-", installed,
            ("" if r.installed else "~") + human_size(r.size_bytes) if r.size_bytes else "-",
            r.source + (", unguarded" if r.source == "int8" and not r.metadata.guarded else ""),
            metrics_text(r.metrics),
        ])
    return rows


def cmd_list(args: argparse.Namespace) -> int:
    registry = ModelRegistry()
    records = registry.records()
    header = ["NAME", "KIND", "ARCH", "INPUT", "JOINTS", "INSTALLED", "SIZE", "FROM", "METRICS"]
    rows = table_rows(records)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\nmodel folder: {registry.folder}")
    for r in records:
        if r.problem:
            print(f"{r.path.name}: {r.problem}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    registry = ModelRegistry()
    existing = registry.find(args.name)
    if existing is not None and existing.installed:
        say(f"{existing.name} is already installed: {existing.path}")
        return 0
    entry = registry.zoo.get(args.name)
    with tqdm(total=entry.size_bytes if entry else None, unit="B", unit_scale=True, unit_divisor=1024,
              desc=args.name, file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(done: int, total: int | None) -> None:
            if total:
                bar.total = total
            bar.update(done - bar.n)

        try:
            record = registry.pull(args.name, progress, timeout=args.timeout)
        except KeyboardInterrupt:
            bar.close()
            say("interrupted: the part downloaded so far is kept, and the same command resumes it")
            return 130
    say(f"installed {record.name} ({human_size(record.size_bytes)}, {registry.zoo[args.name].checksum_note}) "
        f"in {record.path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    registry = ModelRegistry()
    record = registry.import_file(args.path, args.name, args.input_size, args.force)
    meta = record.metadata
    if record.kind == "detector":
        say(f"imported person detector {record.name} ({meta.format}) as {record.path}")
    else:
        kps = meta.keypoint_set()
        origin = f" = zoo model {meta.builtin}" if meta.builtin else ""
        say(f"imported {record.name}{origin}: {meta.format} {meta.arch}, {meta.num_joints} joints "
            f"({kps.name if kps else '?'}), input {meta.input_size[0]}x{meta.input_size[1]} -> {record.path}")
    for note in meta.notes:
        say(f"note: {note}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    removed = ModelRegistry().remove(args.name)
    say(f"removed {args.name}: " + ", ".join(p.name for p in removed))
    return 0


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from ..models.onnx_export import export_registered

    registry = ModelRegistry()
    record = registry.resolve(args.name)
    if args.output is None and record.path.parent.resolve() != registry.folder.resolve():
        raise StudioError(f"{record.path} is not in the model folder: import it first "
                          f"(`hrnet-studio models import {record.path}`) or pass -o FILE.onnx")
    say(f"exporting {record.name} to ONNX (dynamic batch)...")
    result, max_diff = export_registered(registry, record, args.output)
    path = result if isinstance(result, Path) else result.path
    say(f"wrote {path}: onnx.checker passed; heatmaps match PyTorch within {max_diff:.1e}")
    return 0


def default_calibration() -> list[Path]:
    """The sample videos of the assets folder, when ``$HRNET_STUDIO_ASSETS`` names one."""
    import os

    assets = os.environ.get("HRNET_STUDIO_ASSETS")
    folder = Path(assets) / "data" / "videos" if assets else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mp4", ".avi", ".mov", ".mkv"))


def cmd_quantize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..inference.factory import open_detector, resolve_detector
    from ..inference.options import PipelineChoice
    from ..inference.quantize import quantize_registered

    sources = args.calib or default_calibration()
    if not sources:
        raise StudioError("give footage with people to calibrate on: --calib VIDEO|FOLDER (repeatable)")
    for source in sources:
        if not source.exists():
            raise StudioError(f"calibration footage not found: {source}")
    registry = ModelRegistry()
    record = registry.resolve(args.name)
    detector_path, sha256 = resolve_detector(args.detector, registry, say)
    detector = open_detector(PipelineChoice(detector=detector_path, detector_sha256=sha256), say=say)
    with tqdm(total=None, unit="frame", desc="calibration frames", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
            if done >= total:
                bar.close()  # the messages that follow start on a line of their own

        int8, report = quantize_registered(registry, record, sources, detector, force=args.force, say=say,
                                           progress=progress)
    state = "" if report.passed else " (UNGUARDED: it failed the guard)"
    run = (f"--{record.landmarks}-model {record.name} --part-precision int8" if record.landmarks
           else f"--precision int8 --model {record.name}")
    say(f"registered {int8.name}{state}: run it with {run}")
    return 0
