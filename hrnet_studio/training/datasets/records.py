"""One person to train or evaluate on, whatever file format it came from."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import StudioError


class DatasetError(StudioError):
    """A dataset that cannot be used; the message names the file and the entry at fault."""


def read_json(path: Path, what: str = "") -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{what or 'file'} not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{Path(path).name} is not valid JSON: {exc}") from None


@dataclass
class PersonRecord:
    image: Path
    center: np.ndarray  # [2]; float32 from COCO boxes, float64 from MPII files, as the official loaders
    scale: np.ndarray  # [2], in units of 200 px
    joints: np.ndarray  # float64 [K, 3] (x, y, 0) in image pixels
    visible: np.ndarray  # float64 [K, 3] with the first two columns 0/1, as the official code
    image_id: int = 0
    box_score: float = 1.0
    area: float = 0.0


def missing_images(records: list[PersonRecord]) -> tuple[list[str], int]:
    """Names of the records' image files that do not exist, and how many distinct images there are."""
    images = sorted({r.image for r in records})
    return [p.name for p in images if not p.is_file()], len(images)


def check_images(records: list[PersonRecord], annotation_file: str | Path, image_root: str | Path) -> None:
    """Fail before training, not an hour into it, when images are missing."""
    missing, total = missing_images(records)
    if missing:
        raise DatasetError(f"{len(missing)} of {total} images of {Path(annotation_file).name} are not in "
                           f"{image_root} (first: {missing[0]})")
