"""HRNetV2-W18 (face and hand landmarks) against mmpose's own code (parity kit §12): the state_dict layout entry by
entry, and the forward on the kit's keyed weights with its stored BN statistics."""
import json
import zlib

import numpy as np
import pytest
import torch
from conftest import kit_sha256, with_stored_bn

from hrnet_studio.models.hrnet import build_hrnet

MODELS = {"hrnetv2_w18_wflw": 98, "hrnetv2_w18_coco_wholebody_hand": 21, "hrnetv2_w18_coco_wholebody_face": 68}


@pytest.fixture(scope="module")
def layouts(parity):
    return json.loads((parity / "hrnetv2_layouts.json").read_text())["models"]


@pytest.fixture(scope="module")
def forward(parity):
    return np.load(parity / "hrnetv2_forward.npz")


def mmpose_name(key: str) -> str:
    """Our key as mmpose 0.x saves it."""
    return "keypoint_head." + key if key.startswith("final_layer.") else "backbone." + key


def keyed_state(model, stored=None, prefix="hrnetv2_w18_wflw__"):
    """The kit's crc32-keyed weights (§10's formula on the 0.x names), in mmpose 0.x naming; BN running stats from
    ``stored`` (the main fixture) or the formula (``formula_only``)."""
    state = {}
    for key, value in model.state_dict().items():
        name = mmpose_name(key)
        if key.endswith("num_batches_tracked"):
            state[name] = value
            continue
        rng = np.random.default_rng(zlib.crc32(name.encode("utf-8")))
        shape = tuple(value.shape)
        if len(shape) == 4:
            w = rng.standard_normal(shape) * np.sqrt(2 / np.prod(shape[1:]))
        elif key.endswith((".running_mean", ".bias")):
            w = rng.uniform(-0.1, 0.1, shape)
        elif key.endswith(".running_var"):
            w = rng.uniform(0.5, 1.5, shape)
        else:
            w = rng.uniform(0.2, 0.5, shape)
        state[name] = torch.from_numpy(w.astype(np.float32))
    return with_stored_bn(state, stored, prefix) if stored is not None else state


def ours(state):
    from hrnet_studio.models.checkpoints import normalize_state_dict

    return normalize_state_dict(state)


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_layout_is_mmposes_entry_by_entry(layouts, name):
    model = build_hrnet("hrnetv2_w18", MODELS[name])
    mine = [[mmpose_name(k), list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in model.state_dict().items()]
    assert mine == layouts[name]["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == layouts[name]["num_parameters"]
    assert model.config.arch == "hrnetv2_w18"


@pytest.mark.parametrize("name", MODELS)
def test_forward_matches_mmpose_on_the_keyed_weights(forward, name):
    k = MODELS[name]
    model = build_hrnet("hrnetv2_w18", k).eval()
    state = keyed_state(model, forward, f"{name}__")
    assert list(state) == list(forward[f"{name}__keyed_keys"])
    sums = np.array([float(v.double().sum()) if v.is_floating_point() else 0.0 for v in state.values()])
    np.testing.assert_allclose(sums, forward[f"{name}__keyed_sum"], rtol=1e-12)
    assert kit_sha256(state) == str(forward[f"{name}__keyed_sha256"])
    model.load_state_dict(ours(state), strict=True)
    with torch.no_grad():
        random_out = model(torch.from_numpy(forward["input_random"])).numpy()
        real_out = model(torch.from_numpy(forward["input_real"])).numpy()
    assert random_out.shape == (2, k, 64, 64)
    source = name if f"{name}__heatmaps" in forward else "hrnetv2_w18_wflw"  # the 68-point face: WFLW's first 68
    np.testing.assert_allclose(random_out, forward[f"{source}__heatmaps"][:, :k], atol=1e-3)
    np.testing.assert_allclose(real_out, forward[f"{source}__heatmaps_real"][:, :k], atol=1e-3)


def test_formula_only_weights_match_relative_to_their_scale(forward):
    name = "hrnetv2_w18_coco_wholebody_hand"
    model = build_hrnet("hrnetv2_w18", 21).eval()
    state = keyed_state(model)
    assert kit_sha256(state) == str(forward[f"{name}__formula_only_sha256"])
    model.load_state_dict(ours(state), strict=True)
    with torch.no_grad():
        out = model(torch.from_numpy(forward["input_random"])).numpy()
    ref = forward[f"{name}__formula_only_heatmaps"]
    assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-4


@pytest.mark.parametrize("name", MODELS)
def test_landmark_sets_are_mmposes(layouts, name):
    from hrnet_studio.skeletons import keypoint_set_for

    meta = layouts[name]["dataset_meta"]
    kps = keypoint_set_for(MODELS[name])
    assert [list(p) for p in kps.flip_pairs] == meta["flip_pairs"]
    assert kps.flip_permutation().tolist() == meta["flip_indices"]
    if meta["sigmas"]:
        assert list(kps.sigmas) == meta["sigmas"]
    if name.endswith("hand"):
        assert list(kps.names) == meta["keypoint_names"]
    assert all(0 <= a < kps.num_joints and 0 <= b < kps.num_joints for a, b in kps.edges)


def mmpose_file(path, forward, name="hrnetv2_w18_coco_wholebody_hand", version="0.x"):
    """A file as mmpose saves it ({"meta", "state_dict"}), in 0.x or 1.x naming, the kit's keyed weights, no
    ``num_batches_tracked``."""
    k = MODELS[name]
    state = {key: v for key, v in keyed_state(build_hrnet("hrnetv2_w18", k), forward, f"{name}__").items()
             if not key.endswith("num_batches_tracked")}
    if version == "1.x":  # mmpose 1.x's HeatmapHead names (parity kit §12, head_keys_0x_to_1x)
        renamed = {}
        for key, v in state.items():
            for old, new in (("keypoint_head.final_layer.0.", "head.conv_layers.0."),
                             ("keypoint_head.final_layer.1.", "head.conv_layers.1."),
                             ("keypoint_head.final_layer.3.", "head.final_layer.")):
                key = key.replace(old, new)
            renamed[key] = v
        state = renamed
    torch.save({"meta": {"mmpose_version": version}, "state_dict": state}, path)
    return path


@pytest.mark.parametrize("version", ["0.x", "1.x"])
def test_mmpose_hrnetv2_checkpoints_load_strictly_in_either_naming(forward, tmp_path, version):
    from hrnet_studio.models.checkpoints import load_pose_model

    path = mmpose_file(tmp_path / "hrnetv2_w18_wflw_256x256-2bf032a6_20210125.pth", forward, "hrnetv2_w18_wflw",
                       version)
    model, spec = load_pose_model(path)
    assert (spec.arch, spec.num_joints, spec.input_size, spec.keypoints.name) == ("hrnetv2_w18", 98, (256, 256),
                                                                                  "wflw98")
    with torch.no_grad():
        out = model(torch.from_numpy(forward["input_real"])).numpy()
    np.testing.assert_allclose(out, forward["hrnetv2_w18_wflw__heatmaps_real"], atol=1e-3)


def test_an_hrnetv2_hand_model_imports_and_runs_on_every_backend(forward, tmp_path, models_home, capsys):
    from hrnet_studio.inference.runtime.model_loading import open_pose_model
    from hrnet_studio.models.identify import identify
    from hrnet_studio.models.registry import ModelRegistry

    record = ModelRegistry().import_file(mmpose_file(tmp_path / "hand.pth", forward, version="1.x"), name="hand")
    meta = record.metadata
    assert (meta.arch, meta.input_size, meta.num_joints) == ("hrnetv2_w18", [256, 256], 21)
    for backend in ("torch", "onnx"):
        loaded = open_pose_model("hand", backend=backend, device="cpu")
        assert loaded.spec.keypoints.name == "hand21"
        heatmaps = loaded.backend.infer(forward["input_random"])
        np.testing.assert_allclose(heatmaps, forward["hrnetv2_w18_coco_wholebody_hand__heatmaps"], atol=1e-3,
                                   err_msg=backend)
    exported = ModelRegistry().onnx_export_of(ModelRegistry().find("hand"))
    alone = identify(exported.path, "alone")
    assert (alone.input_size, alone.num_joints, alone.format) == ([256, 256], 21, "onnx")

    from hrnet_studio.cli.main import main

    capsys.readouterr()
    assert main(["models", "list"]) == 0
    listed = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("hand "))
    assert "hrnetv2_w18" in listed and "256x256" in listed and "21" in listed
    assert main(["bench", "--model", "hand", "--backend", "onnx", "--batches", "2", "--seconds", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "hand: hrnetv2_w18, 256x256, onnx fp32" in out and out.strip().splitlines()[-1].split()[0] == "2"


def test_an_hrnetv2_fine_tunes_to_another_landmark_set_and_registers(landmark_files, assets, tmp_path, models_home):
    from hrnet_studio.models.checkpoints import read_state_dict
    from hrnet_studio.models.registry import ModelRegistry
    from hrnet_studio.training.finetune import plan_finetune
    from hrnet_studio.training.recipe import load_recipe
    from hrnet_studio.training.trainer import Trainer

    base = landmark_files["hand"]  # 21 points; the sample's 17 are another set: a new last layer
    plan = plan_finetune(read_state_dict(base), 17)
    assert plan.arch == "hrnetv2_w8" and plan.reinitialised == ["final_layer.3.weight", "final_layer.3.bias"]
    root = assets / "data" / "coco_sample"
    recipe = load_recipe(None, [f"{k}={v}" for k, v in {
        "data.train_annotations": root / "annotations" / "test_coco.json", "data.train_images": root / "images",
        "model.base": base, "model.input_size": "[64, 64]", "epochs": 1, "batch_size": 6, "workers": 0,
        "device": "cpu", "output": tmp_path / "runs", "name": "v2", "flip_test": "false",
        "register_as": "v2-tuned"}.items()])
    trainer = Trainer(recipe, registry=ModelRegistry(), say=lambda line: None, show_progress=False)
    assert trainer.model.config.arch == "hrnetv2_w8"
    record = ModelRegistry().find(trainer.run().registered)
    assert record.metadata.arch == "hrnetv2_w8" and record.metadata.input_size == [64, 64]
    assert record.metadata.num_joints == 17
