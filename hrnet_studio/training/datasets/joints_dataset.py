"""JointsDataset: person record → (network input, heatmap targets, weights), with the official augmentation."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ...inference.codec.heatmap_codec import HeatmapCodec
from ...inference.codec.transforms import (
    IMAGENET,
    affine_transform_points,
    normalize_crops,
)
from ...models.spec import Normalization
from ...skeletons import KeypointSet
from ..augment import (
    AugmentConfig,
    fliplr_joints,
    half_body_transform,
    random_scale_rotation,
    upper_body_ids,
)
from .records import DatasetError, PersonRecord


def read_rgb(path) -> np.ndarray:
    """The image as RGB uint8, as the official loader reads it (EXIF orientation ignored)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise DatasetError(f"cannot read image {path} (missing or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@dataclass
class Sample:
    input: torch.Tensor  # float32 [3, H, W], RGB normalised
    target: torch.Tensor  # float32 [K, h, w]
    target_weight: torch.Tensor  # float32 [K, 1]
    center: np.ndarray
    scale: np.ndarray
    rotation: float
    joints: np.ndarray  # [K, 3] in crop pixels


class JointsDataset(Dataset):
    """Training mode draws the official augmentation from a per-item RNG seeded by (seed, epoch, index),
    so every epoch differs, any worker count gives the same samples, and a resumed run replays them."""

    def __init__(self, records: list[PersonRecord], keypoints: KeypointSet, codec: HeatmapCodec, train: bool,
                 augment: AugmentConfig | None = None, seed: int = 0, joints_weight: np.ndarray | None = None,
                 normalization: Normalization = IMAGENET):
        self.records = records
        self.normalization = normalization
        self.keypoints = keypoints
        self.codec = codec
        self.train = train
        self.augment = augment or AugmentConfig()
        self.seed = seed
        self.epoch = 0
        self.joints_weight = joints_weight
        self.upper_ids = upper_body_ids(keypoints)
        w, h = codec.input_size
        self.aspect_ratio = w / h

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def item(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, Sample]:
        """(crop RGB uint8, target, weight, sample) before tensors: what tests and previews look at."""
        rec = self.records[index]
        image = read_rgb(rec.image)
        center, scale = rec.center.copy(), rec.scale.copy()
        joints, vis = rec.joints.copy(), rec.visible.copy()
        rotation = 0.0
        if self.train:
            rng = np.random.RandomState([self.seed, self.epoch, index])
            coin = np.random.RandomState([self.seed, self.epoch, index, 1])
            cfg = self.augment
            if vis[:, 0].sum() > cfg.half_body_min_joints and rng.rand() < cfg.half_body_prob:
                c_half, s_half = half_body_transform(joints, vis, self.upper_ids, self.aspect_ratio, rng)
                if c_half is not None:
                    center, scale = c_half, s_half
            scale, rotation = random_scale_rotation(scale, cfg, rng, coin)
            if cfg.flip and coin.random_sample() <= 0.5:
                image = image[:, ::-1]
                joints, vis = fliplr_joints(joints, vis, image.shape[1], self.keypoints.flip_pairs)
                center = center.copy()
                center[0] = image.shape[1] - center[0] - 1
        w, h = self.codec.input_size
        trans = self.codec.crop_transform(center, scale, rotation)
        crop = cv2.warpAffine(np.ascontiguousarray(image), trans, (w, h), flags=cv2.INTER_LINEAR)
        shown = vis[:, 0] > 0
        joints = joints.copy()
        if shown.any():
            joints[shown, :2] = affine_transform_points(joints[shown, :2], trans)
        target, weight = self.codec.encode(joints, vis)
        if self.joints_weight is not None:
            weight = weight * self.joints_weight.reshape(-1, 1).astype(np.float32)
        sample = Sample(torch.empty(0), torch.from_numpy(target), torch.from_numpy(weight), center, scale,
                        rotation, joints)
        return crop, target, weight, sample

    def __getitem__(self, index: int):
        crop, target, weight, sample = self.item(index)
        x = normalize_crops(crop[None], self.normalization)[0]
        meta = {"index": index, "image_id": self.records[index].image_id, "center": np.asarray(sample.center, np.float32),
                "scale": np.asarray(sample.scale, np.float32), "rotation": sample.rotation,
                "score": self.records[index].box_score}
        return torch.from_numpy(x), torch.from_numpy(target), \
            torch.from_numpy(weight), meta
