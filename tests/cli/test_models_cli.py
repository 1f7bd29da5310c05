"""`hrnet-studio models ...` as a user runs it: list, pull, import, remove, and the first-run path."""
import hashlib
import json
import re

import pytest
import torch
from helpers import run_cli, saved, w8_entry, write_zoo

from hrnet_studio.models.checkpoints import save_pose_checkpoint
from hrnet_studio.models.hrnet import build_hrnet
from hrnet_studio.models.registry import ModelRegistry
from hrnet_studio.models.zoo import load_zoo
from hrnet_studio.paths import resources_dir


@pytest.fixture(scope="module")
def w8_state():
    return build_hrnet("hrnet_w8", 17).state_dict()


# ----- the shipped catalogue -------------------------------------------------------------------
def test_shipped_zoo_lists_the_official_models_with_checksums():
    zoo = load_zoo(resources_dir() / "model_zoo.json")
    pose = {n: e for n, e in zoo.items() if e.kind == "pose"}
    assert set(pose) == {"hrnet_w32_coco_256x192", "hrnet_w32_coco_384x288", "hrnet_w48_coco_256x192",
                         "hrnet_w48_coco_384x288", "hrnet_w32_mpii_256x256", "litehrnet_18_coco_256x192",
                         "litehrnet_18_coco_384x288", "litehrnet_30_coco_256x192", "litehrnet_30_coco_384x288",
                         "hrnetv2_w18_wflw_256x256", "hrnetv2_w18_coco_wholebody_face_256x256",
                         "hrnetv2_w18_coco_wholebody_hand_256x256", "hrnetv2_w18_onehand10k_256x256",
                         "hrnet_w32_coco_wholebody_256x192", "hrnet_w32_coco_wholebody_384x288",
                         "hrnet_w48_coco_wholebody_256x192", "hrnet_w48_coco_wholebody_384x288",
                         "hrnet_w32_coco_wholebody_256x192_dark", "hrnet_w48_coco_wholebody_384x288_dark"}
    for name, entry in pose.items():
        arch, h_w = re.match(r"((?:hrnet_w|hrnetv2_w|litehrnet_)\d+)_\w+_(\d+x\d+)", name).groups()
        assert entry.arch == arch
        assert f"{entry.input_size[1]}x{entry.input_size[0]}" == h_w  # names are HxW, input_size is WxH
        expected = {"mpii": "mpii16", "wflw": "wflw98", "face": "face68", "hand": "hand21"}
        whole = re.search(r"wholebody_\d", name) is not None  # one network for body, feet, face and hands
        assert entry.keypoints == ("coco_wholebody133" if whole else next((v for k, v in expected.items() if k in name),
                                                                          "coco17"))
        assert entry.encoding == ("unbiased" if name.endswith("_dark") else "official")
        for source in entry.sources:
            assert source.url.startswith("https://")
            # mmpose names carry the first 8 hex digits of the file's sha256: the catalogue must agree.
            assert re.search(r"-([0-9a-f]{8})_\d{8}\.pth$", source.url).group(1) == source.sha256
        assert entry.metrics
    assert zoo["hrnet_w32_coco_256x192"].official_file["sha256"].startswith("19bc0837")
    from hrnet_studio.models.registry import metrics_text

    assert metrics_text(zoo["hrnetv2_w18_wflw_256x256"].metrics) == "NME 4.06%"
    assert metrics_text(zoo["hrnetv2_w18_coco_wholebody_hand_256x256"].metrics) == "PCK@0.2 0.813, AUC 0.840, EPE (px) 4.4"
    assert metrics_text(zoo["hrnet_w48_coco_wholebody_384x288_dark"].metrics) == (
        "body AP 0.742, foot AP 0.707, face AP 0.841, hand AP 0.602, whole AP 0.661, whole AR 0.743")
    assert {"yolo11n-pose", "yolo11n"} <= {n for n, e in zoo.items() if e.kind == "detector"}


def test_list_shows_zoo_and_user_models(capsys, models_home, tmp_path, w8_state):
    code, out, _ = run_cli(capsys, "models", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "ARCH", "INPUT", "JOINTS", "INSTALLED", "SIZE", "FROM", "METRICS"]
    row = next(line for line in lines if line.startswith("hrnet_w48_coco_384x288"))
    assert row.split()[:6] == ["hrnet_w48_coco_384x288", "pose", "hrnet_w48", "288x384", "17", "no"]
    assert "AP 0.767" in row
    assert str(models_home) in out

    run_cli(capsys, "models", "import", saved(tmp_path / "mine_256x192.pth", w8_state))
    code, out, _ = run_cli(capsys, "models", "list")
    row = next(line for line in out.splitlines() if line.startswith("mine_256x192"))
    assert row.split()[:6] == ["mine_256x192", "pose", "hrnet_w8", "192x256", "17", "yes"]
    assert row.split()[-2:] == ["own", "-"]


# ----- pull ----------------------------------------------------------------------------------
def test_pull_installs_and_first_run_uses_it(capsys, models_home, tmp_path, monkeypatch, file_server, w8_state,
                                             videos):
    blob = saved(tmp_path / "blob.pth", {"state_dict": w8_state}).read_bytes()
    file_server.files["w8.pth"] = blob
    write_zoo(tmp_path, monkeypatch, [w8_entry(file_server.url("w8.pth"), hashlib.sha256(blob).hexdigest(),
                                               name="hrnet_w32_coco_256x192")])
    # First run: nothing installed, the message says what to do.
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "-o", tmp_path / "o.csv",
                           "--detector", "none")
    assert code == 2 and "models pull hrnet_w32_coco_256x192" in err

    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w32_coco_256x192")
    assert code == 0, err
    assert "installed hrnet_w32_coco_256x192" in err and "sha256 verified" in err
    installed = models_home / "hrnet_w32_coco_256x192.pth"
    assert installed.read_bytes() == blob
    meta = json.loads((models_home / "hrnet_w32_coco_256x192.pth.json").read_text())
    assert meta["arch"] == "hrnet_w8" and meta["input_size"] == [192, 256] and meta["heatmap_size"] == [48, 64]
    assert meta["keypoints"]["names"][0] == "nose" and [1, 2] in meta["keypoints"]["flip_pairs"]
    assert meta["source"] == "zoo" and meta["sha256"] == hashlib.sha256(blob).hexdigest()
    assert meta["metrics"] == {"coco_ap": 0.5}

    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w32_coco_256x192")
    assert code == 0 and "already installed" in err and len(file_server.requests) == 1

    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "-o", tmp_path / "o.csv",
                           "--detector", "none", "--max-frames", 2, "--device", "cpu")
    assert code == 0, err
    assert "model hrnet_w32_coco_256x192: hrnet_w8" in err and (tmp_path / "o.csv").exists()
    assert "on ONNX Runtime CPU" in err  # auto backend on the CPU: exported once, then ONNX Runtime


def test_pull_with_wrong_checksum_deletes_and_says_so(capsys, models_home, tmp_path, monkeypatch, file_server):
    file_server.files["w8.pth"] = b"PK\x03\x04 not the real file"
    write_zoo(tmp_path, monkeypatch, [w8_entry(file_server.url("w8.pth"), "ab" * 32)])
    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w8_test_256x192")
    assert code == 2
    assert "error: checksum mismatch for hrnet_w8_test_256x192.pth" in err and "deleted" in err
    assert not models_home.exists() or list(models_home.iterdir()) == []


def test_pull_404_and_unknown_name(capsys, models_home, tmp_path, monkeypatch, file_server):
    write_zoo(tmp_path, monkeypatch, [w8_entry(file_server.url("gone.pth"), None)])
    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w8_test_256x192")
    assert code == 2 and "HTTP 404" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w99")
    assert code == 2 and "'hrnet_w99' is not in the model zoo" in err


def test_pull_falls_back_to_the_next_source(capsys, models_home, tmp_path, monkeypatch, file_server, w8_state):
    blob = saved(tmp_path / "blob.pth", w8_state).read_bytes()
    file_server.files["mirror.pth"] = blob
    entry = w8_entry(file_server.url("gone.pth"), None)
    entry["sources"].append({"url": file_server.url("mirror.pth"), "sha256": hashlib.sha256(blob).hexdigest()})
    write_zoo(tmp_path, monkeypatch, [entry])
    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w8_test_256x192")
    assert code == 0, err
    assert [name for name, _ in file_server.requests] == ["gone.pth", "mirror.pth"]


def test_pulled_file_of_the_wrong_architecture_is_deleted(capsys, models_home, tmp_path, monkeypatch, file_server):
    blob = saved(tmp_path / "blob.pth", build_hrnet("hrnet_w8", 16).state_dict()).read_bytes()  # MPII, not COCO
    file_server.files["w8.pth"] = blob
    write_zoo(tmp_path, monkeypatch, [w8_entry(file_server.url("w8.pth"), None)])
    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w8_test_256x192")
    assert code == 2 and "holds hrnet_w8 with 16 joints, not hrnet_w8 with 17" in err
    assert not (models_home / "hrnet_w8_test_256x192.pth").exists()


# ----- import ----------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["official", "wrapped", "mmpose"])
def test_import_identifies_every_checkpoint_layout(capsys, models_home, tmp_path, w8_state, layout):
    if layout == "official":
        obj = w8_state
    elif layout == "wrapped":
        obj = {"epoch": 3, "best_state_dict": {f"module.{k}": v for k, v in w8_state.items()}}
    else:
        obj = {"meta": {"epoch": 210}, "state_dict": {
            (f"keypoint_head.{k}" if k.startswith("final_layer") else f"backbone.{k}"): v for k, v in w8_state.items()}}
    code, _, err = run_cli(capsys, "models", "import", saved(tmp_path / "ckpt_384x288.pth", obj), "--name", "mine")
    assert code == 0, err
    assert "imported mine: pth hrnet_w8, 17 joints (coco17), input 288x384" in err
    record = ModelRegistry().find("mine")
    assert record.usable and record.path == models_home / "mine.pth" and record.input_size == (288, 384)


def test_import_fine_tuned_checkpoint_keeps_its_keypoint_set(capsys, models_home, tmp_path, videos):
    model = build_hrnet("hrnet_w8", 5)
    keypoints = {"name": "hand5", "names": ["wrist", "left_tip", "right_tip", "left_base", "right_base"],
                 "flip_pairs": [[1, 2], [3, 4]], "skeleton": [[0, 3], [3, 1], [0, 4], [4, 2]], "sigmas": []}
    ckpt = save_pose_checkpoint(model, tmp_path / "hands.pth", {
        "keypoints": keypoints, "input_size": [128, 160], "training_data": "my hands", "metrics": {"pck": 0.8},
        "source": "fine-tune"})
    code, _, err = run_cli(capsys, "models", "import", ckpt)
    assert code == 0, err
    meta = ModelRegistry().find("hands").metadata
    kps = meta.keypoint_set()
    assert kps.names[1] == "left_tip" and kps.flip_pairs == ((1, 2), (3, 4)) and kps.edges[0] == (0, 3)
    assert meta.input_size == [128, 160] and meta.source == "fine-tune" and meta.metrics == {"pck": 0.8}

    # Its joints name the CSV columns, with either backend.
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.csv"
        code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "-o", out, "--model",
                               "hands", "--backend", backend, "--detector", "none", "--max-frames", 2, "--device", "cpu")
        assert code == 0, err
        header = out.read_text().splitlines()[0].split(",")
        assert header[9:12] == ["wrist_x", "wrist_y", "wrist_score"] and header[-1] == "right_base_score"


def test_import_of_the_official_file_is_recognised_by_checksum(capsys, models_home, tmp_path, monkeypatch, w8_state):
    ckpt = saved(tmp_path / "pose_hrnet_w8_256x192.pth", w8_state)
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    write_zoo(tmp_path, monkeypatch, [w8_entry("https://example.invalid/x.pth", "deadbeef",
                                               official_file={"name": ckpt.name, "sha256": digest,
                                                              "metrics": {"coco_ap": 0.49}})])
    code, _, err = run_cli(capsys, "models", "import", ckpt)
    assert code == 0, err
    assert "= zoo model hrnet_w8_test_256x192" in err
    record = ModelRegistry().find("hrnet_w8_test_256x192")
    # The official file is not the zoo's download: it carries the official figures, not the download's.
    assert record.installed and record.metrics == {"coco_ap": 0.49} and record.origin == "official checkpoint"


def test_import_detector_and_onnx(capsys, models_home, yolo_pose_weights, onnx_w8):
    code, _, err = run_cli(capsys, "models", "import", yolo_pose_weights)
    assert code == 0 and "imported person detector yolo11n-pose" in err
    assert ModelRegistry().default_detector().path == models_home / "yolo11n-pose.pt"
    code, _, err = run_cli(capsys, "models", "import", onnx_w8, "--name", "w8-onnx")
    assert code == 0, err
    assert "imported w8-onnx: onnx onnx, 17 joints (coco17), input 192x256" in err


@pytest.mark.parametrize("case, expected", [
    ("text", "is not a model file"),
    ("not_hrnet", "is not an HRNet pose checkpoint: no transition1.0.0.weight / final_layer.weight"),
    ("corrupt", "is not a readable PyTorch checkpoint"),
    ("bad_onnx", "is not a readable ONNX model"),
    ("missing", "model file not found"),
])
def test_import_refuses_what_it_cannot_identify(capsys, models_home, tmp_path, case, expected):
    path = {"text": tmp_path / "notes.txt", "not_hrnet": tmp_path / "resnet.pth", "corrupt": tmp_path / "c.pth",
            "bad_onnx": tmp_path / "m.onnx", "missing": tmp_path / "nope.pth"}[case]
    if case == "text":
        path.write_text("hello")
    elif case == "not_hrnet":
        torch.save({"conv.weight": torch.zeros(3, 3), "fc.weight": torch.zeros(2)}, path)
    elif case in ("corrupt", "bad_onnx"):
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 64 if case == "corrupt" else b"\x08\x07garbage")
    code, _, err = run_cli(capsys, "models", "import", path)
    assert code == 2 and expected in err and "Traceback" not in err
    assert not models_home.exists() or list(models_home.iterdir()) == []


def test_import_refuses_a_malicious_pickle_without_running_it(capsys, models_home, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pth"
    torch.save({"final_layer.weight": torch.zeros(1), "x": Payload()}, path, pickle_protocol=2)
    code, _, err = run_cli(capsys, "models", "import", path)
    assert code == 2 and "evil.pth was refused: it holds io.open" in err and "could run" in err
    assert not marker.exists()


def test_import_name_clash_and_force(capsys, models_home, tmp_path, w8_state):
    ckpt = saved(tmp_path / "m.pth", w8_state)
    assert run_cli(capsys, "models", "import", ckpt)[0] == 0
    code, _, err = run_cli(capsys, "models", "import", ckpt)
    assert code == 2 and "already installed: pass --name NEW_NAME, or --force" in err
    assert run_cli(capsys, "models", "import", ckpt, "--force")[0] == 0
    code, _, err = run_cli(capsys, "models", "import", ckpt, "--name", "../escape")
    assert code == 2 and "not a usable model name" in err


# ----- remove ----------------------------------------------------------------------------------
def test_remove(capsys, models_home, tmp_path, w8_state):
    run_cli(capsys, "models", "import", saved(tmp_path / "m.pth", w8_state))
    assert run_cli(capsys, "models", "export-onnx", "m")[0] == 0
    code, _, err = run_cli(capsys, "models", "remove", "m")
    assert code == 0 and "removed m: m.pth, m.pth.json, m.onnx, m.onnx.json" in err  # the stale export goes too
    assert list(models_home.iterdir()) == []
    code, _, err = run_cli(capsys, "models", "remove", "m")
    assert code == 2 and "no model named 'm'" in err
    code, _, err = run_cli(capsys, "models", "remove", "hrnet_w32_coco_256x192")
    assert code == 2 and "not installed" in err


def test_files_dropped_into_the_folder_are_identified_or_flagged(capsys, models_home, w8_state):
    models_home.mkdir()
    saved(models_home / "dropped_384x288.pth", {"state_dict": w8_state})
    (models_home / "broken.pth").write_bytes(b"PK\x03\x04 truncated")
    (models_home / ".half.pth.part").write_bytes(b"partial download")
    code, out, _ = run_cli(capsys, "models", "list")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line and not line.startswith("model folder")}
    assert rows["dropped_384x288"][:6] == ["dropped_384x288", "pose", "hrnet_w8", "288x384", "17", "yes"]
    assert rows["broken"][5] == "broken" and "broken.pth: broken.pth is not a readable PyTorch checkpoint" in out
    assert ".half" not in out and "half.pth" not in out


def test_unknown_model_name_in_export_says_where_to_look(capsys, models_home, videos, tmp_path):
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "-o", tmp_path / "o.csv",
                           "--model", "hrnet_w48_coco_384x288", "--detector", "none")
    assert code == 2 and "not installed: run `hrnet-studio models pull hrnet_w48_coco_384x288`" in err
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "-o", tmp_path / "o.csv",
                           "--model", "my-typo", "--detector", "none")
    assert code == 2 and "no model named 'my-typo'" in err


# ----- metadata tells the truth ----------------------------------------------------------------
def test_a_file_imported_under_a_zoo_name_does_not_borrow_the_zoo_metrics(capsys, models_home, tmp_path, monkeypatch,
                                                                          w8_state):
    write_zoo(tmp_path, monkeypatch, [w8_entry("https://example.invalid/x.pth", "deadbeef")])
    mine = saved(tmp_path / "my.pth", w8_state)
    code, _, err = run_cli(capsys, "models", "import", mine, "--name", "hrnet_w8_test_256x192")
    assert code == 0, err
    record = ModelRegistry().find("hrnet_w8_test_256x192")
    assert record.installed and record.metrics == {} and record.origin == "your own file"
    assert record.metadata.builtin is None
    code, out, _ = run_cli(capsys, "models", "list")
    row = next(line for line in out.splitlines() if line.startswith("hrnet_w8_test_256x192"))
    assert "0.5" not in row and row.split()[-1] == "-"


def test_a_file_cannot_claim_to_be_official(capsys, models_home, tmp_path, w8_state):
    path = tmp_path / "claims.pth"
    torch.save({"state_dict": w8_state, "hrnet_studio": {"source": "official", "metrics": {"coco_ap": 0.99}}}, path)
    assert run_cli(capsys, "models", "import", path)[0] == 0
    record = ModelRegistry().find("claims")
    assert record.metrics == {} and record.origin == "your own file"


def test_a_zoo_named_file_without_metadata_is_judged_by_its_checksum(capsys, models_home, tmp_path, monkeypatch,
                                                                     w8_state):
    write_zoo(tmp_path, monkeypatch, [w8_entry("https://example.invalid/x.pth", "deadbeef")])
    models_home.mkdir()
    saved(models_home / "hrnet_w8_test_256x192.pth", w8_state)  # copied in by hand, not pulled
    record = ModelRegistry().find("hrnet_w8_test_256x192")
    assert record.installed and record.metrics == {} and record.origin == "your own file"


def test_the_catalogue_carries_the_official_figures_and_the_yolo11n_checksum():
    zoo = load_zoo(resources_dir() / "model_zoo.json")
    w32 = zoo["hrnet_w32_coco_256x192"]
    assert w32.recognises("19bc083708bb8d873211e50d85d56344c10290c6e8b564c813fdde09645c4c1c") == "official"
    assert w32.metrics_for("official") == {"coco_ap": 0.744, "coco_ar": 0.798}
    assert w32.metrics_for("zoo") == {"coco_ap": 0.746, "coco_ar": 0.799}
    w48 = zoo["hrnet_w48_coco_384x288"]
    assert w48.metrics_for("official") == {"coco_ap": 0.763, "coco_ar": 0.812}
    yolo11n = zoo["yolo11n"]
    assert yolo11n.size_bytes == 5_613_764
    assert yolo11n.sources[0].sha256 == "0ebbc80d4a7680d14987a577cd21342b65ecfd94632bd9a8da63ae6417644ee1"
    text = (resources_dir() / "README.md").read_text(encoding="utf-8")
    assert "docs/provenance/hrnet.md" in text and "not from Ultralytics" in text
