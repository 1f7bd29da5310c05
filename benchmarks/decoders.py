"""How far from the truth does each heatmap decoder land? Argmax, the official quarter offset, and DARK.

    python benchmarks/decoders.py [--repeats 40] [--noise 0.05] [--input-size 192x256]

Every labelled person of the shared COCO and MPII samples is cropped as in validation (ground-truth box →
centre/scale → the network input), with ``--repeats`` random shifts of the box (±10% of its size) so each
joint lands at many sub-pixel positions on the heatmap. Its true heatmap position is known from the crop
transform, so three kinds of heatmaps are decoded and mapped back to the image:

* ``ideal``: a Gaussian (σ 2) centred on the true sub-pixel position, what a network trained with
  unbiased targets would output;
* ``noisy``: the same plus Gaussian noise (``--noise`` × the peak), nearer to a real network;
* ``official targets``: the official training target (peak on the rounded heatmap pixel), what a network
  trained with the official code learns to output; no decoder can recover what rounding lost.

Printed: the mean, median and 95th-percentile error in image pixels per decoder, and the ratios of the
official decoder's mean error to DARK's, measured side by side in this one run.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrnet_studio.inference.codec.decode import DECODERS, decode
from hrnet_studio.inference.codec.heatmap_codec import HeatmapCodec
from hrnet_studio.inference.codec.transforms import (
    affine_transform_points,
    get_affine_transform,
)
from hrnet_studio.training.datasets.coco import CocoKeypoints
from hrnet_studio.training.datasets.mpii import load_mpii


def persons(assets: Path, aspect: float) -> list:
    coco = assets / "data" / "coco_sample"
    mpii = assets / "data" / "mpii_sample"
    records = CocoKeypoints(coco / "annotations" / "test_coco.json", coco / "images").gt_records(aspect)
    return records + load_mpii(mpii / "annotations" / "test_mpii.json", mpii / "images")


def gaussian_maps(points: np.ndarray, size: tuple[int, int], sigma: float = 2.0) -> np.ndarray:
    """Unnormalised Gaussians [N, K, H, W] (peak 1) centred on sub-pixel heatmap points [N, K, 2]."""
    w, h = size
    xs = np.arange(w, dtype=np.float64)
    ys = np.arange(h, dtype=np.float64)
    gx = np.exp(-((xs[None, None, :] - points[..., 0:1]) ** 2) / (2 * sigma**2))  # [N, K, W]
    gy = np.exp(-((ys[None, None, :] - points[..., 1:2]) ** 2) / (2 * sigma**2))  # [N, K, H]
    return (gy[..., :, None] * gx[..., None, :]).astype(np.float32)


def samples(records: list, repeats: int, codec: HeatmapCodec, rng: np.random.Generator):
    """Per sample: centre, scale, true image joints, their heatmap positions, and visibility."""
    centers, scales, joints, on_map, visible, crop_joints = [], [], [], [], [], []
    for rec in records:
        box = rec.scale * 200 / 1.25
        for _ in range(repeats):
            center = rec.center + rng.uniform(-0.1, 0.1, 2) * box
            trans = get_affine_transform(center, rec.scale, 0, codec.heatmap_size)
            to_input = get_affine_transform(center, rec.scale, 0, codec.input_size)
            centers.append(center)
            scales.append(rec.scale)
            joints.append(rec.joints[:, :2])
            on_map.append(affine_transform_points(rec.joints[:, :2], trans))
            crop_joints.append(affine_transform_points(rec.joints[:, :2], to_input))
            visible.append(rec.visible[:, 0] > 0)
    return (np.array(centers), np.array(scales), joints, on_map, visible, crop_joints)


def errors(heatmaps: list[np.ndarray], centers, scales, joints, visible, decoder: str) -> np.ndarray:
    out = []
    for maps, c, s, j, v in zip(heatmaps, centers, scales, joints, visible):
        coords, _ = decode(maps[None], c[None], s[None], decoder)
        inside = v & (maps.max(axis=(1, 2)) > 0.5)  # joints whose peak lies on the map
        out.append(np.linalg.norm(coords[0] - j, axis=1)[inside])
    return np.concatenate(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--input-size", default="192x256")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    assets = Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))
    w, h = (int(v) for v in args.input_size.lower().split("x"))
    codec = HeatmapCodec.for_input((w, h))
    rng = np.random.default_rng(args.seed)
    records = persons(assets, w / h)
    centers, scales, joints, on_map, visible, crop_joints = samples(records, args.repeats, codec, rng)

    ideal = [gaussian_maps(p[None], codec.heatmap_size)[0] for p in on_map]
    noisy = [m + rng.normal(0, args.noise, m.shape).astype(np.float32) for m in ideal]
    official = [codec.encode(cj, v.astype(float))[0] for cj, v in zip(crop_joints, visible)]
    n_joints = int(sum(v.sum() for v in visible))
    print(f"{len(records)} persons × {args.repeats} box shifts, {n_joints} labelled joints; input {w}×{h}, "
          f"heatmap {codec.heatmap_size[0]}×{codec.heatmap_size[1]}; noise {args.noise} of the peak\n")
    print(f"{'heatmaps':<18}{'decoder':<10}{'mean px':>9}{'median':>9}{'p95':>9}")
    means: dict[tuple[str, str], float] = {}
    for kind, maps in (("ideal", ideal), ("noisy", noisy), ("official targets", official)):
        for decoder in DECODERS:
            err = errors(maps, centers, scales, joints, visible, decoder)
            means[kind, decoder] = float(err.mean())
            print(f"{kind:<18}{decoder:<10}{err.mean():9.3f}{np.median(err):9.3f}{np.percentile(err, 95):9.3f}")
    print()
    for kind in ("ideal", "noisy", "official targets"):
        ratio = means[kind, "official"] / means[kind, "dark"]
        print(f"RATIO official / DARK mean error, {kind}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
