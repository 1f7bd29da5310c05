"""Training recipes: YAML files (the top-level ``training/`` folder) plus ``key=value`` overrides."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import StudioError
from ..models.spec import ENCODINGS


@dataclass
class DataSection:
    format: str = "coco"  # "coco" (any COCO-format keypoints file) or "mpii" (official json)
    train_annotations: str = ""
    train_images: str = ""
    val_annotations: str = ""
    val_images: str = ""
    val_detections: str = ""  # COCO detection results for validation boxes; GT boxes when empty
    val_pckh_gt: str = ""  # MPII head sizes (gt_valid.mat or valid.h5); empty: the one beside val_annotations


@dataclass
class ModelSection:
    base: str = ""  # a registered model name or a checkpoint to start from; empty: train from scratch
    arch: str = "hrnet_w32"  # used when training from scratch
    input_size: list[int] = field(default_factory=lambda: [192, 256])  # width, height
    sigma: float = 2.0
    encoding: str = "official"  # training targets: "official" (rounded, as the official HRNet), "unbiased" or "udp"


@dataclass
class AugmentSection:
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    flip: bool = True
    half_body_prob: float = 0.3
    half_body_min_joints: int = 8


@dataclass
class OptimSection:
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "step"  # "step" or "cosine"
    milestones: list[int] = field(default_factory=lambda: [170, 200])
    factor: float = 0.1


@dataclass
class Recipe:
    name: str = "hrnet"
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    augment: AugmentSection = field(default_factory=AugmentSection)
    optim: OptimSection = field(default_factory=OptimSection)
    epochs: int = 210
    batch_size: int = 32
    workers: int = 2
    device: str = "auto"
    amp: bool = True  # on CUDA only
    seed: int = 0
    flip_test: bool = True
    output: str = "runs"
    max_train_batches: int = 0  # 0 = all; a cap for quick trials
    register_as: str = ""  # model name in the registry when done; empty: <name>

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SECTIONS = {"data": DataSection, "model": ModelSection, "augment": AugmentSection, "optim": OptimSection}


def _build(cls, values: dict, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise StudioError(f"{where}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    kwargs = {}
    for key, value in values.items():
        section = SECTIONS.get(key) if cls is Recipe else None
        if section is not None:
            if not isinstance(value, dict):
                raise StudioError(f"{where}: {key} must be a mapping")
            value = _build(section, value, f"{where} {key}")
        kwargs[key] = value
    return cls(**kwargs)


def load_recipe(path: str | Path | None = None, overrides: list[str] | None = None) -> Recipe:
    """A recipe from YAML (or the defaults), then ``section.key=value`` overrides (values parsed as YAML)."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError:
            raise StudioError(f"recipe not found: {path}") from None
        except yaml.YAMLError as exc:
            raise StudioError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise StudioError(f"{path.name} must be a mapping of settings")
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise StudioError(f"override {item!r} must look like section.key=value (e.g. optim.lr=1e-4)")
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise StudioError(f"override {item!r}: {part} is not a section")
        target[parts[-1]] = yaml.safe_load(raw)
    recipe = _build(Recipe, data, str(path.name) if path else "recipe")
    if recipe.model.encoding not in ENCODINGS:
        raise StudioError(f"unknown target encoding {recipe.model.encoding!r}: use {', '.join(ENCODINGS)}")
    return recipe
