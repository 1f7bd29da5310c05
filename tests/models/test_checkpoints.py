import os
import pickle

import pytest
import torch

from hrnet_studio.errors import CheckpointError
from hrnet_studio.models.checkpoints import (
    infer_architecture,
    load_pose_model,
    read_state_dict,
)
from hrnet_studio.models.hrnet import build_hrnet


@pytest.fixture(scope="module")
def w32_state():
    torch.manual_seed(0)
    return build_hrnet("hrnet_w32", 17).state_dict()


def test_official_checkpoint_loads_strict_and_identically(tmp_path, w32_state):
    path = tmp_path / "pose_hrnet_w32_384x288.pth"
    torch.save(w32_state, path)
    model, spec = load_pose_model(path)
    assert (spec.arch, spec.num_joints, spec.input_size, spec.heatmap_size) == ("hrnet_w32", 17, (288, 384), (72, 96))
    assert spec.keypoints.names[0] == "nose"
    for key, value in model.state_dict().items():
        assert torch.equal(value, w32_state[key]), key


@pytest.mark.parametrize("wrap", ["state_dict", "best_state_dict", "module_prefix", "mmpose", "mmpose_1x"])
def test_wrapped_and_mmpose_checkpoints(tmp_path, w32_state, wrap):
    if wrap in ("state_dict", "best_state_dict"):
        obj = {wrap: w32_state, "epoch": 3}
    elif wrap == "module_prefix":
        obj = {"state_dict": {f"module.{k}": v for k, v in w32_state.items()}, "epoch": 3}
    else:
        head = "keypoint_head" if wrap == "mmpose" else "head"
        obj = {"meta": {"mmpose_version": "x"}, "state_dict": {
            (f"{head}.{k}" if k.startswith("final_layer") else f"backbone.{k}"): v for k, v in w32_state.items()
        }}
    path = tmp_path / "ckpt.pth"
    torch.save(obj, path)
    model, spec = load_pose_model(path)
    assert spec.arch == "hrnet_w32" and spec.input_size == (192, 256)
    assert torch.equal(model.state_dict()["final_layer.weight"], w32_state["final_layer.weight"])


def test_missing_num_batches_tracked_is_tolerated(tmp_path, w32_state):
    path = tmp_path / "old.pth"
    torch.save({k: v for k, v in w32_state.items() if not k.endswith("num_batches_tracked")}, path)
    load_pose_model(path)


def test_arch_and_joints_are_read_from_tensors(tmp_path):
    sd = build_hrnet("hrnet_w48", 16).state_dict()
    assert infer_architecture(sd) == ("hrnet_w48", 16, 1)
    path = tmp_path / "mpii.pth"
    torch.save(sd, path)
    _, spec = load_pose_model(path)
    assert spec.keypoints.name == "mpii16" and spec.input_size == (256, 256)


def test_wrong_joint_count_names_the_shapes(tmp_path, w32_state):
    path = tmp_path / "mpii.pth"
    torch.save(build_hrnet("hrnet_w32", 16).state_dict(), path)
    with pytest.raises(CheckpointError) as err:
        load_pose_model(path, num_joints=17)
    assert "final_layer.weight: checkpoint [16, 32, 1, 1] vs model [17, 32, 1, 1]" in str(err.value)


def test_other_architecture_names_the_keys(tmp_path):
    path = tmp_path / "w48.pth"
    torch.save(build_hrnet("hrnet_w48", 17).state_dict(), path)
    with pytest.raises(CheckpointError) as err:
        load_pose_model(path, arch="hrnet_w32")
    message = str(err.value)
    assert "does not fit hrnet_w32" in message and "shape mismatch" in message and "[48, 256, 3, 3]" in message


def test_not_an_hrnet_checkpoint(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"fc.weight": torch.zeros(2, 2), "conv1.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="not an HRNet pose checkpoint"):
        load_pose_model(path)


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"not a checkpoint at all" * 10, "not a readable")])
def test_empty_and_corrupt_files(tmp_path, content, match):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        read_state_dict(path)


def test_truncated_checkpoint(tmp_path, w32_state):
    path = tmp_path / "cut.pth"
    torch.save(w32_state, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable"):
        read_state_dict(path)


def test_missing_file():
    with pytest.raises(CheckpointError, match="not found"):
        read_state_dict("/nonexistent/model.pth")


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def test_malicious_pickle_does_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    torch.save({"final_layer.weight": torch.zeros(1), "payload": Payload()}, path, pickle_protocol=2)
    with pytest.raises(CheckpointError, match=r"was refused: it holds (posix|nt)\.system"):
        read_state_dict(path)
    assert not (tmp_path / "pwned-by-checkpoint").exists()
    # The same payload through plain pickle would have run: the test's premise holds.
    pickle.loads(pickle.dumps(Payload()))
    assert (tmp_path / "pwned-by-checkpoint").exists()


def test_ultralytics_file_is_refused_with_reason(yolo_pose_weights):
    with pytest.raises(CheckpointError, match=r"Ultralytics model \(ultralytics\.nn\.tasks\.PoseModel\).*--detector"):
        read_state_dict(yolo_pose_weights)
