"""ONNX export and the ONNX Runtime backend: same heatmaps and keypoints as PyTorch, chosen providers."""
import csv
import json
import os

import cv2
import numpy as np
import onnx
import pytest
import torch

from hrnet_studio.cli.main import main
from hrnet_studio.errors import StudioError
from hrnet_studio.inference.codec.decode import decode
from hrnet_studio.inference.codec.transforms import (
    box_to_center_scale,
    normalize_crops,
    warp_crops,
    xyxy_to_xywh,
)
from hrnet_studio.inference.runtime import ort_session
from hrnet_studio.inference.runtime.backends import TorchBackend
from hrnet_studio.inference.runtime.model_loading import open_pose_model
from hrnet_studio.inference.runtime.onnx_backend import OnnxBackend
from hrnet_studio.inference.runtime.ort_session import choose_providers
from hrnet_studio.models.checkpoints import load_pose_model
from hrnet_studio.models.hrnet import build_hrnet
from hrnet_studio.models.onnx_export import export_onnx
from hrnet_studio.models.registry import ModelRegistry


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def real_crops(videos, input_size, n_boxes=6):
    """Person crops (plus some off-centre and partly outside boxes) from a frame of a shared clip."""
    cap = cv2.VideoCapture(str(videos / "two_people_basketball_gym_426x240.mp4"))
    for _ in range(15):
        ok, frame = cap.read()
    cap.release()
    assert ok
    boxes = np.array([[60, 40, 160, 235], [230, 30, 330, 238], [0, 0, 426, 240], [380, 100, 460, 260],
                      [100, 100, 140, 180], [-20, -10, 80, 120]], dtype=np.float32)[:n_boxes]
    w, h = input_size
    centers, scales = box_to_center_scale(xyxy_to_xywh(boxes), w / h)
    return normalize_crops(warp_crops(frame, centers, scales, input_size)), centers, scales


def test_export_is_a_valid_dynamic_batch_graph(onnx_w8):
    model = onnx.load(str(onnx_w8))
    onnx.checker.check_model(model, full_check=True)
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) >= 17
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert not dims[0].HasField("dim_value") and dims[0].dim_param  # symbolic batch
    assert [d.dim_value for d in dims[1:]] == [3, 256, 192]
    backend = OnnxBackend(onnx_w8, "cpu")
    for n in (1, 5):
        assert backend.infer(np.zeros((n, 3, 256, 192), np.float32)).shape == (n, 17, 64, 48)


def test_torch_export_based_exporter_gives_the_same_graph_contract(tmp_path):
    """The fallback exporter (used where the TorchScript one is gone) must pass the same checks. On an HRNet of every
    kind of layer but one module and one block per stage: the exporter's cost grows with the operations (35 s for a
    whole W8 on 2 cores), what it has to get right does not."""
    from hrnet_studio.models.hrnet import HRNetConfig, PoseHighResolutionNet

    model = PoseHighResolutionNet(HRNetConfig(width=8, stage_modules=(1, 1, 1), blocks_per_branch=1)).eval()
    path = tmp_path / "dynamo.onnx"
    assert export_onnx(model, (192, 256), path, exporter="dynamo") <= 1e-4
    onnx.checker.check_model(str(path), full_check=True)
    assert OnnxBackend(path, "cpu").infer(np.zeros((3, 3, 256, 192), np.float32)).shape == (3, 17, 64, 48)


def test_onnx_matches_torch_on_real_crops(onnx_w8, small_checkpoint, videos):
    model, spec = load_pose_model(small_checkpoint)
    batch, centers, scales = real_crops(videos, spec.input_size)
    torch_hm = TorchBackend(model, "cpu").infer(batch)
    onnx_hm = OnnxBackend(onnx_w8, "cpu").infer(batch)
    assert onnx_hm.shape == torch_hm.shape == (6, 17, 64, 48)
    assert np.abs(onnx_hm - torch_hm).max() <= 1e-4
    peaks = torch_hm.reshape(6, 17, -1).argmax(-1)
    assert np.array_equal(peaks, onnx_hm.reshape(6, 17, -1).argmax(-1))
    kp_t, sc_t = decode(torch_hm, centers, scales, "official")
    kp_o, sc_o = decode(onnx_hm, centers, scales, "official")
    assert np.array_equal(kp_o, kp_t)  # same peaks and quarter offsets: identical keypoints
    np.testing.assert_allclose(sc_o, sc_t, atol=1e-4)
    kp_t, _ = decode(torch_hm, centers, scales, "dark")
    kp_o, _ = decode(onnx_hm, centers, scales, "dark")
    np.testing.assert_allclose(kp_o, kp_t, atol=1e-3)  # DARK's Taylor step sees the 1e-6 heatmap differences


def test_provider_choice(monkeypatch):
    every = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort_session, "gpu_present", lambda: False)
    assert choose_providers("auto", every) == ["CPUExecutionProvider"]
    assert choose_providers("cpu", every) == ["CPUExecutionProvider"]
    with pytest.raises(StudioError, match="no CUDA GPU is usable"):
        choose_providers("cuda", every)
    monkeypatch.setattr(ort_session, "gpu_present", lambda: True)
    monkeypatch.setattr(ort_session, "tensorrt_present", lambda: True)
    assert choose_providers("auto", every) == every
    assert choose_providers("cpu", every) == ["CPUExecutionProvider"]
    monkeypatch.setattr(ort_session, "tensorrt_present", lambda: False)
    assert choose_providers("cuda", every) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]  # CPU-only build
    with pytest.raises(StudioError, match="unknown device"):
        choose_providers("tpu", every)


def test_backend_shows_what_really_runs(onnx_w8):
    backend = OnnxBackend(onnx_w8)  # auto: no GPU in CI, so the CPU
    assert backend.providers[0] in ("CUDAExecutionProvider", "TensorrtExecutionProvider", "CPUExecutionProvider")
    if backend.providers[0] == "CPUExecutionProvider":
        assert backend.device_name == "ONNX Runtime CPU"


def test_damaged_onnx_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07not really onnx")
    with pytest.raises(StudioError, match="ONNX Runtime cannot load bad.onnx"):
        OnnxBackend(bad, "cpu")


def test_export_onnx_command_registers_the_export(capsys, models_home, small_checkpoint, tmp_path):
    assert run_cli(capsys, "models", "import", small_checkpoint, "--name", "w8")[0] == 0
    code, _, err = run_cli(capsys, "models", "export-onnx", "w8")
    assert code == 0, err
    assert "onnx.checker passed; heatmaps match PyTorch within" in err
    record = ModelRegistry().find("w8.onnx")
    assert record.path == models_home / "w8.onnx" and record.metadata.format == "onnx"
    assert record.metadata.derived_from == "w8" and record.metadata.keypoints["names"][0] == "nose"
    loaded = open_pose_model("w8", backend="onnx", device="cpu")  # finds the export instead of exporting again
    assert loaded.record.name == "w8" and loaded.spec.path == models_home / "w8.onnx" and loaded.backend_kind == "onnx"
    assert loaded.spec.input_size == (192, 256) and loaded.spec.keypoints.name == "coco17"

    out = tmp_path / "elsewhere" / "w8_copy.onnx"
    out.parent.mkdir()
    code, _, err = run_cli(capsys, "models", "export-onnx", "w8", "-o", out)
    assert code == 0 and out.exists()
    assert json.loads((tmp_path / "elsewhere" / "w8_copy.onnx.json").read_text())["format"] == "onnx"

    code, _, err = run_cli(capsys, "models", "export-onnx", "w8.onnx")
    assert code == 2 and "only those can be exported" in err


def test_export_csv_is_the_same_with_either_backend(capsys, models_home, small_checkpoint, onnx_w8, tmp_path,
                                                    videos):
    video = videos / "single_person_taichi_340x256.mp4"
    outputs = {}
    for backend, model in (("torch", small_checkpoint), ("onnx", onnx_w8)):
        outputs[backend] = tmp_path / f"{backend}.csv"
        code, _, err = run_cli(capsys, "export", video, "-o", outputs[backend], "--model", model, "--backend", backend,
                               "--detector", "none", "--max-frames", 4, "--device", "cpu")
        assert code == 0, err
        assert ("on ONNX Runtime CPU" if backend == "onnx" else "on CPU") in err

    def values(path):
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        return rows[0], np.array([[float(v) for v in r[4:]] for r in rows[1:]])

    (h_t, v_t), (h_o, v_o) = values(outputs["torch"]), values(outputs["onnx"])
    assert h_t == h_o and v_t.shape == v_o.shape == (4, 5 + 17 * 3)
    np.testing.assert_allclose(v_o, v_t, atol=1e-3)


def test_auto_backend_on_cpu(capsys, models_home, small_checkpoint):
    """Auto picks ONNX Runtime on the CPU for models in the model folder (exported once), PyTorch for a loose file."""
    loose = open_pose_model(small_checkpoint, device="cpu")
    assert loose.backend_kind == "torch" and loose.spec.path == small_checkpoint
    assert run_cli(capsys, "models", "import", small_checkpoint, "--name", "w8")[0] == 0
    said = []
    first = open_pose_model("w8", device="cpu", say=said.append)
    assert first.backend_kind == "onnx" and first.backend.device_name == "ONNX Runtime CPU"
    assert (models_home / "w8.onnx").exists() and "exporting w8 to ONNX" in said[0]
    said.clear()
    again = open_pose_model("w8", device="cpu", say=said.append)
    assert again.spec.path == models_home / "w8.onnx" and said == []  # reused, not exported again
    assert open_pose_model("w8", backend="torch", device="cpu").backend_kind == "torch"

    # New weights under the same name: the old export no longer matches them and is made again.
    other = build_hrnet("hrnet_w8", 17)
    torch.save(other.state_dict(), models_home.parent / "other.pth")
    assert run_cli(capsys, "models", "import", models_home.parent / "other.pth", "--name", "w8", "--force")[0] == 0
    assert not (models_home / "w8.onnx").exists()  # --force removed the export of the replaced weights
    said.clear()
    fresh = open_pose_model("w8", device="cpu", say=said.append)
    assert said and fresh.spec.path == models_home / "w8.onnx"
    x = np.random.default_rng(1).standard_normal((2, 3, 256, 192)).astype(np.float32)
    with torch.inference_mode():
        expected = other.eval()(torch.from_numpy(x)).numpy()
    assert np.abs(fresh.backend.infer(x) - expected).max() <= 1e-4


def test_stale_export_is_not_used(capsys, models_home, small_checkpoint):
    assert run_cli(capsys, "models", "import", small_checkpoint, "--name", "w8")[0] == 0
    assert run_cli(capsys, "models", "export-onnx", "w8")[0] == 0
    registry = ModelRegistry()
    record = registry.find("w8")
    first = registry.onnx_export_of(record)
    assert first is not None
    torch.manual_seed(1)
    torch.save(build_hrnet("hrnet_w8", 17).state_dict(), record.path)  # replaced by hand: its metadata unchanged
    assert registry.find("w8").metadata.sha256 == record.metadata.sha256
    assert registry.onnx_export_of(registry.find("w8")) is None  # checked against the file itself
    assert run_cli(capsys, "models", "export-onnx", "w8")[0] == 0  # exported again, from the file as it is now
    again = registry.onnx_export_of(registry.find("w8"))
    assert again is not None and again.metadata.derived_sha256 != first.metadata.derived_sha256


def test_backend_mismatches_are_explained(capsys, models_home, small_checkpoint, onnx_w8, videos, tmp_path):
    video = videos / "single_person_taichi_340x256.mp4"
    code, _, err = run_cli(capsys, "export", video, "-o", tmp_path / "o.csv", "--model", onnx_w8, "--backend", "torch",
                           "--detector", "none")
    assert code == 2 and "is an ONNX model: run it with --backend onnx" in err
    code, _, err = run_cli(capsys, "export", video, "-o", tmp_path / "o.csv", "--model", small_checkpoint,
                           "--backend", "onnx", "--detector", "none")
    assert code == 2 and "--backend onnx needs an ONNX model" in err
    code, _, err = run_cli(capsys, "export", video, "-o", tmp_path / "o.csv", "--model", onnx_w8,
                           "--input-size", "256x256", "--detector", "none")
    assert code == 2 and "input size is fixed" in err


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_bench_command(capsys, small_checkpoint, onnx_w8, backend):
    model = onnx_w8 if backend == "onnx" else small_checkpoint
    code, out, err = run_cli(capsys, "bench", "--model", model, "--backend", backend, "--device", "cpu",
                             "--batches", 1, 3, "--seconds", 0.2)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert f"{backend} fp32 on " in lines[0]
    assert lines[1].startswith("threads: PyTorch ")  # the thread budget the figures were measured under
    assert lines[2].split() == ["batch", "persons/s", "ms/batch"]
    rows = [line.split() for line in lines[3:]]
    assert [r[0] for r in rows] == ["1", "3"] and all(float(r[1]) > 0 and float(r[2]) > 0 for r in rows)


def test_the_optimized_graph_is_kept_beside_the_model(models_home, onnx_w8):
    """ONNX Runtime optimizes a graph once; later sessions open the saved copy without optimizing again and give the
    same heatmaps. A changed model or a damaged copy gets a new copy; removing the model removes its copies."""
    import onnxruntime as ort

    record = ModelRegistry().import_file(onnx_w8, name="w8")
    cache = record.path.parent / "w8.onnx.ort-cache"
    crops = np.random.default_rng(0).random((2, 3, 256, 192), dtype=np.float32)
    first = OnnxBackend(record.path, "cpu")
    copies = list(cache.glob("*.onnx"))
    assert len(copies) == 1 and not list(cache.glob(".*"))  # one finished copy, no part file left
    levels = ort.GraphOptimizationLevel
    assert first.session.get_session_options().graph_optimization_level == levels.ORT_ENABLE_ALL
    second = OnnxBackend(record.path, "cpu")
    assert second.session.get_session_options().graph_optimization_level == levels.ORT_DISABLE_ALL
    np.testing.assert_allclose(second.infer(crops), first.infer(crops), rtol=1e-5, atol=1e-6)

    stamp = record.path.stat()
    os.utime(record.path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))  # the model file was replaced
    OnnxBackend(record.path, "cpu")
    renewed = list(cache.glob("*.onnx"))
    assert len(renewed) == 1 and renewed != copies  # its own copy; the stale one is gone

    renewed[0].write_bytes(b"not a model")  # damaged: opened from the model and saved again
    damaged = OnnxBackend(record.path, "cpu")
    np.testing.assert_allclose(damaged.infer(crops), first.infer(crops), rtol=1e-5, atol=1e-6)
    assert renewed[0].stat().st_size > 1000

    removed = ModelRegistry().remove("w8")
    assert cache in removed and not cache.exists()


def test_no_optimized_copy_beside_files_outside_the_model_folder_or_where_none_can_be_written(models_home, onnx_w8):
    OnnxBackend(onnx_w8, "cpu")
    assert not list(onnx_w8.parent.glob("*.ort-cache"))
    record = ModelRegistry().import_file(onnx_w8, name="w8")
    (record.path.parent / "w8.onnx.ort-cache").write_text("a file where the folder would go")
    backend = OnnxBackend(record.path, "cpu")  # runs all the same
    assert backend.infer(np.zeros((1, 3, 256, 192), np.float32)).shape == (1, 17, 64, 48)


def test_a_checkpoint_is_exported_once_and_copied_from_the_cache_after(models_home, small_checkpoint_96x128, tmp_path,
                                                                       monkeypatch):
    """The same checkpoint under another name (or -o elsewhere) is copied, not exported again; a cache entry that lost
    its parity figure is exported again."""
    from hrnet_studio.models import onnx_export
    from hrnet_studio.models.onnx_export import export_registered

    monkeypatch.setenv("HRNET_STUDIO_CACHE", str(tmp_path / "cache"))
    made = []
    real = onnx_export.export_onnx
    monkeypatch.setattr(onnx_export, "export_onnx", lambda model, size, dest: (made.append(size), real(model, size,
                                                                                                      dest))[1])
    registry = ModelRegistry()
    first = registry.import_file(small_checkpoint_96x128, name="first")
    second = registry.import_file(small_checkpoint_96x128, name="second")
    one, diff_one = export_registered(registry, first)
    two, diff_two = export_registered(registry, second)
    (tmp_path / "out").mkdir()
    elsewhere, _ = export_registered(registry, second, tmp_path / "out" / "copy.onnx")
    assert made == [(96, 128)] and diff_one == diff_two
    assert one.path.read_bytes() == two.path.read_bytes() == elsewhere.read_bytes()
    assert two.metadata.notes == one.metadata.notes and two.metadata.derived_from == "second"

    for figure in (tmp_path / "cache" / "onnx").glob("*.parity"):
        figure.unlink()
    export_registered(registry, first)
    assert made == [(96, 128), (96, 128)]
