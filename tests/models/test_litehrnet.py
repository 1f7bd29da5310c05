"""Lite-HRNet against mmpose's own code (parity kit §11): the state_dict layout entry by entry, and the forward on the
kit's keyed weights with its stored BN statistics."""
import json

import numpy as np
import pytest
import torch
from conftest import kit_sha256, with_stored_bn

from hrnet_studio.models.litehrnet import build_litehrnet

ARCHS = ["litehrnet_18", "litehrnet_30"]


@pytest.fixture(scope="module")
def layouts(parity):
    return json.loads((parity / "litehrnet_layouts.json").read_text())["models"]


@pytest.fixture(scope="module")
def forward(parity):
    return np.load(parity / "litehrnet_forward.npz")


def keyed_state(model, stored=None, prefix=""):
    """The kit's keyed weights, in state_dict order; BN running stats from ``stored`` (the main fixture) or the
    formula (``formula_only``)."""
    state = {}
    for i, (key, value) in enumerate(model.state_dict().items()):
        if key.endswith("num_batches_tracked"):
            state[key] = value
            continue
        shape = tuple(value.shape)
        s = np.sin(np.arange(int(np.prod(shape)), dtype=np.float64) * 0.37 + i).reshape(shape)
        if len(shape) == 4:
            w = s * 2 / np.sqrt(shape[1] * shape[2] * shape[3])
        elif key.endswith(".running_mean"):
            w = 0.1 * s
        elif key.endswith(".running_var"):
            w = 1.0 + 0.5 * s
        elif key.endswith(".weight"):
            w = 0.5 + 0.25 * s
        else:
            w = 0.1 * s
        state[key] = torch.from_numpy(w.astype(np.float32))
    return with_stored_bn(state, stored, prefix) if stored is not None else state


@pytest.mark.parametrize("arch", ARCHS)
def test_state_dict_layout_is_mmposes_entry_by_entry(layouts, arch):
    model = build_litehrnet(arch, 17)
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in model.state_dict().items()]
    assert ours == layouts[arch]["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == layouts[arch]["num_parameters"]
    leaves = [name for name, m in model.named_modules() if not list(m.children())]
    assert leaves == [name for name, _ in layouts[arch]["leaf_modules"]]


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_matches_mmpose_on_the_keyed_weights(forward, arch):
    prefix = f"{arch}__"
    model = build_litehrnet(arch, 17).eval()
    state = keyed_state(model, forward, prefix)
    assert list(state) == list(forward[prefix + "keyed_keys"])
    sums = np.array([float(v.double().sum()) if v.is_floating_point() else 0.0 for v in state.values()])
    np.testing.assert_array_equal(sums, forward[prefix + "keyed_sum"])
    assert kit_sha256(state) == str(forward[prefix + "keyed_sha256"])
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        random_out = model(torch.from_numpy(forward["input_random"]))
        real_out = model(torch.from_numpy(forward["input_real"]))
    assert random_out.shape == (2, 17, 64, 48)
    np.testing.assert_allclose(random_out.numpy(), forward[prefix + "heatmaps"], atol=1e-3)
    np.testing.assert_allclose(real_out.numpy(), forward[prefix + "heatmaps_real"], atol=1e-3)


@pytest.mark.parametrize("arch", ARCHS)
def test_formula_only_weights_match_relative_to_their_scale(forward, arch):
    prefix = f"{arch}__"
    model = build_litehrnet(arch, 17).eval()
    state = keyed_state(model)
    assert kit_sha256(state) == str(forward[prefix + "formula_only_sha256"])
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        out = model(torch.from_numpy(forward["input_random"])).numpy()
    ref = forward[prefix + "formula_only_heatmaps"]
    assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-4


def mmpose_checkpoint(path, forward, arch, head="keypoint_head"):
    """A file as mmpose saves it: {"meta", "state_dict"} with ``backbone.*`` and ``<head>.final_layer.*`` keys, the
    kit's keyed weights, no ``num_batches_tracked``."""
    model = build_litehrnet(arch, 17)
    state = {k.replace("keypoint_head.", f"{head}."): v for k, v in keyed_state(model, forward, f"{arch}__").items()
             if not k.endswith("num_batches_tracked")}
    torch.save({"meta": {"mmpose_version": "0.x"}, "state_dict": state}, path)
    return path


def test_an_mmpose_lite_hrnet_checkpoint_loads_and_runs_on_every_backend(forward, tmp_path, models_home, capsys,
                                                                         videos):
    from hrnet_studio.cli.main import main
    from hrnet_studio.inference.runtime.model_loading import open_pose_model
    from hrnet_studio.models.checkpoints import load_pose_model
    from hrnet_studio.models.registry import ModelRegistry

    path = mmpose_checkpoint(tmp_path / "litehrnet18_coco_256x192-6bace359_20211230.pth", forward, "litehrnet_18")
    model, spec = load_pose_model(path)
    assert (spec.arch, spec.num_joints, spec.input_size) == ("litehrnet_18", 17, (192, 256))
    with torch.no_grad():
        out = model(torch.from_numpy(forward["input_real"])).numpy()
    np.testing.assert_allclose(out, forward["litehrnet_18__heatmaps_real"], atol=1e-3)

    record = ModelRegistry().import_file(mmpose_checkpoint(tmp_path / "litehrnet30_coco_256x192.pth", forward,
                                                           "litehrnet_30", head="head"), name="lite30")
    assert record.metadata.arch == "litehrnet_30" and record.metadata.input_size == [192, 256]
    for backend in ("torch", "onnx"):
        loaded = open_pose_model("lite30", backend=backend, device="cpu")
        heatmaps = loaded.backend.infer(forward["input_random"])
        np.testing.assert_allclose(heatmaps, forward["litehrnet_30__heatmaps"], atol=1e-3, err_msg=backend)
    odd_batch = np.concatenate([forward["input_random"]] * 3)[:5]  # the batch stays dynamic in the ONNX file
    np.testing.assert_allclose(loaded.backend.infer(odd_batch)[: len(heatmaps)], heatmaps, atol=1e-5)

    import onnx

    from hrnet_studio.models.identify import identify

    exported = ModelRegistry().onnx_export_of(ModelRegistry().find("lite30"))  # its output sizes are left symbolic
    computed = [n.name for n in onnx.load(str(exported.path)).graph.node if n.op_type == "Shape"]
    assert not computed, f"shapes computed at run time: {computed[:5]}"  # shuffles and resizes are constants
    alone = identify(exported.path, "alone")
    assert (alone.input_size, alone.num_joints, alone.format) == ([192, 256], 17, "onnx")
    code = main(["export", str(videos / "single_person_taichi_340x256.mp4"), "--model", "lite30", "--detector", "none",
                 "--max-frames", "3", "-o", str(tmp_path / "lite.csv"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "litehrnet_30" in err and len((tmp_path / "lite.csv").read_text().splitlines()) == 4


def test_a_lite_hrnet_fine_tunes_from_an_mmpose_checkpoint_and_registers(forward, assets, tmp_path, models_home):
    from hrnet_studio.models.registry import ModelRegistry
    from hrnet_studio.training.finetune import plan_finetune
    from hrnet_studio.training.recipe import load_recipe
    from hrnet_studio.training.trainer import Trainer

    base = mmpose_checkpoint(tmp_path / "litehrnet18_coco_256x192.pth", forward, "litehrnet_18")
    root = assets / "data" / "coco_sample"
    recipe = load_recipe(None, [f"{k}={v}" for k, v in {
        "data.train_annotations": root / "annotations" / "test_coco.json", "data.train_images": root / "images",
        "model.base": base, "model.input_size": "[96, 128]", "epochs": 2, "batch_size": 6, "workers": 0,
        "device": "cpu", "output": tmp_path / "runs", "name": "lite", "flip_test": "false", "optim.lr": 1e-3,
        "register_as": "lite-tuned"}.items()])
    lines = []
    trainer = Trainer(recipe, registry=ModelRegistry(), say=lines.append, show_progress=False)
    assert trainer.model.config.arch == "litehrnet_18"
    assert any("loaded 1214 tensors" in line for line in lines)  # every tensor but num_batches_tracked
    from hrnet_studio.models.checkpoints import read_state_dict

    assert not plan_finetune(read_state_dict(base), 17).reinitialised
    assert plan_finetune(read_state_dict(base), 16).reinitialised == ["keypoint_head.final_layer.weight",
                                                                       "keypoint_head.final_layer.bias"]
    result = trainer.run()
    record = ModelRegistry().find(result.registered)
    assert record.metadata.arch == "litehrnet_18" and record.metadata.input_size == [96, 128]
