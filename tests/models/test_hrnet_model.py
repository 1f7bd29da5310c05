import json

import numpy as np
import pytest
import torch

from hrnet_studio.models.hrnet import build_hrnet

LAYOUTS = ["coco_w32_256x192", "coco_w48_256x192", "coco_w32_384x288", "mpii_w32_256x256"]


@pytest.fixture(scope="module")
def layouts(parity):
    return json.loads((parity / "state_dict_layouts.json").read_text())["models"]


@pytest.mark.parametrize("name", LAYOUTS)
def test_state_dict_matches_official_layout(layouts, name):
    layout = layouts[name]
    model = build_hrnet(f"hrnet_w{layout['stage_channels']['STAGE2'][0]}", layout["num_joints"])
    ours = [(k, list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()]
    official = [(k, list(shape), dtype) for k, shape, dtype in layout["state_dict"]]
    assert ours == official
    assert sum(p.numel() for p in model.parameters()) == layout["num_parameters"]
    w, h = layout["image_size_wh"]
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, 3, h, w))
    assert list(out.shape) == layout["output_shape_for_1xinput"]


def test_keyed_init_matches_fixture_sums(parity, keyed_w32):
    fx = np.load(parity / "model_forward_w32_256x192.npz")
    sd = keyed_w32.state_dict()
    sums = np.array([sd[k].double().sum().item() for k in fx["keyed_keys"]])
    np.testing.assert_allclose(sums, fx["keyed_sum"], rtol=1e-9, atol=1e-9)


def test_forward_matches_official_heatmaps(parity, keyed_w32):
    fx = np.load(parity / "model_forward_w32_256x192.npz")
    crops = torch.from_numpy(np.load(parity / "crops.npz")["input"])
    with torch.no_grad():
        heatmaps = keyed_w32(crops).numpy()
        flipped = keyed_w32(crops.flip(3)).numpy()
    np.testing.assert_allclose(heatmaps, fx["heatmaps"], atol=1e-4)
    np.testing.assert_allclose(flipped, fx["heatmaps_flipped_input"], atol=1e-4)


def test_any_width_and_joint_count_builds():
    model = build_hrnet("hrnet_w18", 5).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 256, 256))
    assert out.shape == (2, 5, 64, 64)
    with pytest.raises(ValueError, match="unknown architecture"):
        build_hrnet("resnet50")
