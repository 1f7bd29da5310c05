"""Targets, loss and training augmentation against the official HRNet code (parity fixtures §7, §8)."""
import json

import cv2
import numpy as np
import pytest
import torch
from conftest import assert_official_warp

from hrnet_studio.inference.codec.heatmap_codec import HeatmapCodec
from hrnet_studio.inference.codec.transforms import get_affine_transform
from hrnet_studio.skeletons import COCO_17, MPII_16, generic_set
from hrnet_studio.training.augment import (
    fliplr_joints,
    half_body_transform,
    upper_body_ids,
)
from hrnet_studio.training.loss import JointsMSELoss, JointsOHKMMSELoss

CODEC = HeatmapCodec.for_input((192, 256))


@pytest.fixture(scope="module")
def targets(parity):
    return np.load(parity / "targets.npz")


@pytest.fixture(scope="module")
def augment(parity):
    return json.loads((parity / "augment.json").read_text())


def test_gaussian_targets_are_bit_exact(targets):
    for i in range(len(targets["joints"])):
        target, weight = CODEC.encode(targets["joints"][i], targets["joints_vis"][i])
        assert target.dtype == np.float32 and target.shape == (17, 64, 48)
        assert np.array_equal(target, targets["target"][i]), f"set {i}"
        assert np.array_equal(weight, targets["target_weight"][i]), f"set {i}"


def test_edge_cases_keep_the_official_quirks(targets):
    target, weight = CODEC.encode(targets["joints"][0], targets["joints_vis"][0])
    assert weight[5, 0] == 1 and not target[5].any()  # x = −30: br == 0, weight 1, empty map
    assert weight[2, 0] == 1 and target[2].max() == 1  # x = −2.1 truncates to mu 0, not −1


def test_per_joint_weights(targets):
    for i, expected in zip(range(2, 5), targets["target_weight_different_joints_weight"]):
        _, weight = CODEC.encode(targets["joints"][i], targets["joints_vis"][i])
        assert np.array_equal(weight * targets["coco_joints_weight"], expected)


def test_codec_decodes_what_it_encodes():
    joints = np.array([[40.0, 60.0], [100.0, 200.0], [150.0, 30.0]])
    target, _ = HeatmapCodec.for_input((192, 256), decoder="official").encode(joints, np.ones(3))
    center, scale = np.array([[96.0, 128.0]]), np.array([[192 / 200, 256 / 200]])
    coords, scores = HeatmapCodec.for_input((192, 256), decoder="official").decode(target[None], center, scale)
    # Integer-centred targets: decoded within half a heatmap pixel (2 input px) of the joint.
    assert np.abs(coords[0] - joints).max() <= 2.0 and np.allclose(scores, 1.0)
    with pytest.raises(ValueError, match="codec makes"):
        CODEC.decode(np.zeros((1, 17, 32, 24), np.float32), center, scale)


def test_loss_matches_the_official_values(targets):
    out, gt, w = (torch.from_numpy(targets[k]) for k in ("loss_output", "loss_target", "loss_target_weight"))
    cases = [
        (JointsMSELoss(True)(out, gt, w), "loss_mse_use_target_weight"),
        (JointsMSELoss(False)(out, gt, w), "loss_mse_no_target_weight"),
        (JointsOHKMMSELoss(True, topk=8)(out, gt, w), "loss_ohkm_top8_use_target_weight"),
        (JointsMSELoss(True)(out[:1], gt[:1], w[:1]), "loss_mse_use_target_weight_batch1"),
    ]
    for value, key in cases:
        np.testing.assert_allclose(value.item(), float(targets[key]), rtol=1e-6, err_msg=key)


def test_half_body_transform(augment):
    for row in augment["half_body_transform"]:
        rng = np.random.RandomState(row["np_seed"])
        assert rng.randn() == row["randn_draw"]  # the one draw the official function makes
        rng = np.random.RandomState(row["np_seed"])
        center, scale = half_body_transform(np.array(row["joints"]), np.array(row["joints_vis"]),
                                            upper_body_ids(COCO_17), 192 / 256, rng)
        if row["center"] is None:
            assert center is None and scale is None
        else:
            np.testing.assert_array_equal(center, np.array(row["center"], np.float32))
            np.testing.assert_array_equal(scale, np.array(row["scale"], np.float32))


def test_upper_body_sets():
    assert upper_body_ids(COCO_17) == tuple(range(11))
    assert upper_body_ids(MPII_16) == tuple(range(7, 16))
    assert upper_body_ids(generic_set(4)) == ()


def test_fliplr_joints(augment):
    for row in augment["fliplr_joints"]:
        joints, vis = np.array(row["joints_3d"]), np.array(row["joints_3d_vis"])
        before = joints.copy()
        out, out_vis = fliplr_joints(joints, vis, row["width"], tuple(map(tuple, row["flip_pairs"])))
        np.testing.assert_array_equal(out, np.array(row["out_joints"]))
        np.testing.assert_array_equal(out_vis, np.array(row["out_joints_vis"]))
        assert np.array_equal(joints, before)  # unlike the official code, inputs are left alone


def test_training_crops_and_targets_replay_exactly(parity, augment, assets):
    crops = np.load(parity / "augment_train_crops.npz")
    for i, row in enumerate(augment["train_getitem"]):
        image = cv2.imread(str(assets / "data" / "coco_sample" / "images" / row["image"]), cv2.IMREAD_COLOR)
        rgb = image[..., ::-1]
        if row["flipped"]:
            rgb = rgb[:, ::-1]
        assert rgb.shape[1] == row["source_image_width"]
        trans = get_affine_transform(np.array(row["center_after_aug"]), np.array(row["scale_after_aug"]),
                                     row["rotation_deg"], (192, 256))
        crop = cv2.warpAffine(np.ascontiguousarray(rgb), trans, (192, 256), flags=cv2.INTER_LINEAR)
        assert_official_warp(crop, crops["crop_rgb"][i], what=f"record {i}")
        target, weight = CODEC.encode(np.array(row["joints_in_crop"]), np.array(row["joints_vis_after_aug"]))
        assert np.array_equal(target, crops["target"][i]), f"record {i}"
        assert np.array_equal(weight[:, 0], np.array(row["target_weight"], np.float32))
