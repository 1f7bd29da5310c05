"""COCO-WholeBody files: read as the 133-keypoint set, scored per part as mmpose's ``CocoWholeBodyMetric`` scores
them (xtcocotools' ``keypoints_body`` … ``keypoints_wholebody`` evaluations)."""
import json

import numpy as np
import pytest
from helpers import (
    noisy_wholebody_results,
    run_cli,
    wholebody_annotations,
    wholebody_w8,
)

from hrnet_studio.errors import StudioError
from hrnet_studio.skeletons import COCO_WHOLEBODY_133, WHOLEBODY_EVAL_PARTS
from hrnet_studio.training.datasets.coco import CocoKeypoints, annotation_joints
from hrnet_studio.training.evaluate import coco_wholebody_ap

# AP and AR per part of ``noisy_wholebody_results`` on ``wholebody_annotations(test_coco.json)``, computed by
# xtcocotools 1.14.3's COCOeval (the evaluator mmpose's CocoWholeBodyMetric calls, with COCO-WholeBody's sigmas,
# use_area=True): the reference this module matches
XTCOCOTOOLS = {"body": (0.864627, 0.933333), "foot": (0.610019, 0.736364), "face": (0.014496, 0.063636),
               "left_hand": (0.303532, 0.436364), "right_hand": (0.256461, 0.411111),
               "wholebody": (0.138723, 0.266667)}


@pytest.fixture
def wholebody(assets, tmp_path):
    root = assets / "data" / "coco_sample"
    path = wholebody_annotations(root / "annotations" / "test_coco.json", tmp_path / "wholebody.json")
    return CocoKeypoints(path, root / "images")


def test_a_wholebody_file_is_read_as_133_keypoints(wholebody):
    assert wholebody.wholebody and wholebody.keypoints is COCO_WHOLEBODY_133
    records = wholebody.gt_records(0.75)
    assert records and all(r.joints.shape == (133, 3) for r in records)
    ann = wholebody.coco.dataset["annotations"][0]
    np.testing.assert_array_equal(records[0].joints[17:23, :2], np.reshape(ann["foot_kpts"], (6, 3))[:, :2])


def test_each_part_is_scored_as_mmpose_scores_it(wholebody):
    stats = coco_wholebody_ap(wholebody.wholebody_truth(), noisy_wholebody_results(wholebody))
    for part, (ap, ar) in XTCOCOTOOLS.items():
        assert stats[f"{part}_ap"] == pytest.approx(ap, abs=1e-6), part
        assert stats[f"{part}_ar"] == pytest.approx(ar, abs=1e-6), part
    assert stats["AP"] == stats["wholebody_ap"]


def test_only_the_part_that_is_wrong_loses(wholebody):
    exact = []
    for ann in wholebody.coco.dataset["annotations"]:
        joints = np.array(annotation_joints(ann, True), float).reshape(133, 3)
        joints[:, 2] = joints[:, 2] > 0  # sure where labelled, nothing where not (unlabelled parts are not found)
        exact.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": joints.reshape(-1).tolist(),
                      "score": 1.0})
    perfect = coco_wholebody_ap(wholebody.wholebody_truth(), exact)
    assert all(v == pytest.approx(1.0) for k, v in perfect.items() if k.endswith("_ap"))
    first, end = WHOLEBODY_EVAL_PARTS["foot"]
    for result in exact:
        k = np.array(result["keypoints"]).reshape(133, 3)
        k[first:end, 0] += 40  # every foot point 40 px off
        result["keypoints"] = k.reshape(-1).tolist()
    stats = coco_wholebody_ap(wholebody.wholebody_truth(), exact)
    assert stats["foot_ap"] < 0.2 and stats["wholebody_ap"] < 1.0
    assert stats["body_ap"] == stats["face_ap"] == stats["left_hand_ap"] == stats["right_hand_ap"] == pytest.approx(1)


def test_a_malformed_wholebody_annotation_is_one_line(assets, tmp_path):
    root = assets / "data" / "coco_sample"
    path = wholebody_annotations(root / "annotations" / "test_coco.json", tmp_path / "bad.json")
    data = json.loads(path.read_text())
    data["annotations"][2]["face_kpts"] = data["annotations"][2]["face_kpts"][:30]
    path.write_text(json.dumps(data))
    with pytest.raises(StudioError, match=r"annotation #2 .* has 30 face_kpts values; COCO-WholeBody's face_kpts "
                                          r"has 68 joints, so 204"):
        CocoKeypoints(path, root / "images")


def test_eval_reports_every_part_for_a_wholebody_model(capsys, assets, tmp_path, models_home):
    root = assets / "data" / "coco_sample"
    path = wholebody_annotations(root / "annotations" / "test_coco.json", tmp_path / "wholebody.json")
    model, _ = wholebody_w8(tmp_path)
    code, out, err = run_cli(capsys, "eval", path, root / "images", "--model", model, "--no-flip")
    assert code == 0, err
    shown = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {f"{part}_ap" for part in WHOLEBODY_EVAL_PARTS} <= shown and "AP" in shown
