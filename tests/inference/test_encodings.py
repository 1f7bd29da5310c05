"""Training-target encodings: official (rounded, bit for bit), unbiased (DARK's) and UDP, each with the geometry
and decoding that match it, recorded in the model's metadata so inference decodes accordingly."""
import json

import cv2
import numpy as np
import pytest

from hrnet_studio.errors import StudioError
from hrnet_studio.inference.codec.decode import average_flip
from hrnet_studio.inference.codec.heatmap_codec import HeatmapCodec
from hrnet_studio.inference.codec.transforms import (
    affine_transform_points,
    get_affine_transform,
    get_udp_transform,
    person_crops,
)
from hrnet_studio.inference.runtime.model_loading import open_pose_model
from hrnet_studio.models.checkpoints import save_pose_checkpoint
from hrnet_studio.models.hrnet import build_hrnet
from hrnet_studio.models.metadata import ModelMetadata, metadata_path
from hrnet_studio.models.registry import ModelRegistry

INPUT = (192, 256)


def round_trip_errors(encoding: str, seed: int = 0) -> np.ndarray:
    """Image joints → crop → targets → decoded image keypoints: the error in image pixels per joint."""
    codec = HeatmapCodec.for_input(INPUT, encoding=encoding)
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(40):
        center = rng.uniform(100, 300, 2)
        scale = np.array([0.9, 1.2]) * rng.uniform(0.5, 2.0)
        joints = center + rng.uniform(-0.35, 0.35, (17, 2)) * scale * 200
        crop_joints = affine_transform_points(joints, codec.crop_transform(center, scale))
        target, weight = codec.encode(crop_joints, np.ones(17))
        assert weight.all()
        coords, _ = codec.decode(target[None], center[None], scale[None])
        errors.append(np.linalg.norm(coords[0] - joints, axis=1))
    return np.concatenate(errors)


def test_exact_encodings_decode_back_to_the_joint_and_official_rounding_does_not():
    official, unbiased, udp = (round_trip_errors(e) for e in ("official", "unbiased", "udp"))
    assert unbiased.max() < 0.05 and udp.max() < 0.05  # DARK finds the centre of an exact Gaussian
    assert official.mean() > 20 * unbiased.mean() and official.mean() > 0.3  # rounding to a heatmap pixel


def test_official_encoding_is_the_rounded_peak():
    codec = HeatmapCodec.for_input(INPUT)
    target, _ = codec.encode(np.array([[50.3, 77.7]]), np.ones(1))
    assert np.unravel_index(target[0].argmax(), target[0].shape) == (19, 13)  # int(77.7/4+.5), int(50.3/4+.5)
    assert target[0, 19, 13] == 1.0


def test_udp_crop_is_mirror_exact_so_its_flip_test_needs_no_shift():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    box = np.array([[60.0, 30.0, 190.0, 220.0]])
    crops, centers, scales = person_crops(image, box, (48, 64), udp=True)
    mirrored_box = np.array([[319 - 190.0, 30.0, 319 - 60.0, 220.0]])
    mirrored, _, _ = person_crops(np.ascontiguousarray(image[:, ::-1]), mirrored_box, (48, 64), udp=True)
    assert np.abs(mirrored - crops[..., ::-1]).mean() < 1e-3  # equal up to OpenCV's fixed-point rounding
    official, _, _ = person_crops(image, box, (48, 64))
    official_mirrored, _, _ = person_crops(np.ascontiguousarray(image[:, ::-1]), mirrored_box, (48, 64))
    assert np.abs(official_mirrored - official[..., ::-1]).mean() > 0.1  # the official crop is off by a pixel

    codec = HeatmapCodec.for_input((48, 64), encoding="udp")
    joints = np.array([[10.3, 20.6], [30.2, 41.9]])  # crop pixels
    target, _ = codec.encode(joints, np.ones(2))
    mirror_target, _ = codec.encode(np.stack([47 - joints[:, 0], joints[:, 1]], 1), np.ones(2))
    np.testing.assert_allclose(mirror_target, target[..., ::-1], atol=1e-6)
    averaged = average_flip(target[None], mirror_target[None], [], shift=codec.flip_shift)
    np.testing.assert_allclose(averaged[0], target, atol=1e-6)
    assert HeatmapCodec.for_input((48, 64)).flip_shift  # the official geometry keeps its one-pixel shift


def test_udp_matrix_maps_the_box_onto_size_minus_one_and_rotates_as_the_official_one():
    center, scale = np.array([100.0, 80.0]), np.array([0.6, 0.8])
    udp = get_udp_transform(center, scale, 0, (192, 256))
    corners = affine_transform_points(np.array([[40.0, 0.0], [160.0, 160.0]]), udp)
    np.testing.assert_allclose(corners, [[0, 0], [191, 255]], atol=1e-9)
    point = np.array([[130.0, 40.0]])
    for rot in (0, 30, -45):
        a = affine_transform_points(point, get_affine_transform(center, scale, rot, (192, 256)))
        u = affine_transform_points(point, get_udp_transform(center, scale, rot, (192, 256)))
        assert np.linalg.norm(a - u) < 1.5  # the same rotation direction, the scale differs by (size-1)/size
        back = affine_transform_points(u, get_udp_transform(center, scale, rot, (192, 256), inv=True))
        np.testing.assert_allclose(back, point, atol=1e-9)
    assert cv2.invertAffineTransform(udp).shape == (2, 3)


def test_unknown_encodings_are_refused_everywhere(tmp_path):
    with pytest.raises(ValueError, match="target encoding"):
        HeatmapCodec.for_input(INPUT, encoding="rounded")
    meta = ModelMetadata(name="m", file="m.pth", arch="hrnet_w8", input_size=[48, 64], num_joints=17)
    meta.encoding = "sideways"
    path = meta.write(tmp_path)
    with pytest.raises(StudioError, match="unknown target encoding 'sideways'"):
        ModelMetadata.read(path)


def test_a_models_encoding_travels_from_its_checkpoint_to_the_runtime(models_home, tmp_path):
    ckpt = save_pose_checkpoint(build_hrnet("hrnet_w8", 17), tmp_path / "udp.pth",
                                {"input_size": [64, 96], "encoding": "udp"})
    registry = ModelRegistry()
    record = registry.import_file(ckpt)
    assert json.loads(metadata_path(record.path).read_text())["encoding"] == "udp"
    for backend in ("torch", "onnx"):
        loaded = open_pose_model(record.name, backend=backend, device="cpu", registry=registry)
        assert loaded.spec.encoding == "udp", backend
        assert HeatmapCodec.for_spec(loaded.spec).udp
    bad = save_pose_checkpoint(build_hrnet("hrnet_w8", 17), tmp_path / "bad.pth",
                               {"input_size": [64, 96], "encoding": "sideways"})
    with pytest.raises(StudioError, match="unknown target encoding"):
        registry.import_file(bad)
