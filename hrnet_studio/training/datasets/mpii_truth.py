"""MPII PCKh ground truth: joints, missing flags and head sizes for the persons of an MPII json file.

Three sources are read:

* ``gt_valid.mat``, the official HRNet file (``pos_gt_src``, ``jnt_missing``, ``headboxes_src``), whose rows
  follow ``valid.json``, so persons are matched by position;
* ``valid.h5`` (the stacked-hourglass copy of the same split: ``imgname``, ``part``, ``center``,
  ``normalize``), matched by image name and centre, so any subset of the split can be scored;
* a json list of rows with ``image``, ``joints``, ``visible`` and ``headsize_normalize``.

Joints are 1-based, as MPII's MATLAB files; a joint is missing when it has no label (0, 0), as in
``gt_valid.mat``'s ``jnt_missing``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evaluate import head_sizes
from .records import DatasetError, PersonRecord, read_json

TRUTH_FILE_NAMES = ("gt_valid.mat", "valid.h5")
CENTRE_TOLERANCE_PX = 2.0


@dataclass
class PckhTruth:
    joints: np.ndarray  # [N, 16, 2], 1-based pixels
    missing: np.ndarray  # [N, 16], 1 where the joint has no label
    headsizes: np.ndarray  # [N], 0.6 × head box diagonal
    images: list[str] | None = None  # image name per row (None: rows follow the annotation file's order)
    centers: np.ndarray | None = None  # [N, 2], 1-based, after the official adjustment (+15·scale in y)

    def __len__(self) -> int:
        return len(self.headsizes)

    def rows(self, index: list[int]) -> PckhTruth:
        return PckhTruth(self.joints[index], self.missing[index], self.headsizes[index])


def find_truth_file(annotation_file: str | Path) -> Path | None:
    """``gt_valid.mat`` or ``valid.h5`` beside an MPII annotation file (the official ``annot/`` layout)."""
    folder = Path(annotation_file).parent
    return next((folder / name for name in TRUTH_FILE_NAMES if (folder / name).is_file()), None)


def load_pckh_truth(path: str | Path) -> PckhTruth:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"PCKh ground truth not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return _from_mat(path)
    if suffix in (".h5", ".hdf5"):
        return _from_h5(path)
    if suffix == ".json":
        return _from_json(path)
    raise DatasetError(f"{path.name}: PCKh ground truth must be gt_valid.mat, valid.h5 or a json list")


def _from_mat(path: Path) -> PckhTruth:
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
        joints = np.transpose(mat["pos_gt_src"], (2, 0, 1)).astype(float)  # [16, 2, N] -> [N, 16, 2]
        missing = np.transpose(mat["jnt_missing"], (1, 0)).astype(float)
        boxes = np.transpose(mat["headboxes_src"], (2, 0, 1)).astype(float)  # [2, 2, N] -> [N, 2, 2]
    except KeyError as exc:
        raise DatasetError(f"{path.name} has no {exc.args[0]}: it is not an MPII gt_valid.mat") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path.name} cannot be read as a MATLAB file ({exc})") from None
    return _checked(PckhTruth(joints, missing, head_sizes(boxes)), path)


def _from_h5(path: Path) -> PckhTruth:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            joints = np.asarray(f["part"], float)
            images = [n.decode() if isinstance(n, bytes) else str(n) for n in f["imgname"][:]]
            headsizes = np.asarray(f["normalize"], float)
            centers = np.asarray(f["center"], float)
    except KeyError as exc:
        raise DatasetError(f"{path.name} lacks {exc}: an MPII valid.h5 has imgname, part, center and normalize") \
            from None
    except OSError as exc:
        raise DatasetError(f"{path.name} cannot be read as HDF5 ({exc})") from None
    missing = np.all(joints == 0, axis=2).astype(float)
    return _checked(PckhTruth(joints, missing, headsizes, images, centers), path)


def _from_json(path: Path) -> PckhTruth:
    rows = read_json(path, "PCKh ground truth")
    try:
        joints = np.array([r["joints"] for r in rows], float)
        missing = np.all(joints == 0, axis=2).astype(float)
        headsizes = np.array([r["headsize_normalize"] for r in rows], float)
        images = [str(r["image"]) for r in rows]
        centers = np.array([r["center_raw"] for r in rows], float) if all("center_raw" in r for r in rows) else None
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path.name}: each row needs image, joints and headsize_normalize ({exc})") from None
    return _checked(PckhTruth(joints, missing, headsizes, images, centers), path)


def _checked(truth: PckhTruth, path: Path) -> PckhTruth:
    if truth.joints.ndim != 3 or truth.joints.shape[1:] != (16, 2):
        raise DatasetError(f"{path.name}: joints have shape {truth.joints.shape}; MPII needs [N, 16, 2]")
    if not (truth.headsizes > 0).all():
        raise DatasetError(f"{path.name}: row {int(np.argmin(truth.headsizes > 0))} has no head size")
    return truth


def match_truth(truth: PckhTruth, records: list[PersonRecord], annotation_name: str) -> PckhTruth:
    """The ground-truth rows of ``records``, in their order; every person must have one."""
    if truth.images is None:  # gt_valid.mat: one row per valid.json entry, same order
        if len(truth) != len(records):
            raise DatasetError(f"{annotation_name} has {len(records)} persons but the ground truth has "
                               f"{len(truth)} rows; gt_valid.mat only scores the full valid.json")
        return truth
    by_image: dict[str, list[int]] = {}
    for row, name in enumerate(truth.images):
        by_image.setdefault(name, []).append(row)
    picked = []
    for n, rec in enumerate(records):
        candidates = by_image.get(rec.image.name, [])
        row = _closest(truth, candidates, rec)
        if row is None:
            raise DatasetError(f"{annotation_name}: entry #{n} ({rec.image.name}) has no PCKh ground truth "
                               f"(no person of that image at its centre)")
        picked.append(row)
    return truth.rows(picked)


def _closest(truth: PckhTruth, rows: list[int], rec: PersonRecord) -> int | None:
    """The row of the same person: its centre (or, without centres, its labelled joints) within 2 px."""
    best, best_dist = None, CENTRE_TOLERANCE_PX
    for row in rows:
        if truth.centers is not None:
            dist = float(np.linalg.norm(truth.centers[row] - (rec.center + 1)))
        else:
            labelled = (truth.missing[row] == 0) & (rec.visible[:, 0] > 0)
            if not labelled.any():
                continue
            dist = float(np.abs(truth.joints[row][labelled] - (rec.joints[labelled, :2] + 1)).max())
        if dist <= best_dist:
            best, best_dist = row, dist
    return best
