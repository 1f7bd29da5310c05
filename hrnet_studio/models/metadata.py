"""The small JSON file written beside every model in the model folder.

``pose_hrnet_w32_256x192.pth`` is described by ``pose_hrnet_w32_256x192.pth.json``: what the
network is (arch, input size, keypoint set with names, flip pairs and skeleton), where it came
from (built-in zoo entry, import, export, fine-tuning), its training data and metrics. The CLI,
the GUI and training all read and write this one format.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..atomic_writer import write_text
from ..errors import StudioError
from ..skeletons import BUILTIN_SETS, KeypointSet, keypoint_set_for
from .spec import ENCODINGS, Normalization, PoseModelSpec, heatmap_size_for

METADATA_VERSION = 1
POSE = "pose"
DETECTOR = "detector"


def metadata_path(model_file: Path) -> Path:
    return model_file.with_name(model_file.name + ".json")


def keypoints_to_dict(kps: KeypointSet) -> dict[str, Any]:
    return {
        "name": kps.name,
        "names": list(kps.names),
        "flip_pairs": [list(p) for p in kps.flip_pairs],
        "skeleton": [list(e) for e in kps.edges],
        "sigmas": list(kps.sigmas),
    }


def keypoints_from_dict(data: dict[str, Any]) -> KeypointSet:
    """A keypoint set from metadata; the built-in sets are returned as themselves when names match."""
    names = tuple(str(n) for n in data["names"])
    builtin = BUILTIN_SETS.get(data.get("name", ""))
    if builtin is not None and builtin.names == names:
        return builtin
    return KeypointSet(
        name=str(data.get("name") or f"custom{len(names)}"),
        names=names,
        flip_pairs=tuple((int(a), int(b)) for a, b in data.get("flip_pairs", [])),
        edges=tuple((int(a), int(b)) for a, b in data.get("skeleton", [])),
        sigmas=tuple(float(s) for s in data.get("sigmas", [])),
    )


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class ModelMetadata:
    """Everything the app knows about one model file besides its weights."""

    name: str
    file: str  # file name inside the model folder
    kind: str = POSE  # "pose" or "detector"
    format: str = "pth"  # "pth", "onnx" or "ultralytics"
    arch: str = ""
    input_size: list[int] = field(default_factory=list)  # [width, height]
    num_joints: int = 0
    keypoints: dict[str, Any] | None = None
    normalization: dict[str, Any] = field(default_factory=lambda: Normalization().to_dict())
    # the training targets' encoding: "official", "unbiased" or "udp" (inference/codec/heatmap_codec.py)
    encoding: str = "official"
    source: str = "import"  # "zoo", "import", "onnx-export", "int8", "fine-tune"
    builtin: str | None = None  # the zoo entry this file installs
    derived_from: str | None = None  # e.g. the .pth an ONNX file was exported from
    derived_sha256: str | None = None  # ... and that file's sha256, so a replaced source is never mistaken for it
    precision: str = "fp32"  # "fp32" or "int8" (ONNX Runtime static quantization, inference/quantize.py)
    guarded: bool | None = None  # int8 only: passed the accuracy guard (False: kept with --force)
    training_data: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    sha256: str | None = None
    size_bytes: int = 0
    created: str = field(default_factory=now_iso)
    notes: list[str] = field(default_factory=list)
    version: int = METADATA_VERSION

    @property
    def heatmap_size(self) -> list[int]:
        return list(heatmap_size_for(self.input_size)) if self.input_size else []

    def normalization_spec(self) -> Normalization:
        """The normalisation the network expects (checked when the file is read)."""
        return Normalization.from_dict(self.normalization)

    def keypoint_set(self) -> KeypointSet | None:
        return keypoints_from_dict(self.keypoints) if self.keypoints else None

    def spec(self, path: Path) -> PoseModelSpec:
        """The pipeline's view of this description (``PoseModelSpec``) for the file ``path`` that runs: every runtime
        view of a model is derived here or in ``apply_to``, never assembled field by field elsewhere."""
        spec = PoseModelSpec(self.arch, self.num_joints, (int(self.input_size[0]), int(self.input_size[1])),
                             keypoint_set_for(self.num_joints), path)
        return self.apply_to(spec)

    def apply_to(self, spec: PoseModelSpec) -> PoseModelSpec:
        """What travels with the model onto a spec made from its weights: its keypoint names, flip pairs and skeleton
        (fine-tuned models carry their own), the normalisation it was trained with and its targets' encoding."""
        kps = self.keypoint_set()
        if kps is not None and kps.num_joints == spec.num_joints:
            spec.keypoints = kps
        spec.normalization = self.normalization_spec()
        spec.encoding = self.encoding
        return spec

    def to_json(self) -> str:
        data = asdict(self)
        data["heatmap_size"] = self.heatmap_size
        return json.dumps(data, indent=2)

    def write(self, folder: Path) -> Path:
        """Write atomically beside the model file."""
        return write_text(metadata_path(folder / self.file), self.to_json() + "\n")

    @classmethod
    def read(cls, path: Path) -> ModelMetadata:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("heatmap_size", None)
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            meta = cls(**known)
        except (OSError, ValueError, TypeError) as exc:
            raise StudioError(f"model metadata {path} is unreadable ({type(exc).__name__}): fix or delete it") from None
        if meta.keypoints is not None:
            try:
                keypoints_from_dict(meta.keypoints)
            except (KeyError, TypeError, ValueError):
                raise StudioError(f"model metadata {path} has a malformed keypoint set: fix or delete it") from None
        try:
            Normalization.from_dict(meta.normalization)
        except (AttributeError, TypeError, ValueError):
            raise StudioError(f"model metadata {path} has a malformed normalisation: fix or delete it") from None
        if meta.encoding not in ENCODINGS:
            raise StudioError(f"model metadata {path} names an unknown target encoding {meta.encoding!r} "
                              f"(known: {', '.join(ENCODINGS)}): fix or delete it")
        return meta

