"""COCO and MPII loaders and the JointsDataset, against the official loader's records and crops."""
import json

import numpy as np
import pytest
from conftest import assert_official_warp

from hrnet_studio.inference.codec.heatmap_codec import HeatmapCodec
from hrnet_studio.skeletons import COCO_17, MPII_16
from hrnet_studio.training.datasets.coco import CocoKeypoints, infer_flip_pairs
from hrnet_studio.training.datasets.joints_dataset import JointsDataset
from hrnet_studio.training.datasets.mpii import load_mpii
from hrnet_studio.training.datasets.records import DatasetError


@pytest.fixture(scope="module")
def coco(assets):
    root = assets / "data" / "coco_sample"
    return CocoKeypoints(root / "annotations" / "test_coco.json", root / "images")


@pytest.fixture(scope="module")
def box2cs(parity):
    return json.loads((parity / "box2cs.json").read_text())["cases"]


@pytest.mark.parametrize("case", ["coco_w32_256x192", "coco_w32_384x288"])
def test_coco_gt_records_match_the_official_db(coco, box2cs, case):
    expected = box2cs[case]["gt_db"]
    records = coco.gt_records(box2cs[case]["aspect_ratio"])
    assert coco.keypoints is COCO_17 and len(records) == len(expected) == 12
    for rec, exp in zip(records, expected):
        assert rec.image.name == exp["image"]
        assert np.array_equal(rec.center, np.array(exp["center"], np.float32))
        assert np.array_equal(rec.scale, np.array(exp["scale"], np.float32))
        assert np.array_equal(rec.joints, np.array(exp["joints_3d"]))
        assert np.array_equal(rec.visible, np.array(exp["joints_3d_vis"]))


def test_coco_detection_records_match_the_official_db(coco, box2cs, assets):
    case = box2cs["coco_w32_256x192"]
    records = coco.detection_records(assets / "data" / "coco_sample" / "annotations" / "test_coco_det_AP_H_56.json",
                                     case["aspect_ratio"])
    assert len(records) == len(case["det_db"]) == 118
    for rec, exp in zip(records, case["det_db"]):
        assert rec.image_id == exp["image_id"] and rec.box_score == exp["score"]
        assert np.array_equal(rec.center, np.array(exp["center"], np.float32))
        assert np.array_equal(rec.scale, np.array(exp["scale"], np.float32))


def test_validation_crops_and_targets_are_the_official_ones(coco, parity):
    crops = np.load(parity / "crops.npz")
    dataset = JointsDataset(coco.gt_records(0.75), COCO_17, HeatmapCodec.for_input((192, 256)), train=False)
    checked = 0
    for i, rec in enumerate(dataset.records):
        match = [j for j in range(6) if crops["image_file"][j] == rec.image.name
                 and np.array_equal(crops["center"][j], rec.center) and np.array_equal(crops["scale"][j], rec.scale)]
        if not match:
            continue
        j = match[0]
        crop, target, weight, sample = dataset.item(i)
        assert_official_warp(crop, crops["crop_rgb"][j])
        assert np.array_equal(sample.joints, crops["joints"][j])
        assert np.array_equal(target, crops["target"][j]) and np.array_equal(weight, crops["target_weight"][j])
        x, t, w, meta = dataset[i]
        assert_official_warp(x.numpy(), crops["input"][j], lsb=1 / (255 * 0.224))
        assert meta["image_id"] == rec.image_id
        assert np.array_equal(t.numpy(), target) and np.array_equal(w.numpy(), weight)
        checked += 1
    assert checked == 6


def test_training_samples_are_reproducible_and_vary_by_epoch(coco):
    dataset = JointsDataset(coco.gt_records(0.75), COCO_17, HeatmapCodec.for_input((192, 256)), train=True, seed=7)
    a = dataset.item(0)
    b = dataset.item(0)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])  # same (seed, epoch, index): same sample
    dataset.set_epoch(1)
    c = dataset.item(0)
    assert not np.array_equal(a[0], c[0])
    draws = []
    for epoch in range(12):
        dataset.set_epoch(epoch)
        draws.append(dataset.item(3)[3])
    assert any(s.rotation != 0 for s in draws) and any(s.rotation == 0 for s in draws)
    x, target, weight, _ = dataset[3]
    assert x.shape == (3, 256, 192) and target.shape == (17, 64, 48) and weight.shape == (17, 1)
    # Every joint with weight 1 has its Gaussian peak on the map where the joint was moved to.
    _, target, weight, sample = dataset.item(3)
    for k in np.flatnonzero(weight[:, 0] > 0):
        x_hm, y_hm = (int(v / 4 + 0.5) for v in sample.joints[k, :2])
        if 0 <= x_hm < 48 and 0 <= y_hm < 64:
            assert target[k, y_hm, x_hm] == 1.0


def test_custom_keypoint_set_from_the_category(tmp_path, assets):
    names = ["head", "left_hand", "right_hand", "l_foot", "r_foot"]
    data = {
        "images": [{"id": 1, "file_name": "000000000785.jpg", "width": 640, "height": 425}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 100, 200], "area": 2000,
                         "iscrowd": 0, "keypoints": [50, 20, 2, 30, 100, 2, 80, 100, 2, 40, 200, 1, 70, 200, 0],
                         "num_keypoints": 4}],
        "categories": [{"id": 1, "name": "person", "keypoints": names, "skeleton": [[1, 2], [1, 3], [1, 4]]}],
    }
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(data))
    dataset = CocoKeypoints(path, assets / "data" / "coco_sample" / "images")
    kps = dataset.keypoints
    assert kps.names == tuple(names) and kps.edges == ((0, 1), (0, 2), (0, 3))
    assert kps.flip_pairs == ((1, 2), (3, 4))
    records = dataset.gt_records(0.75)
    assert len(records) == 1 and records[0].visible[:, 0].tolist() == [1, 1, 1, 1, 0]
    assert infer_flip_pairs(COCO_17.names) == COCO_17.flip_pairs


@pytest.mark.parametrize("problem, expected", [
    ("bad_json", "is not valid JSON"),
    ("no_images", "no 'images' list"),
    ("short_keypoints", "annotation #0 (id 7) has 48 keypoint values; the category has 17 joints, so 51"),
    ("unknown_image", "annotation #0 (id 7) refers to image id 99"),
    ("missing_file", "annotation file not found"),
])
def test_malformed_coco_is_reported_with_file_and_entry(tmp_path, problem, expected):
    path = tmp_path / "bad.json"
    ann = {"id": 7, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "keypoints": [0] * 51}
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}], "annotations": [ann],
            "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_17.names), "skeleton": []}]}
    if problem == "bad_json":
        path.write_text("{not json")
    elif problem != "missing_file":
        if problem == "no_images":
            del data["images"]
        elif problem == "short_keypoints":
            ann["keypoints"] = [0] * 48
        elif problem == "unknown_image":
            ann["image_id"] = 99
        path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=expected.replace("(", r"\(").replace(")", r"\)")) as err:
        CocoKeypoints(path, tmp_path)
    assert "bad.json" in str(err.value)


def test_missing_images_are_listed(tmp_path, assets):
    dataset = CocoKeypoints(assets / "data" / "coco_sample" / "annotations" / "test_coco.json", tmp_path)
    assert sorted(dataset.missing_images()) == ["000000000785.jpg", "000000040083.jpg", "000000196141.jpg",
                                                "000000197388.jpg"]
    sample = JointsDataset(dataset.gt_records(0.75), COCO_17, HeatmapCodec.for_input((192, 256)), train=False)
    with pytest.raises(DatasetError, match="cannot read image .*000000000785.jpg"):
        sample.item(0)


def test_mpii_records_follow_the_official_adjustment(assets):
    root = assets / "data" / "mpii_sample"
    records = load_mpii(root / "annotations" / "test_mpii.json", root / "images")
    truth = {row["image"]: row for row in json.loads((root / "annotations" / "pckh_gt_subset.json").read_text())}
    assert len(records) == 5
    for rec in records:
        row = truth[rec.image.name]
        np.testing.assert_allclose(rec.center + 1, row["center_raw"], atol=1e-3)  # y + 15·s, then 0-based
        np.testing.assert_allclose(rec.scale, [row["scale_raw"]] * 2, rtol=1e-5)  # ×1.25
        np.testing.assert_allclose(rec.joints[:, :2] + 1, row["joints"], atol=1.01)
        assert rec.image.is_file()
    dataset = JointsDataset(records, MPII_16, HeatmapCodec.for_input((256, 256)), train=True)
    x, target, weight, _ = dataset[0]
    assert x.shape == (3, 256, 256) and target.shape == (16, 64, 64) and weight.shape == (16, 1)


def test_malformed_mpii_entry_is_named(tmp_path):
    path = tmp_path / "mpii.json"
    path.write_text(json.dumps([{"image": "a.jpg", "center": [1, 2], "scale": 1.0, "joints": [[0, 0]] * 15,
                                 "joints_vis": [1] * 15}]))
    with pytest.raises(DatasetError, match=r"mpii.json: entry #0 \(a.jpg\) has 15 joints; MPII has 16"):
        load_mpii(path, tmp_path)
