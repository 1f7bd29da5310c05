"""One codec for both directions: joints → heatmap targets for training, heatmaps → joints for inference.

The pipeline, training and evaluation all get it from the model's description (``HeatmapCodec.for_spec``) or
its input size, so the Gaussian the network learns and the decoder that reads it cannot drift apart (same
stride, same heatmap size, same sigma).

Three target encodings (``ENCODINGS``); a model's metadata records the one it was trained with:

* ``official``: the Gaussian's peak on the rounded heatmap pixel, bit for bit as the official HRNet (the
  rounding costs accuracy no decoder can recover);
* ``unbiased``: the Gaussian centred on the joint's exact sub-pixel position, as DARK (Zhang et al., CVPR 2020)
  trains; same crops as ``official``;
* ``udp``: unbiased data processing (Huang et al., CVPR 2020): crops map the box onto ``[0, size − 1]``,
  heatmap positions are ``x · (w_hm − 1) / (w_in − 1)``, the Gaussian sits at that exact position, keypoints
  map back through the same matrix and the flip test needs no one-pixel shift.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ...models.spec import ENCODINGS, PoseModelSpec, heatmap_size_for
from .decode import Decoder, decode
from .transforms import crop_transform

Encoding = Literal["official", "unbiased", "udp"]


@dataclass(frozen=True)
class HeatmapCodec:
    """Encodes joints as Gaussian heatmaps (training targets) and decodes heatmaps to image keypoints."""

    input_size: tuple[int, int]  # (width, height) of the network input, pixels
    heatmap_size: tuple[int, int]  # (width, height) of its output, heatmap pixels
    sigma: float = 2.0  # of the target Gaussian, heatmap pixels
    decoder: Decoder = "dark"
    encoding: Encoding = "official"

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise ValueError(f"unknown target encoding {self.encoding!r}; choose one of {', '.join(ENCODINGS)}")

    @classmethod
    def for_input(cls, input_size: tuple[int, int], sigma: float = 2.0, decoder: Decoder = "dark",
                  encoding: Encoding = "official") -> HeatmapCodec:
        return cls(tuple(input_size), heatmap_size_for(input_size), sigma, decoder, encoding)

    @classmethod
    def for_spec(cls, spec: PoseModelSpec, decoder: Decoder = "dark", sigma: float = 2.0) -> HeatmapCodec:
        """The codec of a described model (its input size gives the heatmap size, its metadata the encoding)."""
        return cls.for_input(spec.input_size, sigma, decoder, spec.encoding)

    @property
    def udp(self) -> bool:
        """Crops and mapping back use UDP's matrix."""
        return self.encoding == "udp"

    @property
    def flip_shift(self) -> bool:
        """Whether the flip test shifts the mirrored heatmaps one pixel (official geometry) or not (UDP)."""
        return not self.udp

    @property
    def stride(self) -> np.ndarray:
        return np.array(self.input_size, dtype=np.float64) / np.array(self.heatmap_size, dtype=np.float64)

    def crop_transform(self, center: np.ndarray, scale: np.ndarray, rotation: float = 0.0) -> np.ndarray:
        """The 2×3 image → network-input matrix for a box (``center`` pixels, ``scale`` units of 200 px)."""
        return crop_transform(center, scale, rotation, self.input_size, self.udp)

    def heatmap_position(self, joints: np.ndarray) -> np.ndarray:
        """Input-crop pixels [K, 2] → exact heatmap positions [K, 2] (heatmap pixels) in this encoding."""
        joints = np.asarray(joints, dtype=np.float64)[:, :2]
        if self.udp:
            return joints * (np.array(self.heatmap_size) - 1.0) / (np.array(self.input_size) - 1.0)
        return joints / self.stride

    def encode(self, joints: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian targets [K, H, W] float32 and weights [K, 1] float32.

        ``joints`` [K, 2+] are input-crop pixels, ``visible`` [K] (or [K, 3], first column used).
        ``official`` is the official ``generate_target`` bit for bit: the peak sits on the integer heatmap pixel
        ``int(x / stride + 0.5)`` (truncation toward zero), the patch is 6σ+1 wide, and a joint whose patch
        misses the map gets weight 0. ``unbiased`` and ``udp`` centre the Gaussian on ``heatmap_position``
        (sub-pixel), with the same patch and the same weight rule.
        """
        if self.encoding != "official":
            return self._encode_exact(joints, visible)
        joints = np.asarray(joints, dtype=np.float64)
        vis = np.asarray(visible, dtype=np.float64)
        vis = vis[:, 0] if vis.ndim == 2 else vis
        num_joints = len(joints)
        w, h = self.heatmap_size
        weight = vis.astype(np.float32).reshape(num_joints, 1).copy()
        target = np.zeros((num_joints, h, w), dtype=np.float32)
        tmp = self.sigma * 3
        size = 2 * tmp + 1
        x = np.arange(0, size, 1, np.float32)
        y = x[:, np.newaxis]
        x0 = y0 = size // 2
        g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * self.sigma ** 2))
        stride = self.stride
        for k in range(num_joints):
            mu_x = int(joints[k, 0] / stride[0] + 0.5)
            mu_y = int(joints[k, 1] / stride[1] + 0.5)
            ul = [int(mu_x - tmp), int(mu_y - tmp)]
            br = [int(mu_x + tmp + 1), int(mu_y + tmp + 1)]
            if ul[0] >= w or ul[1] >= h or br[0] < 0 or br[1] < 0:
                weight[k] = 0
                continue
            if weight[k] <= 0.5:
                continue
            g_x = max(0, -ul[0]), min(br[0], w) - ul[0]
            g_y = max(0, -ul[1]), min(br[1], h) - ul[1]
            img_x = max(0, ul[0]), min(br[0], w)
            img_y = max(0, ul[1]), min(br[1], h)
            target[k, img_y[0]:img_y[1], img_x[0]:img_x[1]] = g[g_y[0]:g_y[1], g_x[0]:g_x[1]]
        return target, weight

    def _encode_exact(self, joints: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vis = np.asarray(visible, dtype=np.float64)
        vis = vis[:, 0] if vis.ndim == 2 else vis
        mu = self.heatmap_position(joints)  # [K, 2] heatmap pixels
        w, h = self.heatmap_size
        radius = self.sigma * 3
        centre = np.floor(mu + 0.5)
        misses = (centre[:, 0] - radius >= w) | (centre[:, 1] - radius >= h) | \
                 (centre[:, 0] + radius + 1 < 0) | (centre[:, 1] + radius + 1 < 0)
        weight = np.where(misses, 0.0, vis).astype(np.float32).reshape(-1, 1)
        xs = np.arange(w, dtype=np.float64)
        ys = np.arange(h, dtype=np.float64)
        dx = xs[None, :] - mu[:, :1]  # [K, W]
        dy = ys[None, :] - mu[:, 1:]  # [K, H]
        inside = (np.abs(xs[None, :] - centre[:, :1]) <= radius)[:, None, :] & \
                 (np.abs(ys[None, :] - centre[:, 1:]) <= radius)[:, :, None]
        g = np.exp(-(dy[:, :, None] ** 2 + dx[:, None, :] ** 2) / (2 * self.sigma ** 2)) * inside
        g *= (weight[:, :, None] > 0.5)
        return g.astype(np.float32), weight

    def decode(self, heatmaps: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps float32 [N, K, H, W] of crops with ``centers`` [N, 2] (image pixels) and ``scales`` [N, 2]
        (units of 200 px) → image keypoints float32 [N, K, 2] (pixels) and scores float32 [N, K, 1]."""
        expected = (self.heatmap_size[1], self.heatmap_size[0])
        if heatmaps.shape[2:] != expected:
            raise ValueError(f"heatmaps are {heatmaps.shape[2:]} but this codec makes {expected}")
        return decode(heatmaps, centers, scales, self.decoder, self.udp)

    def decode_tensor(self, heatmaps, centers: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``decode`` for heatmaps on a torch device [N, K, H, W]: decoded there (``tensor_decode``), mapped back on
        the host; the same keypoints [N, K, 2] frame pixels and scores [N, K, 1]."""
        return self.decode_tensor_end(self.decode_tensor_start(heatmaps), centers, scales)

    def decode_tensor_start(self, heatmaps):
        """The first half of ``decode_tensor``: decoding queued on the device, its result on the way to the host
        (``tensor_decode.HostCopy``); ``decode_tensor_end`` waits for it."""
        from .tensor_decode import heatmap_coords_tensor_start

        if tuple(heatmaps.shape[2:]) != (self.heatmap_size[1], self.heatmap_size[0]):
            raise ValueError(f"heatmaps are {tuple(heatmaps.shape[2:])} but this codec makes {self.heatmap_size[::-1]}")
        return heatmap_coords_tensor_start(heatmaps, self.decoder)

    def decode_tensor_end(self, copy, centers: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints [N, K, 2] frame pixels and scores [N, K, 1] of a ``decode_tensor_start``, once on the host."""
        from .decode import heatmap_to_image

        coords, maxvals = copy.numpy()
        return heatmap_to_image(coords, centers, scales, self.heatmap_size, self.udp), maxvals
