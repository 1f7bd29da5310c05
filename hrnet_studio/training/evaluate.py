"""Evaluation: COCO OKS AP/AR (pycocotools) with the official rescoring and OKS-NMS, COCO-WholeBody AP per part, MPII
PCKh, and the face and hand landmark metrics (NME; PCK, AUC, EPE) with mmpose's definitions."""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np

from ..skeletons import COCO_WHOLEBODY_133, WHOLEBODY_EVAL_PARTS

COCO_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
MPII_PARTS = {  # reported part -> joint indices in MPII order (right, left), as the official evaluate()
    "Head": (9,), "Shoulder": (12, 13), "Elbow": (11, 14), "Wrist": (10, 15),
    "Hip": (2, 3), "Knee": (1, 4), "Ankle": (0, 5),
}
MPII_MASKED = (6, 7)  # pelvis and thorax are left out of the means
SC_BIAS = 0.6  # head size = 0.6 × the head box diagonal


# ----- COCO ----------------------------------------------------------------------------------------
def oks_iou(kpts: np.ndarray, others: np.ndarray, area: float, other_areas: np.ndarray, sigmas: np.ndarray,
            vis_threshold: float | None = None) -> np.ndarray:
    """OKS of one pose [K, 3] against others [M, K, 3] (official ``oks_iou``)."""
    var = (sigmas * 2) ** 2
    d2 = ((others[:, :, :2] - kpts[None, :, :2]) ** 2).sum(-1)
    e = d2 / var[None] / ((area + other_areas[:, None]) / 2 + np.spacing(1)) / 2
    if vis_threshold is not None:
        # The official code writes ``list(vg > t) and list(vd > t)``, which is just the second list.
        keep = others[:, :, 2] > vis_threshold
        return np.array([np.exp(-ei[k]).mean() if k.any() else 0.0 for ei, k in zip(e, keep)])
    return np.exp(-e).mean(axis=1)


def oks_nms(poses: list[dict], sigmas: np.ndarray, threshold: float = 0.9) -> list[int]:
    """Indices kept by greedy OKS non-maximum suppression, highest score first (official ``oks_nms``)."""
    if not poses:
        return []
    scores = np.array([p["score"] for p in poses])
    kpts = np.array([np.asarray(p["keypoints"], float).reshape(-1, 3) for p in poses])
    areas = np.array([p["area"] for p in poses], dtype=float)
    order = list(scores.argsort()[::-1])  # the official order, ties included
    keep = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        if not order:
            break
        rest = np.array(order)
        overlap = oks_iou(kpts[i], kpts[rest], areas[i], areas[rest], sigmas)
        order = [j for j, o in zip(order, overlap) if o <= threshold]
    return keep


def coco_keypoint_ap(annotation_file: str | Path, results: list[dict], sigmas: np.ndarray | None = None) -> dict:
    """COCO keypoint AP/AR of ``results`` (COCO results dicts) against the ground truth, with pycocotools."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not results:
        return dict.fromkeys(COCO_STATS, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress and table
        gt = COCO(str(annotation_file))
        dt = gt.loadRes(results)
        evaluator = COCOeval(gt, dt, "keypoints")
        if sigmas is not None:
            evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=float)
        evaluator.params.useSegm = None
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(COCO_STATS, evaluator.stats)}


def coco_wholebody_ap(truth: dict, results: list[dict]) -> dict:
    """COCO-WholeBody AP/AR per part as mmpose's ``CocoWholeBodyMetric`` computes them with xtcocotools: for each
    part (``skeletons.WHOLEBODY_EVAL_PARTS``: body, foot, face, left_hand, right_hand, wholebody) a COCO keypoint
    evaluation of that part's keypoints alone, with its OKS sigmas and the persons' areas; as there, a person whose
    part has no labelled keypoint is ignored and a result whose part has no positive score is left out. ``coco`` is the whole-body
    ``truth`` is the annotation file as COCO keypoints of the 133-set (``CocoKeypoints.wholebody_truth``),
    ``results`` COCO results with the 133 keypoints [x, y, score]×133.
    Returns ``<part>_ap`` and ``<part>_ar`` for each part, and the ten COCO figures of the whole body (``AP`` …)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    sigmas = COCO_WHOLEBODY_133.oks_sigmas()
    out: dict[str, float] = {}
    for part, (first, end) in WHOLEBODY_EVAL_PARTS.items():
        if not results:
            stats = [0.0] * len(COCO_STATS)
        else:
            with contextlib.redirect_stdout(io.StringIO()):
                gt = COCO()
                annotations = []
                for ann in truth["annotations"]:
                    values = ann["keypoints"][3 * first:3 * end]
                    annotations.append({**ann, "keypoints": values, "num_keypoints": sum(v > 0 for v in values[2::3])})
                gt.dataset = {**truth, "annotations": annotations}
                gt.createIndex()
                found = [{**r, "keypoints": list(np.asarray(r["keypoints"], float).reshape(-1)[3 * first:3 * end])}
                         for r in results]
                found = [r for r in found if any(v > 0 for v in r["keypoints"][2::3])]  # as xtcocotools: none seen
                dt = gt.loadRes(found) if found else COCO()
                evaluator = COCOeval(gt, dt, "keypoints")
                evaluator.params.kpt_oks_sigmas = sigmas[first:end]
                evaluator.params.useSegm = None
                evaluator.evaluate()
                evaluator.accumulate()
                evaluator.summarize()
            stats = [float(v) for v in evaluator.stats]
        out[f"{part}_ap"], out[f"{part}_ar"] = stats[0], stats[5]
    return {**out, **dict(zip(COCO_STATS, stats))}  # the last part is the whole body


# ----- PCK ----------------------------------------------------------------------------------------
def pck(preds: np.ndarray, gt: np.ndarray, visible: np.ndarray, person_size: np.ndarray,
        threshold: float = 0.2) -> float:
    """Percentage of labelled joints within ``threshold`` × the person's size (e.g. the long side of its box)."""
    err = np.linalg.norm(np.asarray(preds, float)[..., :2] - np.asarray(gt, float)[..., :2], axis=-1)
    vis = np.asarray(visible) > 0
    if not vis.any():
        return float("nan")
    ok = err <= threshold * np.asarray(person_size, float)[:, None]
    return float(100.0 * (ok & vis).sum() / vis.sum())


# ----- face and hand landmarks (mmpose's NME, PCKAccuracy, AUC and EPE) ------------------------------------------
def _distances(preds: np.ndarray, gt: np.ndarray, visible: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """[N, K] distances divided by each sample's normaliser ``norm`` [N] (pixels), −1 where a point is not labelled
    or the sample's normaliser is not positive."""
    err = np.linalg.norm(np.asarray(preds, float)[..., :2] - np.asarray(gt, float)[..., :2], axis=-1)
    norm = np.asarray(norm, float)
    valid = (np.asarray(visible) > 0) & (norm[:, None] > 0)
    return np.where(valid, err / np.where(norm > 0, norm, 1.0)[:, None], -1.0)


def landmark_nme(preds: np.ndarray, gt: np.ndarray, visible: np.ndarray, pair: tuple[int, int]) -> float:
    """Normalised mean error (a fraction): every labelled point's error divided by its face's distance between the
    ground-truth points ``pair`` (the outer eye corners: 36/45 of the 68-point face, 60/72 of WFLW), averaged over
    all labelled points, as mmpose's ``NME(norm_mode='keypoint_distance')``."""
    gt = np.asarray(gt, float)
    norm = np.linalg.norm(gt[:, pair[0], :2] - gt[:, pair[1], :2], axis=-1)
    d = _distances(preds, gt, visible, norm)
    return float(d[d >= 0].mean()) if (d >= 0).any() else float("nan")


def landmark_pck(preds: np.ndarray, gt: np.ndarray, visible: np.ndarray, norm: np.ndarray,
                 threshold: float = 0.2) -> float:
    """PCK (a fraction) as mmpose's ``keypoint_pck_accuracy``: per point, the share of its labelled instances within
    ``threshold`` × ``norm`` [N] (the box's long side for hands), then the mean over points that have any."""
    d = _distances(preds, gt, visible, norm)
    per_point = [float((col[col >= 0] < threshold).mean()) for col in d.T if (col >= 0).any()]
    return float(np.mean(per_point)) if per_point else 0.0


def landmark_auc(preds: np.ndarray, gt: np.ndarray, visible: np.ndarray, max_px: float = 30.0,
                 steps: int = 20) -> float:
    """Area under the PCK curve for thresholds 0, 1/steps … (steps − 1)/steps of ``max_px`` pixels (mmpose's
    ``AUC(norm_factor=30, num_thrs=20)``)."""
    norm = np.full(len(np.asarray(gt)), max_px)
    return float(sum(landmark_pck(preds, gt, visible, norm, i / steps) for i in range(steps)) / steps)


def landmark_epe(preds: np.ndarray, gt: np.ndarray, visible: np.ndarray) -> float:
    """End-point error: the mean pixel distance over labelled points (mmpose's ``EPE``)."""
    d = _distances(preds, gt, visible, np.ones(len(np.asarray(gt))))
    return float(d[d >= 0].mean()) if (d >= 0).any() else float("nan")


# ----- MPII ----------------------------------------------------------------------------------------
def mpii_pckh(preds: np.ndarray, gt: np.ndarray, missing: np.ndarray, headboxes: np.ndarray,
              threshold: float = 0.5) -> dict:
    """PCKh with the official formula (MPIIDataset.evaluate), head sizes from head boxes.

    ``headboxes`` [N, 2, 2] (top-left, bottom-right) as in ``gt_valid.mat``; see :func:`pckh`.
    """
    return pckh(preds, gt, missing, head_sizes(headboxes), threshold)


def head_sizes(headboxes: np.ndarray) -> np.ndarray:
    """The official PCKh normaliser: 0.6 × the diagonal of each head box [N, 2, 2] → [N]."""
    head = np.asarray(headboxes, float)
    return np.linalg.norm(head[:, 1] - head[:, 0], axis=1) * SC_BIAS


def pckh(preds: np.ndarray, gt: np.ndarray, missing: np.ndarray, headsizes: np.ndarray,
         threshold: float = 0.5) -> dict:
    """PCKh with the official formula, given each person's head size (0.6 × the head box diagonal).

    ``preds`` [N, 16, 2] 0-based pixels; ``gt`` [N, 16, 2] 1-based (as ``gt_valid.mat`` and ``valid.h5``);
    ``missing`` [N, 16]; ``headsizes`` [N]. ``Mean@0.1`` keeps the official quirk: it is read at threshold
    0.11. Returns the parts, ``Mean``, ``Mean@0.1`` and ``per_joint``.
    """
    preds = np.asarray(preds, float)[..., :2] + 1.0
    visible = 1 - np.asarray(missing, float)
    err = np.linalg.norm(preds - np.asarray(gt, float), axis=2)  # [N, 16]
    headsize = np.asarray(headsizes, float)
    scaled = err / headsize[:, None] * visible
    count = visible.sum(axis=0)  # [16]
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        per_joint = 100.0 * ((scaled <= threshold) * visible).sum(axis=0) / count
        grid = np.arange(0, 0.5 + 0.01, 0.01)
        pck_all = np.array([100.0 * ((scaled <= t) * visible).sum(axis=0) / count for t in grid])
    mask = np.ones(16, bool)
    mask[list(MPII_MASKED)] = False
    ratio = np.where(mask, count, 0) / count[mask].sum()
    result = {part: float(np.mean([per_joint[j] for j in joints])) for part, joints in MPII_PARTS.items()}
    result["Mean"] = float(np.nansum(per_joint * ratio))
    result["Mean@0.1"] = float(np.nansum(pck_all[11] * ratio))
    result["per_joint"] = [float(v) for v in per_joint]
    return result
