"""Training recipes: YAML files (the top-level ``training/`` folder) plus ``key=value`` overrides."""
from __future__ import annotations

import dataclasses
import difflib
import math
import typing
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
    workers: int = -1  # loading processes per training process; -1: sized to the machine (training/loading.py)
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
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def setting_names() -> list[str]:
    """Every setting a recipe or an override can name, as ``section.key`` (or ``key`` at the top)."""
    names = []
    for f in dataclasses.fields(Recipe):
        section = SECTIONS.get(f.name)
        names += [f"{f.name}.{g.name}" for g in dataclasses.fields(section)] if section else [f.name]
    return names


def _unknown(key: str, where: str) -> StudioError:
    names = setting_names()
    near = [n for n in names if n.rsplit(".", 1)[-1] == key.rsplit(".", 1)[-1]] \
        or difflib.get_close_matches(key, names, n=3, cutoff=0.8)
    hint = f"did you mean {' or '.join(near)}?" if near else "see the recipes in training/ for the settings"
    return StudioError(f"{where}: unknown setting {key}: {hint}")


def convert(key: str, value: Any, kind: Any) -> Any:
    """``value`` (from YAML, or an override's text) as ``kind`` (str, int, float, bool or list[int]), or a one-line
    ``StudioError`` naming the key, the value and the type expected. YAML reads ``1e-4`` as text: it becomes 0.0001."""
    def refuse(expected: str) -> StudioError:
        return StudioError(f"{key}={value!r} is not {expected}")

    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE or text in FALSE:
            return text in TRUE
        raise refuse("true or false")
    if kind is int or kind is float:
        expected = "an integer" if kind is int else "a number"
        if isinstance(value, (bool, list, dict)) or value is None:
            raise refuse(expected)
        if kind is int and isinstance(value, int):
            return value
        try:
            number = float(value)
        except ValueError:
            raise refuse(expected) from None
        if not math.isfinite(number) or (kind is int and not number.is_integer()):
            raise refuse(expected)
        return number if kind is float else int(number)
    if kind == list[int]:
        if isinstance(value, list):
            items = value
        elif isinstance(value, str):  # "5,8" or "[5, 8]" as typed
            items = [v for v in value.strip("[] ").split(",") if v.strip()]
        else:
            items = [value]
        try:
            return [convert(key, item, int) for item in items]
        except StudioError:
            raise refuse("a list of integers, e.g. [170, 200]") from None
    if isinstance(value, (list, dict, bool)):
        raise refuse("text")
    return "" if value is None else str(value)


def _build(cls, values: dict, where: str, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in hints:
            raise _unknown(prefix + key, where)
        section = SECTIONS.get(key) if cls is Recipe else None
        if section is not None:
            if not isinstance(value, dict):
                raise StudioError(f"{where}: {key} is a section: give its settings as {key}.NAME=VALUE")
            kwargs[key] = _build(section, value, where, f"{key}.")
        else:
            kwargs[key] = convert(prefix + key, value, hints[key])
    return cls(**kwargs)


def load_recipe(path: str | Path | None = None, overrides: list[str] | None = None) -> Recipe:
    """A recipe from YAML (or the defaults), then ``section.key=value`` overrides (values parsed as YAML); every
    value converted to its setting's type (``convert``) or refused in one line, an unknown key refused with the
    nearest names."""
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
        if len(parts) > 2 or (len(parts) == 2 and parts[0] not in SECTIONS):
            raise _unknown(key, "override")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise StudioError(f"override {item!r}: {part} is not a section")
        owner = SECTIONS[parts[0]] if len(parts) == 2 else Recipe
        if typing.get_type_hints(owner).get(parts[-1]) is str:
            target[parts[-1]] = raw  # text as typed: a path such as 001 or a:b stays what it says
            continue
        try:
            target[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError:
            target[parts[-1]] = raw  # refused below, in one line, if it is not of the setting's type
    recipe = _build(Recipe, data, str(path.name) if path else "recipe")
    if recipe.model.encoding not in ENCODINGS:
        raise StudioError(f"unknown target encoding {recipe.model.encoding!r}: use {', '.join(ENCODINGS)}")
    return recipe
