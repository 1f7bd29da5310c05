"""COCO OKS AP and MPII PCKh against hand-checked cases and the official formula."""
import json

import numpy as np
import pytest

from hrnet_studio.inference.results import PersonPose
from hrnet_studio.inference.scoring import pose_score
from hrnet_studio.skeletons import COCO_17
from hrnet_studio.training.evaluate import (
    coco_keypoint_ap,
    mpii_pckh,
    oks_iou,
    oks_nms,
)


@pytest.fixture(scope="module")
def coco_gt(assets):
    path = assets / "data" / "coco_sample" / "annotations" / "test_coco.json"
    return path, json.loads(path.read_text())


def results_from_gt(data, shift=0.0, score=1.0):
    out = []
    for ann in data["annotations"]:
        if ann["num_keypoints"] == 0:
            continue
        kps = np.array(ann["keypoints"], float).reshape(17, 3)
        kps[:, 0] += shift
        kps[:, 2] = 1.0
        out.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": kps.ravel().tolist(),
                    "score": score})
    return out


def test_perfect_predictions_give_ap_1(coco_gt):
    path, data = coco_gt
    stats = coco_keypoint_ap(path, results_from_gt(data))
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)


def test_displaced_and_missing_predictions_lower_ap(coco_gt):
    path, data = coco_gt
    perfect = results_from_gt(data)
    shifted = coco_keypoint_ap(path, results_from_gt(data, shift=15.0))
    assert shifted["AP"] < 0.9
    half = coco_keypoint_ap(path, perfect[: len(perfect) // 2])
    assert half["AR"] == pytest.approx(0.5, abs=0.1) and half["AP"] < 0.7
    assert coco_keypoint_ap(path, [])["AP"] == 0.0


def test_rescoring_and_oks_nms():
    assert pose_score(0.8, np.array([0.1, 0.5, 0.9])) == pytest.approx(0.8 * 0.7)
    assert pose_score(0.8, np.array([0.1, 0.15])) == 0.0
    person = PersonPose(np.zeros(4, np.float32), 0.8, np.zeros((3, 2), np.float32), np.array([0.1, 0.5, 0.9]))
    assert person.pose_score() == pytest.approx(0.8 * 0.7)  # the exported score is the evaluated one
    sigmas = COCO_17.oks_sigmas()
    base = np.zeros((17, 3))
    base[:, 0], base[:, 1], base[:, 2] = np.linspace(0, 100, 17), np.linspace(0, 200, 17), 1
    near, far = base.copy(), base.copy()
    near[:, 0] += 1.0
    far[:, 0] += 80.0
    assert oks_iou(base, base[None], 1e4, np.array([1e4]), sigmas)[0] == pytest.approx(1.0)
    ious = oks_iou(base, np.stack([near, far]), 1e4, np.array([1e4, 1e4]), sigmas)
    assert ious[0] > 0.9 > ious[1]
    poses = [{"keypoints": p, "score": s, "area": 1e4} for p, s in ((near, 0.7), (base, 0.9), (far, 0.8))]
    assert oks_nms(poses, sigmas, 0.9) == [1, 2]  # the near duplicate of the best pose goes


def test_mpii_pckh_matches_the_official_formula(parity):
    case = json.loads((parity / "mpii_pckh.json").read_text())
    result = mpii_pckh(np.array(case["preds_0based"]), np.array(case["pos_gt_src_1based"]),
                       np.array(case["jnt_missing"]), np.array(case["headboxes_src"]))
    for key, expected in case["result"].items():
        assert result[key] == pytest.approx(expected, abs=1e-9), key


def test_perfect_mpii_predictions_give_100(assets):
    truth = json.loads((assets / "data" / "mpii_sample" / "annotations" / "pckh_gt_subset.json").read_text())
    gt = np.array([row["joints"] for row in truth])  # 1-based
    missing = 1 - np.array([row["visible"] for row in truth], float)
    head = np.zeros((len(truth), 2, 2))
    head[:, 1] = np.array([row["headsize_normalize"] for row in truth])[:, None] / np.sqrt(2) / 0.6
    result = mpii_pckh(gt - 1, gt, missing, head)
    visible_parts = [p for p in ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle")
                     if not np.isnan(result[p])]
    assert visible_parts and all(result[p] == 100.0 for p in visible_parts)
    assert result["Mean"] == 100.0
    off = mpii_pckh(gt - 1 + np.array([1000.0, 0]), gt, missing, head)
    assert off["Mean"] == 0.0


def test_eval_command_on_the_coco_sample(capsys, assets, small_checkpoint, tmp_path):
    from hrnet_studio.cli.main import main

    root = assets / "data" / "coco_sample"
    results = tmp_path / "results.json"
    code = main(["eval", str(root / "annotations" / "test_coco.json"), str(root / "images"), "--model",
                 str(small_checkpoint), "--device", "cpu", "--results", str(results), "--backend", "torch"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = dict(line.split() for line in out.strip().splitlines())
    assert set(lines) >= {"AP", "AP50", "AR"} and 0.0 <= float(lines["AP"]) <= 1.0
    assert "on 12 persons (GT boxes, flip test on)" in err
    assert len(json.loads(results.read_text())) == 12
    code = main(["eval", str(root / "annotations" / "test_coco.json"), str(tmp_path), "--model",
                 str(small_checkpoint)])
    assert code == 2 and "4 of 4 images of test_coco.json are not in" in capsys.readouterr().err
