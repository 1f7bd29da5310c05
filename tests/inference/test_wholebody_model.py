"""A COCO-WholeBody HRNet (133 keypoints in one head): the keypoint set as mmpose gives it, mmpose's checkpoint layout
loaded strictly, and each person split into body and feet (23 keypoints) with the face and hands as parts, for every
writer. The backbone's numerics are the official HRNet's (``test_hrnet_parity``'s fixtures); only the head's width
differs, so the layout is checked against the parity kit's W32 layout with 133 output channels."""
import json

import numpy as np
import pytest
import torch
from helpers import read_csv, run_cli, wholebody_w8

from hrnet_studio.inference.detect.detector import Detections
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.inference.runtime.backends import TorchBackend
from hrnet_studio.models.checkpoints import load_pose_model
from hrnet_studio.models.hrnet import build_hrnet
from hrnet_studio.skeletons import (
    COCO_17,
    COCO_23,
    COCO_WHOLEBODY_133,
    FACE_68,
    HAND_21,
    WHOLEBODY_EVAL_PARTS,
    keypoint_set_for,
    output_keypoints,
)


def test_the_keypoint_set_is_coco_wholebody_s():
    k = COCO_WHOLEBODY_133
    assert k.num_joints == len(k.sigmas) == 133 and keypoint_set_for(133) is k
    assert k.names[:17] == COCO_17.names and k.names[17:23] == ("left_big_toe", "left_small_toe", "left_heel",
                                                                 "right_big_toe", "right_small_toe", "right_heel")
    assert (k.names[23], k.names[90], k.names[91], k.names[92], k.names[111], k.names[112], k.names[132]) == (
        "face-0", "face-67", "left_hand_root", "left_thumb1", "left_pinky_finger4", "right_hand_root",
        "right_pinky_finger4")
    perm = k.flip_permutation()
    assert (perm[perm] == np.arange(133)).all()
    for i, name in enumerate(k.names):  # left and right swap by name; the face's own mirror pairs as FACE_68's
        if name.startswith(("left_", "right_")):
            assert k.names[perm[i]] == name.replace("left_", "#").replace("right_", "left_").replace("#", "right_")
    assert [(a - 23, b - 23) for a, b in k.flip_pairs if 23 <= a < 91] == list(FACE_68.flip_pairs)
    sig = k.oks_sigmas()
    assert sig[17:23].tolist() == [0.068, 0.066, 0.066, 0.092, 0.094, 0.094]
    assert sig[23:91].tolist() == list(FACE_68.sigmas) and sig[91:112].tolist() == sig[112:].tolist() == list(
        HAND_21.sigmas)
    assert output_keypoints(k) is COCO_23 and COCO_23.names == k.names[:23]
    assert WHOLEBODY_EVAL_PARTS["foot"] == (17, 23) and WHOLEBODY_EVAL_PARTS["right_hand"] == (112, 133)


@pytest.mark.parametrize("layout", ["mmpose1", "mmpose0"])
def test_an_mmpose_wholebody_checkpoint_loads_strictly_and_runs_as_saved(tmp_path, parity, layout):
    path, original = wholebody_w8(tmp_path, layout=layout)
    model, spec = load_pose_model(path)
    assert spec.keypoints is COCO_WHOLEBODY_133 and spec.num_joints == 133 and spec.input_size == (192, 256)
    x = torch.randn(2, 3, 256, 192, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model.eval()(x), original.eval()(x))
    # the W32 layout of the parity kit with 133 output channels: the same keys, in order, and shapes
    official = json.loads((parity / "state_dict_layouts.json").read_text())["models"]["coco_w32_256x192"]
    ours = build_hrnet("hrnet_w32", 133).state_dict()
    expected = [(k, [133] + s[1:] if k.startswith("final_layer") else s) for k, s, _ in official["state_dict"]]
    assert [(k, list(v.shape)) for k, v in ours.items()] == expected


class WholeBodyPeaks(torch.nn.Module):
    """133 heatmaps, each with one peak at its own place in the crop: joint k at column 2 + k % 44, row 4 + k // 44."""

    def forward(self, x):
        maps = torch.zeros(len(x), 133, 64, 48)
        for k in range(133):
            maps[:, k, 4 + k // 44, 2 + k % 44] = 1.0
        return maps


def test_each_person_comes_out_as_body_and_feet_with_the_face_and_hands_as_parts():
    spec = load_spec_133()
    pipeline = PosePipeline(TorchBackend(WholeBodyPeaks(), "cpu"), spec, None)
    boxes = Detections(np.array([[40, 20, 200, 240]], np.float32), np.ones(1, np.float32))
    frame = np.zeros((256, 320, 3), np.uint8)
    raw = PosePipeline(TorchBackend(WholeBodyPeaks(), "cpu"), spec, None)
    raw.layout = None  # the same network read as 133 keypoints, for comparison
    whole = raw.estimate(frame, boxes)[0]
    person = pipeline.estimate(frame, boxes)[0]
    assert pipeline.keypoints is COCO_23 and person.keypoints.shape == (23, 2) and person.scores.shape == (23,)
    np.testing.assert_array_equal(person.keypoints, whole.keypoints[:23])
    assert set(person.parts) == {"face", "left_hand", "right_hand"} == set(pipeline.part_sets)
    face, right = person.parts["face"], person.parts["right_hand"]
    assert face.landmarks is FACE_68 and right.landmarks is HAND_21
    np.testing.assert_array_equal(face.keypoints, whole.keypoints[23:91])
    np.testing.assert_array_equal(right.keypoints, whole.keypoints[112:])
    assert (face.bbox[:2] <= face.keypoints.min(0)).all() and (face.bbox[2:] >= face.keypoints.max(0)).all()


def load_spec_133():
    from hrnet_studio.models.spec import PoseModelSpec

    return PoseModelSpec("hrnet_w8", 133, (192, 256), COCO_WHOLEBODY_133)


def test_export_writes_feet_in_the_csv_faces_and_hands_beside_and_coco_wholebody_json(
        capsys, tmp_path, videos, models_home, landmark_files):
    path, _ = wholebody_w8(tmp_path)
    out = tmp_path / "gym.csv"
    code, _, err = run_cli(capsys, "export", videos / "two_people_basketball_gym_426x240.mp4", "--model", path,
                           "--detector", "none", "--max-frames", 3, "-o", out, "--json", tmp_path / "gym.json",
                           "--trc", "--gait", "--face-model", landmark_files["face"])
    assert code == 0, err
    assert "finds faces and hands itself" in err and "whole body: face (68 points)" in err
    header, rows = read_csv(out)
    assert "left_heel_x" in header and "right_big_toe_score" in header and "face-0_x" not in header
    parts_header, part_rows = read_csv(tmp_path / "gym.wholebody.csv")
    assert "face_0_x" in parts_header and "right_hand_pinky_finger4_score" in parts_header and len(part_rows) == 3
    entry = json.loads((tmp_path / "gym.json").read_text())[0]
    assert len(entry["keypoints"]) == 51 and len(entry["foot_kpts"]) == 18
    assert len(entry["face_kpts"]) == 204 and len(entry["lefthand_kpts"]) == len(entry["righthand_kpts"]) == 63
    trc = next(tmp_path.glob("gym*.trc")).read_text().splitlines()
    assert "left_heel" in trc[3] and "face" not in trc[3]
    gait_header, _ = read_csv(tmp_path / "gym.gait.csv")
    events_header, _ = read_csv(tmp_path / "gym.gait_events.csv")
    assert gait_header[:4] == ["person_id", "heel_strikes", "toe_offs", "cadence_steps_per_min"]
    assert events_header == ["person_id", "foot", "event", "frame", "time_s"]
    assert not list(tmp_path.glob("gym*.angles.csv"))  # not asked for


def test_the_wholebody_model_runs_on_onnx_runtime_and_int8_as_on_pytorch(capsys, tmp_path, videos, models_home):
    path, _ = wholebody_w8(tmp_path)
    assert run_cli(capsys, "models", "import", path)[0] == 0
    assert run_cli(capsys, "models", "export-onnx", "hrnet_w8_coco_wholebody_256x192")[0] == 0
    clip = videos / "single_person_taichi_340x256.mp4"
    common = ["export", clip, "--model", "hrnet_w8_coco_wholebody_256x192", "--detector", "none", "--max-frames", 2]
    for backend in ("torch", "onnx"):
        code, _, err = run_cli(capsys, *common, "--backend", backend, "-o", tmp_path / f"{backend}.csv")
        assert code == 0, err
    header, torch_rows = read_csv(tmp_path / "torch.csv")
    _, onnx_rows = read_csv(tmp_path / "onnx.csv")
    x = [header.index(f"{name}_x") for name in ("left_heel", "right_big_toe", "nose")]
    np.testing.assert_allclose([[float(r[i]) for i in x] for r in onnx_rows],
                               [[float(r[i]) for i in x] for r in torch_rows], atol=0.05)
    _, torch_parts = read_csv(tmp_path / "torch.wholebody.csv")
    _, onnx_parts = read_csv(tmp_path / "onnx.wholebody.csv")
    assert len(torch_parts) == len(onnx_parts) == 2
    # and in INT8 (random weights fail the guard: kept with --force, as a user may)
    code, _, err = run_cli(capsys, "models", "quantize", "hrnet_w8_coco_wholebody_256x192", "--calib", clip,
                           "--detector", "none", "--force")
    assert code == 0, err
    code, _, err = run_cli(capsys, *common, "--precision", "int8", "-o", tmp_path / "int8.csv")
    assert code == 0 and "INT8" in err, err
    int8_header, int8_rows = read_csv(tmp_path / "int8.csv")
    assert int8_header == header and len(int8_rows) == 2 and (tmp_path / "int8.wholebody.csv").is_file()


def test_a_wholebody_model_streams_its_faces_and_hands_as_the_two_stage_models_do():
    from hrnet_studio.live.options import stream_parts
    from hrnet_studio.live.sinks import StreamFormat, hello_message

    pipeline = PosePipeline(TorchBackend(WholeBodyPeaks(), "cpu"), load_spec_133(), None)
    parts = stream_parts(pipeline)
    assert [(part, landmarks.num_joints) for part, landmarks in parts] == [("face", 68), ("left_hand", 21),
                                                                          ("right_hand", 21)]
    hello = hello_message(StreamFormat(pipeline.keypoints, 320, 256, parts=parts))
    assert hello["keypoints"] == "coco23" and hello["names"][-6:] == list(COCO_23.names[-6:])
    assert set(hello["parts"]) == {"face", "left_hand", "right_hand"} and len(hello["parts"]["face"]["names"]) == 68
