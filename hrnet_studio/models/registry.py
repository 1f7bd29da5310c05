"""The model registry: one place that knows every model the CLI, the GUI and training can use.

Two kinds of entries:

* the **zoo** (``resources/model_zoo.json``): official HRNet COCO/MPII models and Ultralytics
  detectors, with where to download them and their checksums; installed once pulled;
* every **file in the user's model folder** (``$HRNET_STUDIO_MODELS`` or the platform's user data
  dir): imported checkpoints, ONNX exports, fine-tuned models, each described by the metadata JSON
  beside it (see ``metadata.py``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..atomic_writer import copy_file, write_json
from ..errors import StudioError
from ..paths import models_dir, ort_cache_folder
from ..skeletons import BUILTIN_SETS, LANDMARK_SETS
from .detector_export import export_folder
from .download import DownloadError, Progress, download, file_sha256, sha256_of
from .identify import identify
from .metadata import DETECTOR, POSE, ModelMetadata, metadata_path
from .ultralytics_files import load_restricted
from .zoo import ZooEntry, load_zoo

MODEL_SUFFIXES = (".pth", ".pt", ".onnx")
DEFAULT_POSE_MODEL = "hrnet_w32_coco_256x192"
LEGACY_DEFAULT_FILES = ("pose_hrnet_w32_256x192.pth",)
DEFAULT_DETECTORS = ("yolo11n-pose", "yolo11n")
PINNED_DIGESTS = "zoo_sha256.json"  # in the model folder: source URL → the full sha256 of the file first downloaded
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}$")
METRIC_LABELS = {"coco_ap": "AP", "coco_ar": "AR", "mpii_pckh": "PCKh", "pck": "PCK", "nme": "NME", "pck@0.2": "PCK@0.2",
                 "auc": "AUC", "epe": "EPE (px)", "int8_speedup": "INT8 speed vs fp32", "body_ap": "body AP",
                 "foot_ap": "foot AP", "face_ap": "face AP", "hand_ap": "hand AP", "left_hand_ap": "left hand AP",
                 "right_hand_ap": "right hand AP", "wholebody_ap": "whole AP", "wholebody_ar": "whole AR"}


def metrics_text(metrics: dict[str, float]) -> str:
    """``AP 0.744, AR 0.798`` (``NME 4.06%`` for a face model's NME); ``-`` when there are none."""
    def one(key: str, value: float) -> str:
        label = METRIC_LABELS.get(key, key)
        if key == "nme":
            return f"{label} {100 * value:.2f}%"
        if key == "int8_speedup":
            return f"{label} {value:.2f}x"
        return f"{label} {value:.3f}" if value <= 1 else f"{label} {value:.1f}"

    return ", ".join(one(k, v) for k, v in metrics.items()) or "-"


@dataclass
class ModelRecord:
    """One model as the user sees it: a zoo entry (installed or not) or a file in the model folder."""

    name: str
    kind: str
    path: Path | None  # None when not installed
    metadata: ModelMetadata | None
    zoo: ZooEntry | None = None
    problem: str | None = None  # why a file in the folder could not be identified

    @property
    def installed(self) -> bool:
        return self.path is not None and self.path.exists()

    @property
    def usable(self) -> bool:
        return self.installed and self.problem is None

    @property
    def arch(self) -> str:
        return (self.metadata.arch if self.metadata else "") or (self.zoo.arch if self.zoo else "")

    @property
    def input_size(self) -> tuple[int, int] | None:
        if self.metadata and self.metadata.input_size:
            return tuple(self.metadata.input_size)
        return self.zoo.input_size if self.zoo else None

    @property
    def num_joints(self) -> int | None:
        if self.metadata and self.metadata.num_joints:
            return self.metadata.num_joints
        if self.zoo and self.zoo.keypoints:
            return BUILTIN_SETS[self.zoo.keypoints].num_joints
        return None

    @property
    def keypoint_set(self) -> str:
        """The name of its keypoint set (``coco17``, ``face68``, ``hand21``…; ``custom<K>`` for others), or ""."""
        if self.metadata and self.metadata.keypoints:
            return str(self.metadata.keypoints.get("name", ""))
        return self.zoo.keypoints if self.zoo else ""

    @property
    def landmarks(self) -> str | None:
        """``face`` or ``hand`` for a face or hand landmark model (the whole-body stage's), None for a body model."""
        return LANDMARK_SETS.get(self.keypoint_set)

    @property
    def size_bytes(self) -> int | None:
        if self.installed:
            return self.path.stat().st_size
        return self.zoo.size_bytes if self.zoo else None

    @property
    def metrics(self) -> dict[str, float]:
        """An installed file's own metrics (a zoo entry's published ones only follow a file it recognised by sha256);
        the catalogue's for a model not installed yet."""
        if self.installed:
            return self.metadata.metrics if self.metadata else {}
        return self.zoo.metrics if self.zoo else {}

    @property
    def source(self) -> str:
        """``official``, ``zoo``, ``fine-tune``, ``onnx-export``, ``int8`` or ``own`` (any other file the user
        brought)."""
        source = self.metadata.source if self.metadata and self.installed else ("zoo" if self.zoo else "import")
        return source if source in ("official", "zoo", "fine-tune", "onnx-export", "int8") else "own"

    @property
    def origin(self) -> str:
        """Where the file comes from, in words."""
        if self.source == "int8":
            return "INT8 of " + (self.metadata.derived_from or "?") + ("" if self.metadata.guarded else ", unguarded")
        return {"official": "official checkpoint", "zoo": "model zoo", "fine-tune": "fine-tuned here",
                "onnx-export": "ONNX export", "own": "your own file"}[self.source]

    @property
    def sha256(self) -> str | None:
        """The file's digest as recorded when it was installed (verified against the catalogue for zoo files)."""
        return self.metadata.sha256 if self.metadata and self.installed else None

    @property
    def format(self) -> str:
        return self.metadata.format if self.metadata else ("ultralytics" if self.kind == DETECTOR else "pth")


class ModelRegistry:
    def __init__(self, folder: Path | None = None, zoo: dict[str, ZooEntry] | None = None):
        self.folder = Path(folder) if folder else models_dir()
        self.zoo = zoo if zoo is not None else load_zoo()

    # ----- reading -------------------------------------------------------------------------
    def records(self) -> list[ModelRecord]:
        """Zoo entries first (catalogue order), then the other files of the model folder (by name)."""
        records: list[ModelRecord] = []
        zoo_files = set()
        for entry in self.zoo.values():
            path = self.folder / entry.filename
            zoo_files.add(entry.filename)
            if not path.exists():
                records.append(ModelRecord(entry.name, entry.kind, None, None, entry))
                continue
            try:
                meta = self._read_metadata(path) or self._describe_unregistered(path, entry)
            except StudioError as exc:
                records.append(ModelRecord(entry.name, entry.kind, path, None, entry, problem=str(exc)))
                continue
            records.append(ModelRecord(entry.name, entry.kind, path, meta, entry))
        if self.folder.is_dir():
            for path in sorted(self.folder.iterdir()):
                if path.name in zoo_files or path.name.startswith(".") or path.suffix.lower() not in MODEL_SUFFIXES:
                    continue
                records.append(self._record_for_file(path))
        return records

    def _read_metadata(self, path: Path) -> ModelMetadata | None:
        meta_file = metadata_path(path)
        return ModelMetadata.read(meta_file) if meta_file.exists() else None

    def _describe_unregistered(self, path: Path, entry: ZooEntry) -> ModelMetadata:
        """A file under a zoo entry's name with no metadata beside it: the entry's only if its sha256 says so."""
        digest = file_sha256(path)  # listed often: hashed once per version of the file
        origin = entry.recognises(digest)
        if origin is not None:
            return entry.metadata(path.stat().st_size, digest, origin)
        meta = identify(path, entry.name, entry.input_size)
        meta.sha256 = digest
        return meta

    def _record_for_file(self, path: Path) -> ModelRecord:
        try:
            meta = self._read_metadata(path) or identify(path)
        except StudioError as exc:
            return ModelRecord(path.stem, POSE, path, None, problem=str(exc))
        return ModelRecord(meta.name, meta.kind, path, meta)

    def find(self, name: str, records: list[ModelRecord] | None = None) -> ModelRecord | None:
        """By model name, or by file name in the model folder (in ``records`` when already listed). A file with its
        metadata beside it comes before one without: an export being written (``NAME.onnx`` is renamed into place
        just before its ``NAME.onnx.json``) is named after its stem for that moment and must not stand in for the
        model it was made from."""
        matches = [r for r in (self.records() if records is None else records)
                   if r.name == name or (r.path is not None and r.path.name == name)]
        registered = [r for r in matches if r.path is None or metadata_path(r.path).exists()]
        return (registered or matches or [None])[0]

    def exports_of(self, record: ModelRecord) -> list[ModelRecord]:
        return [other for other in self.records() if other.metadata and other.metadata.format == "onnx"
                and other.metadata.derived_from == record.name and other.installed]

    def onnx_export_of(self, record: ModelRecord, precision: str = "fp32") -> ModelRecord | None:
        """The ONNX export (``precision`` fp32 or int8) made from exactly this file as it is on disk now (same sha256:
        a file replaced by hand never runs a stale export), if there is one."""
        exports = [e for e in self.exports_of(record) if e.usable and e.metadata.precision == precision]
        if not exports:
            return None
        digest = file_sha256(record.path)
        return next((e for e in exports if e.metadata.derived_sha256 == digest), None)

    def default_pose(self) -> ModelRecord | None:
        records = self.records()  # the folder is read (and undescribed files identified) once
        preferred = [self.find(name, records) for name in (DEFAULT_POSE_MODEL, *LEGACY_DEFAULT_FILES)]
        installed = [r for r in records if r.kind == POSE and r.usable]
        installed.sort(key=lambda r: r.metadata is not None and r.metadata.source in ("onnx-export", "int8"))  # a
        # model before the ONNX and INT8 versions made from it (the runtime picks those itself)
        return next((r for r in preferred + installed if r is not None and r.usable), None)

    def default_detector(self) -> ModelRecord | None:
        records = self.records()
        found = (self.find(name, records) for name in DEFAULT_DETECTORS)
        return next((r for r in found if r is not None and r.usable), None)

    def resolve(self, ref: str | Path, kind: str = POSE) -> ModelRecord:
        """A model the user named: a registered name or a path to a file. Explains what to do when it is neither."""
        path = Path(ref)
        record = self.find(str(ref))
        if record is None and path.exists():
            try:
                meta = identify(path)
            except StudioError:
                meta = None
            return ModelRecord(path.stem, meta.kind if meta else kind, path, meta)
        if record is None:
            if path.suffix.lower() in MODEL_SUFFIXES or os.sep in str(ref):
                raise StudioError(f"model file not found: {ref}")
            raise StudioError(f"no model named {ref!r}: `hrnet-studio models list` shows the names, "
                              f"`hrnet-studio models import FILE` adds a file")
        if not record.installed:
            raise StudioError(f"model {record.name} is not installed: run `hrnet-studio models pull {record.name}`")
        if record.problem:
            raise StudioError(record.problem)
        return record

    # ----- changing ------------------------------------------------------------------------
    def pull(self, name: str, progress: Progress | None = None, timeout: float = 20.0) -> ModelRecord:
        """Download a zoo model, verify it, check it loads as what the catalogue says, and register it."""
        entry = self.zoo.get(name)
        if entry is None:
            raise StudioError(f"{name!r} is not in the model zoo: `hrnet-studio models list` shows what can be pulled")
        dest = self.folder / entry.filename
        if dest.exists():
            record = self.find(name)
            return record
        errors = []
        for source in entry.sources:
            try:
                download(source.url, dest, source.sha256, progress, timeout)
                break
            except DownloadError as exc:
                errors.append(str(exc))
        else:
            raise StudioError(errors[0] if len(errors) == 1 else "every source failed: " + " | ".join(errors))
        try:
            digest = sha256_of(dest)
            self._check_pinned(entry, source, digest, dest)
            meta = entry.metadata(dest.stat().st_size, digest)
            if entry.kind == POSE:
                self._check_fits(dest, entry)
            meta.write(self.folder)
        except StudioError:
            dest.unlink(missing_ok=True)
            raise
        return self.find(name)

    def _check_pinned(self, entry: ZooEntry, source, digest: str, path: Path) -> None:
        """A catalogue that publishes only a prefix of a file's sha256 (mmpose's file names: 8 hex digits, 32 bits)
        checks little: the full sha256 of the file first downloaded is recorded (``PINNED_DIGESTS``) and every
        later download of it must match it in full."""
        if source.sha256 and len(source.sha256) == 64:
            return  # the catalogue's own full sha256 was checked
        pins_file = self.folder / PINNED_DIGESTS
        try:
            pins = json.loads(pins_file.read_text(encoding="utf-8")) if pins_file.exists() else {}
        except (OSError, ValueError):
            pins = {}
        known = pins.get(source.url)
        if known is None:
            pins[source.url] = digest
            write_json(pins_file, pins, indent=1)
        elif known != digest:
            raise StudioError(f"{entry.name} downloaded, but it is not the file first downloaded from {source.url} "
                              f"(sha256 {digest[:12]}…, recorded {known[:12]}…): the file was deleted")

    def _check_fits(self, path: Path, entry: ZooEntry) -> None:
        found = identify(path, entry.name, entry.input_size)
        expected = (entry.arch, BUILTIN_SETS[entry.keypoints].num_joints)
        if (found.arch, found.num_joints) != expected:
            raise StudioError(f"{path.name} downloaded, but it holds {found.arch} with {found.num_joints} joints, "
                              f"not {expected[0]} with {expected[1]}: the file was deleted")

    def import_file(self, source: Path, name: str | None = None, input_size: tuple[int, int] | None = None,
                    force: bool = False) -> ModelRecord:
        """Copy a model file into the folder and describe it; refuse with the reason what cannot be identified."""
        source = Path(source)
        meta = identify(source, name, input_size)  # raises with the reason before anything is copied
        if meta.format == "ultralytics":
            load_restricted(source)  # refuses a file that holds code, as the detector's loading would
        digest = sha256_of(source)
        match = next(((e, origin) for e in self.zoo.values() if (origin := e.recognises(digest))), None)
        if match is not None:  # the catalogue's file: its published figures follow it, under any name
            entry, origin = match
            if name in (None, entry.name):
                meta.name, meta.builtin = entry.name, entry.name
                if entry.input_size and input_size is None:
                    meta.input_size = list(entry.input_size)
                    meta.notes = []
            meta.source, meta.metrics, meta.training_data = origin, entry.metrics_for(origin), entry.training_data
        elif meta.source in ("zoo", "official"):  # a file cannot make itself official by saying so
            meta.source, meta.metrics = "import", {}
        if not NAME_PATTERN.match(meta.name):
            raise StudioError(f"{meta.name!r} is not a usable model name: use letters, digits, '_', '-', '.' "
                              f"(pass --name)")
        suffix = ".pt" if meta.format == "ultralytics" else source.suffix.lower()
        meta.file = match[0].filename if meta.builtin else f"{meta.name}{suffix}"
        dest = self.folder / meta.file
        existing = self.find(meta.name)
        if (existing is not None and existing.installed) or dest.exists():
            if not force:
                raise StudioError(f"a model named {meta.name} is already installed: pass --name NEW_NAME, or --force "
                                  f"to replace it")
            self.remove(meta.name)
        meta.sha256 = digest
        self.folder.mkdir(parents=True, exist_ok=True)
        copy_file(source, dest)
        try:
            meta.write(self.folder)
        except StudioError:
            dest.unlink(missing_ok=True)  # a model without its description would be listed as something else
            raise
        return self.find(meta.name)

    def add(self, file: Path, meta: ModelMetadata) -> ModelRecord:
        """Put a model made here (a fine-tuned checkpoint, an ONNX export, an INT8 model) in the folder as
        ``meta.file`` (default: the file's own name), replacing a file of that name, and describe it.

        A file outside the folder is copied in atomically; when its description cannot be written, the copy is
        removed again (a model without its description would be listed as something else)."""
        file = Path(file)
        meta.file = meta.file or file.name
        dest = self.folder / meta.file
        copied = file.resolve() != dest.resolve()
        if copied:
            self.folder.mkdir(parents=True, exist_ok=True)
            copy_file(file, dest)
        meta.size_bytes = dest.stat().st_size
        try:
            meta.write(self.folder)
        except StudioError:
            if copied:
                dest.unlink(missing_ok=True)
            raise
        return self.find(meta.name)

    def remove(self, name: str) -> list[Path]:
        record = self.find(name)
        if record is None:
            raise StudioError(f"no model named {name!r} (`hrnet-studio models list` shows the names)")
        if not record.installed:
            raise StudioError(f"model {record.name} is not installed; nothing to remove")
        removed = []
        for model in [record, *self.exports_of(record)]:  # an export of removed weights is stale
            for path in (model.path, metadata_path(model.path)):
                if path.exists():
                    path.unlink()
                    removed.append(path)
            for folder in (ort_cache_folder(model.path), export_folder(model.path)):  # ONNX Runtime's optimized copies, a detector's ONNX export
                if folder.is_dir():
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
        return removed
