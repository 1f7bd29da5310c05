"""Person box → centre/scale → affine-warped network input, as the official HRNet code does it.

Conventions (official): points are (x, y); ``scale`` is the box size in units of
``PIXEL_STD`` = 200 px; sizes are (width, height).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ...models.spec import Normalization

IMAGENET = Normalization()  # the official HRNet's, and the default of every model that does not say otherwise
PIXEL_STD = 200.0
BOX_PADDING = 1.25


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def box_to_center_scale(
    boxes_xywh: np.ndarray,
    aspect_ratio: float,
    padding: float = BOX_PADDING,
) -> tuple[np.ndarray, np.ndarray]:
    """Official ``_xywh2cs`` for many boxes: float32 centres and padded scales.

    The box is widened or heightened to ``aspect_ratio`` (w/h of the network input),
    divided by 200 and padded ×1.25, except where the centre x is exactly −1 (a
    legacy sentinel of the official code).
    """
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    x, y, w, h = b[:, 0], b[:, 1], b[:, 2].copy(), b[:, 3].copy()
    center = np.stack([x + w * 0.5, y + h * 0.5], axis=1).astype(np.float32)
    too_wide = w > aspect_ratio * h
    too_tall = w < aspect_ratio * h
    h = np.where(too_wide, w * (1.0 / aspect_ratio), h)
    w = np.where(too_tall, h * aspect_ratio, w)
    scale = np.stack([w / PIXEL_STD, h / PIXEL_STD], axis=1).astype(np.float32)
    pad = np.where(center[:, :1] != -1, np.float32(padding), np.float32(1.0))
    return center, (scale * pad).astype(np.float32)


def _rotate(point: np.ndarray, rot_rad: float) -> list[float]:
    sn, cs = math.sin(rot_rad), math.cos(rot_rad)
    return [point[0] * cs - point[1] * sn, point[0] * sn + point[1] * cs]


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return b + np.array([-d[1], d[0]], dtype=np.float32)


def get_affine_transform(
    center: np.ndarray,
    scale: np.ndarray,
    rot: float,
    output_size: tuple[int, int],
    shift: np.ndarray = np.zeros(2, dtype=np.float32),
    inv: bool = False,
) -> np.ndarray:
    """The official 2×3 crop matrix (``inv`` gives the crop → image direction).

    Built, as the official code does, from three float32 reference points through
    ``cv2.getAffineTransform`` so the matrix matches bit for bit. The arithmetic keeps the caller's
    precision, as the official code: float32 boxes at inference, float64 scales after training
    augmentation (they round differently in the last bit of a crop pixel otherwise).
    """
    scale = np.asarray(scale)
    scale = scale if np.issubdtype(scale.dtype, np.floating) else scale.astype(np.float64)
    center = np.asarray(center)
    shift = np.asarray(shift, dtype=np.float32)
    scale_px = scale * PIXEL_STD
    dst_w, dst_h = output_size
    rot_rad = np.pi * rot / 180
    src_dir = _rotate(np.array([0, scale_px[0] * -0.5]), rot_rad)
    dst_dir = np.array([0, dst_w * -0.5], np.float32)

    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0] = center + scale_px * shift
    src[1] = center + src_dir + scale_px * shift
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    src[2:] = _third_point(src[0], src[1])
    dst[2:] = _third_point(dst[0], dst[1])
    if inv:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def get_udp_transform(
    center: np.ndarray, scale: np.ndarray, rot: float, output_size: tuple[int, int], inv: bool = False
) -> np.ndarray:
    """The 2×3 crop matrix of unbiased data processing (UDP, Huang et al., CVPR 2020).

    The box (``center`` image pixels, ``scale`` units of 200 px) maps onto ``[0, size − 1]`` of the output, so a
    pixel index and its continuous position agree and a mirrored crop is the exact mirror of the crop (the
    official matrix maps the box onto ``[0, size]`` and the flip test needs a one-pixel shift). Rotation has
    the official sign. ``inv`` gives the crop → image direction.
    """
    center = np.asarray(center, dtype=np.float64)
    box = np.asarray(scale, dtype=np.float64) * PIXEL_STD
    sx = (output_size[0] - 1.0) / box[0]
    sy = (output_size[1] - 1.0) / box[1]
    theta = np.pi * rot / 180
    cs, sn = math.cos(theta), math.sin(theta)
    linear = np.array([[sx * cs, sx * sn], [-sy * sn, sy * cs]])
    offset = np.array([(output_size[0] - 1.0) / 2, (output_size[1] - 1.0) / 2]) - linear @ center
    matrix = np.concatenate([linear, offset[:, None]], axis=1)
    return cv2.invertAffineTransform(matrix) if inv else matrix


def crop_transform(center: np.ndarray, scale: np.ndarray, rot: float, output_size: tuple[int, int],
                   udp: bool = False, inv: bool = False) -> np.ndarray:
    """The official crop matrix, or UDP's when ``udp``: what every crop and every mapping back goes through."""
    if udp:
        return get_udp_transform(center, scale, rot, output_size, inv=inv)
    return get_affine_transform(center, scale, rot, output_size, inv=inv)


def affine_transform_points(points: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Apply 2×3 matrices to points: ``trans`` [..., 2, 3] broadcasts against ``points`` [..., 2].

    One stacked matrix-vector product per point, in float64: this rounds exactly as the
    official per-point ``np.dot`` does (a plain ``points @ trans.T`` differs in the last bit).
    """
    p = np.asarray(points, dtype=np.float64)
    homogeneous = np.concatenate([p, np.ones(p.shape[:-1] + (1,))], axis=-1)[..., None]
    trans = np.broadcast_to(trans, homogeneous.shape[:-2] + (2, 3))
    return np.matmul(trans, homogeneous)[..., 0]


def transform_preds(
    coords: np.ndarray, center: np.ndarray, scale: np.ndarray, heatmap_size: tuple[int, int]
) -> np.ndarray:
    """Heatmap (x, y) of one person → image pixels (official ``transform_preds``)."""
    trans = get_affine_transform(center, scale, 0, heatmap_size, inv=True)
    return affine_transform_points(coords, trans)


def warp_crops(
    frame_bgr: np.ndarray,
    centers: np.ndarray,
    scales: np.ndarray,
    input_size: tuple[int, int],
    rotations: np.ndarray | None = None,
    udp: bool = False,
) -> np.ndarray:
    """Warp every person of a frame to the network input: uint8 [N, H, W, 3] in **RGB** order.

    Warping the BGR frame and reversing the channels of the small crops gives the same
    bytes as converting the whole frame first, at a fraction of the cost.
    """
    w, h = input_size
    n = len(centers)
    crops = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        rot = 0.0 if rotations is None else float(rotations[i])
        trans = crop_transform(centers[i], scales[i], rot, input_size, udp)
        cv2.warpAffine(frame_bgr, trans, (w, h), dst=crops[i], flags=cv2.INTER_LINEAR)
    return crops[..., ::-1]


def normalize_crops(crops_rgb: np.ndarray, normalization: Normalization = IMAGENET) -> np.ndarray:
    """uint8 [N, H, W, 3] RGB → float32 [N, 3, H, W]: the model's channel order, then ``(x/255 − mean)/std``
    as ToTensor+Normalize."""
    if normalization.colour == "bgr":
        crops_rgb = crops_rgb[..., ::-1]
    x = crops_rgb.astype(np.float32) / np.float32(255.0)
    x = (x - normalization.mean_array) / normalization.std_array
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def person_crops(
    frame_bgr: np.ndarray, boxes_xyxy: np.ndarray, input_size: tuple[int, int],
    normalization: Normalization = IMAGENET, udp: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The network input for each person box, as the official test does it: (batch float32 [N, 3, H, W],
    normalised as the model expects; centres [N, 2] and scales [N, 2] for mapping keypoints back).
    ``input_size`` is (w, h) pixels; ``boxes_xyxy`` [N, 4] frame pixels; ``udp``: UDP's crop matrix."""
    w, h = input_size
    centers, scales = box_to_center_scale(xyxy_to_xywh(boxes_xyxy), w / h)
    batch = normalize_crops(warp_crops(frame_bgr, centers, scales, (w, h), udp=udp), normalization)
    return batch, centers, scales
