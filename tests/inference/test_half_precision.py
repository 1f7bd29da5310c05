"""PyTorch in bfloat16 (the CPU path on CPUs with AVX-512 BF16 or AMX, and GPUs) and fp16 (a CUDA GPU only)."""
import numpy as np
import pytest
import torch
from helpers import read_csv, run_cli

from hrnet_studio.errors import StudioError
from hrnet_studio.inference.runtime.backends import TorchBackend
from hrnet_studio.models.hrnet import build_hrnet

CLIP = "single_person_taichi_340x256.mp4"


def test_bf16_gives_the_fp32_heatmaps_within_bfloat16s_precision():
    torch.manual_seed(0)
    model = build_hrnet("hrnet_w8", 17)
    crops = np.random.default_rng(0).standard_normal((2, 3, 128, 96)).astype(np.float32)
    fp32 = TorchBackend(build_hrnet("hrnet_w8", 17), "cpu")
    fp32.model.load_state_dict(model.state_dict())
    bf16 = TorchBackend(model, "cpu", dtype="bf16")
    assert bf16.dtype == "bf16" and next(bf16.model.parameters()).dtype == torch.bfloat16
    assert bf16.memory_format == torch.contiguous_format  # as asked; the loader turns channels-last on
    reference, half = fp32.infer(crops), bf16.infer(crops)
    assert half.dtype == np.float32 and half.shape == reference.shape
    spread = reference.max() - reference.min()
    assert np.abs(half - reference).max() <= 0.05 * spread  # bfloat16 keeps 8 bits of mantissa
    on_device = bf16.infer_tensor(torch.from_numpy(crops)).numpy()
    np.testing.assert_array_equal(on_device, half)


def test_export_in_bf16_from_the_command_line_and_what_is_refused(capsys, videos, small_checkpoint, tmp_path,
                                                                 models_home):
    base = ("export", videos / CLIP, "--model", small_checkpoint, "--detector", "none", "--max-frames", 2,
            "--device", "cpu")
    code, _, err = run_cli(capsys, *base, "--precision", "bf16", "-o", tmp_path / "bf16.csv")
    assert code == 0, err
    assert "fp32" not in err.split("model ")[1].split("\n")[0] and "bf16) on CPU" in err
    code, _, err = run_cli(capsys, *base, "--backend", "torch", "-o", tmp_path / "fp32.csv")
    assert code == 0, err
    header, half = read_csv(tmp_path / "bf16.csv")
    _, full = read_csv(tmp_path / "fp32.csv")
    assert len(half) == len(full) == 2
    scores = [i for i, name in enumerate(header) if name.endswith("_score")]
    gaps = np.abs(np.array([[float(r[i]) for i in scores] for r in half]) -
                  np.array([[float(r[i]) for i in scores] for r in full]))
    assert gaps.max() <= 0.05  # the same peaks, within bfloat16's precision
    code, _, err = run_cli(capsys, *base, "--precision", "fp16", "-o", tmp_path / "fp16.csv")
    assert code != 0 and "fp16 runs on a CUDA GPU; on the CPU choose bf16 (or fp32)" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, *base, "--precision", "bf16", "--backend", "onnx", "-o", tmp_path / "x.csv")
    assert code != 0 and "bf16 runs on PyTorch: choose --backend torch (or auto) and a .pth model" in err


def test_fp16_is_refused_on_the_cpu_in_one_line():
    with pytest.raises(StudioError, match="fp16 runs on a CUDA GPU"):
        TorchBackend(build_hrnet("hrnet_w8", 17), "cpu", dtype="fp16")
    assert TorchBackend(build_hrnet("hrnet_w8", 17), "cpu", fp16=True).dtype == "fp32"  # --half: ignored on a CPU
