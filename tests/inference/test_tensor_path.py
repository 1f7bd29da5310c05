"""The tensor path (PyTorch backend): crops made and heatmaps decoded on the network's device, checked on CPU tensors
against the OpenCV/numpy path."""
import numpy as np
import pytest
import torch

from hrnet_studio.inference.codec.decode import average_flip, heatmap_coords
from hrnet_studio.inference.codec.tensor_crops import person_crops_tensor
from hrnet_studio.inference.codec.tensor_decode import (
    average_flip_tensor,
    heatmap_coords_tensor,
)
from hrnet_studio.inference.codec.transforms import person_crops
from hrnet_studio.inference.detect.detector import Detections
from hrnet_studio.inference.options import PipelineOptions
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.inference.runtime.backends import TorchBackend
from hrnet_studio.models.spec import PoseModelSpec
from hrnet_studio.skeletons import COCO_17
from hrnet_studio.sources.video_file import VideoFileSource

LEVEL = 1 / (255 * 0.224)  # one level of a uint8 crop after ImageNet normalisation (the smallest std)
CPU = torch.device("cpu")


def frames_of(videos, clip, count):
    with VideoFileSource(videos / clip) as source:
        return [frame.image for frame, _ in zip(source, range(count))]


@pytest.mark.parametrize("udp", [False, True])
def test_crops_made_on_the_device_are_opencvs_within_one_level(videos, udp):
    frame = frames_of(videos, "two_people_basketball_gym_426x240.mp4", 1)[0]
    boxes = np.array([[100, 40, 180, 230], [250.3, 30.7, 330.2, 235.9], [-20, -10, 90, 250]], np.float32)  # one off
    expected, centers, scales = person_crops(frame, boxes, (192, 256), udp=udp)
    made, made_centers, made_scales = person_crops_tensor(frame, boxes, (192, 256), CPU, udp=udp)
    assert made.dtype == torch.float32 and made.shape == expected.shape
    np.testing.assert_array_equal(made_centers, centers)
    np.testing.assert_array_equal(made_scales, scales)
    difference = np.abs(made.numpy() - expected)
    assert difference.max() <= LEVEL * 1.0001  # OpenCV's fixed-point rounding: one level at most
    assert (difference > 1e-6).mean() <= 1e-3  # measured: 3 values in 100,000
    assert len(person_crops_tensor(frame, boxes[:0], (192, 256), CPU)[0]) == 0


def peaked_heatmaps(n=6, k=17, h=64, w=48, seed=0):
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w]
    cx, cy = rng.uniform(-2, w + 1, (n, k)), rng.uniform(-2, h + 1, (n, k))  # some peaks off the map
    maps = np.exp(-((xs - cx[..., None, None]) ** 2 + (ys - cy[..., None, None]) ** 2) / 8).astype(np.float32)
    maps += rng.normal(0, 0.02, maps.shape).astype(np.float32)
    maps[0, 0] = -1.0  # nothing found: coordinates zeroed
    maps[1, 1] = 0.5  # a flat map: the first maximum
    return maps


@pytest.mark.parametrize("decoder", ["argmax", "official", "dark"])
def test_decoding_on_the_device_is_the_numpy_decoders_bit_for_bit(decoder):
    maps = peaked_heatmaps()
    coords, scores = heatmap_coords(maps, decoder)
    on_device, device_scores = heatmap_coords_tensor(torch.from_numpy(maps), decoder)
    np.testing.assert_array_equal(on_device, coords)
    np.testing.assert_array_equal(device_scores, scores)
    pairs = COCO_17.flip_pairs
    mirrored = peaked_heatmaps(seed=1)
    for shift in (True, False):
        np.testing.assert_array_equal(
            average_flip_tensor(torch.from_numpy(maps), torch.from_numpy(mirrored), pairs, shift).numpy(),
            average_flip(maps, mirrored, pairs, shift))


class BrightSpots(torch.nn.Module):
    """A stand-in network with real peaks: each joint's heatmap is the crop's brightness seen through its own fixed
    positive 9×9 kernel at a quarter of the resolution, so its peaks sit on the crop's content."""

    def __init__(self, joints=17):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.kernels = torch.nn.Parameter(torch.rand(joints, 1, 9, 9, generator=generator), requires_grad=False)

    def forward(self, x):
        grey = torch.nn.functional.avg_pool2d(x.mean(dim=1, keepdim=True), 4)
        return torch.nn.functional.conv2d(grey, self.kernels, padding=4) / 81


@pytest.mark.parametrize("flip", [False, True])
def test_the_pytorch_backend_estimates_on_its_device_as_the_cpu_path_does(videos, flip):
    spec = PoseModelSpec("hrnet_w32", 17, (192, 256), COCO_17)
    backend = TorchBackend(BrightSpots(), "cpu")
    pipeline = PosePipeline(backend, spec, detector=None, options=PipelineOptions(flip_test=flip, decoder="dark"))
    assert pipeline.tensor_path
    frames = frames_of(videos, "two_people_basketball_gym_426x240.mp4", 8)
    boxes = Detections(np.array([[90, 25, 200, 235], [230, 20, 340, 238]], np.float32), np.ones(2, np.float32))
    on_device = [pipeline.estimate(frame, boxes) for frame in frames]
    pipeline.tensor_path = False  # the OpenCV crops and numpy decoding, with the same network
    on_host = [pipeline.estimate(frame, boxes) for frame in frames]
    gaps = np.concatenate([np.linalg.norm(a.keypoints - b.keypoints, axis=1)
                           for device, host in zip(on_device, on_host) for a, b in zip(device, host)])
    assert len(gaps) == 8 * 2 * 17 and np.percentile(gaps, 99) <= 0.05  # px
    scores = np.concatenate([np.abs(a.scores - b.scores) for d, h in zip(on_device, on_host) for a, b in zip(d, h)])
    assert scores.max() <= 0.01
