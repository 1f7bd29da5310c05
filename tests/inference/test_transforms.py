import json

import cv2
import numpy as np
import pytest
from conftest import assert_official_warp

from hrnet_studio.inference.codec.transforms import (
    affine_transform_points,
    box_to_center_scale,
    get_affine_transform,
    normalize_crops,
    transform_preds,
    warp_crops,
    xyxy_to_xywh,
)

INPUT_LEVEL = 1 / (255 * 0.224)  # one level of a uint8 crop after ImageNet normalisation (smallest std)


def test_affine_matrices_and_points_match_official(parity):
    fx = np.load(parity / "affine.npz")
    for i in range(len(fx["center"])):
        trans = get_affine_transform(
            fx["center"][i], fx["scale"][i], fx["rot"][i], tuple(fx["output_size"][i]), fx["shift"][i], bool(fx["inv"][i])
        )
        np.testing.assert_array_equal(trans, fx["trans"][i], err_msg=f"combo {i}")
        np.testing.assert_array_equal(affine_transform_points(fx["points"][i], trans), fx["points_out"][i])


def test_transform_preds_matches_official(parity):
    fx = np.load(parity / "affine.npz")
    for m in range(len(fx["tp_coords"])):
        out = transform_preds(fx["tp_coords"][m], fx["tp_center"][m], fx["tp_scale"][m], tuple(fx["tp_output_size"][m]))
        np.testing.assert_array_equal(out, fx["tp_out"][m])


@pytest.fixture(scope="module")
def box2cs(parity):
    return json.loads((parity / "box2cs.json").read_text())["cases"]


@pytest.mark.parametrize("rows_key", ["random_boxes", "det_db"])
def test_box_to_center_scale_matches_official(box2cs, rows_key):
    for cfg, case in box2cs.items():
        rows = case[rows_key]
        boxes = np.array([r.get("box_xywh", r.get("bbox")) for r in rows], dtype=np.float64)
        center, scale = box_to_center_scale(boxes, 0.75)
        assert center.dtype == scale.dtype == np.float32
        np.testing.assert_array_equal(center, np.array([r["center"] for r in rows], np.float32), err_msg=cfg)
        np.testing.assert_array_equal(scale, np.array([r["scale"] for r in rows], np.float32), err_msg=cfg)


def sanitise_gt_box(box, width, height):
    """The official COCO loader's GT clean-up: the effective box is 1 px smaller."""
    x, y, w, h = box
    x1, y1 = max(0, x), max(0, y)
    x2, y2 = min(width - 1, x1 + max(0, w - 1)), min(height - 1, y1 + max(0, h - 1))
    return [x1, y1, x2 - x1, y2 - y1]


def test_gt_db_center_scale_after_sanitising(box2cs, assets):
    case = box2cs["coco_w32_256x192"]
    images = json.loads((assets / "data/coco_sample/annotations/test_coco.json").read_text())["images"]
    by_id = {im["id"]: im for im in images}
    cleaned = {}  # file name → centre/scale of every valid GT box of that image
    for ann in case["gt_annotations_with_clean_bbox"]:
        image = by_id[ann["image_id"]]
        clean = sanitise_gt_box(ann["bbox"], image["width"], image["height"])
        if ann["clean_bbox"] is None:
            continue
        np.testing.assert_allclose(clean, ann["clean_bbox"], rtol=0, atol=1e-9)
        cleaned.setdefault(image["file_name"], []).append(box_to_center_scale(np.array([clean]), 0.75))
    assert len(case["gt_db"]) == 12
    for record in case["gt_db"]:
        name = record["image"].split("/")[-1]
        assert any(
            np.array_equal(c[0], np.float32(record["center"])) and np.array_equal(s[0], np.float32(record["scale"]))
            for c, s in cleaned[name]
        ), name


def test_crops_and_normalisation_match_official_bytes(parity, assets):
    fx = np.load(parity / "crops.npz")
    for i, name in enumerate(fx["image_file"]):
        image = cv2.imread(str(assets / "data/coco_sample/images" / name), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        crops = warp_crops(image, fx["center"][i:i + 1], fx["scale"][i:i + 1], (192, 256))
        assert_official_warp(crops[0], fx["crop_rgb"][i], what=name)
        np.testing.assert_array_equal(normalize_crops(fx["crop_rgb"][i:i + 1])[0], fx["input"][i])  # exact
        assert_official_warp(normalize_crops(crops)[0], fx["input"][i], lsb=INPUT_LEVEL, what=name)


def test_batched_crops_equal_one_by_one(parity, assets):
    fx = np.load(parity / "crops.npz")
    image = cv2.imread(str(assets / "data/coco_sample/images/000000197388.jpg"))
    batch = warp_crops(image, fx["center"][1:], fx["scale"][1:], (192, 256))
    for i in range(len(batch)):
        np.testing.assert_array_equal(batch[i], warp_crops(image, fx["center"][1 + i:2 + i], fx["scale"][1 + i:2 + i],
                                                           (192, 256))[0])
    assert_official_warp(batch, fx["crop_rgb"][1:])


def test_xyxy_to_xywh():
    np.testing.assert_array_equal(xyxy_to_xywh([[10, 20, 50, 100]]), [[10, 20, 40, 80]])
