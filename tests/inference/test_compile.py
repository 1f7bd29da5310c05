"""``--compile``: the PyTorch network through torch.compile, the batch size dynamic, a failure falling back in one
line. Inductor's C++ compilation takes minutes on this CPU, so the tests trace with TorchDynamo and run the traced
graph eagerly (``backend="eager"``): what is checked is that HRNet traces, that one compilation serves every batch
size, and that the keypoints are unchanged; the speed is measured in ``benchmarks/backends.py --compile``."""
import numpy as np
import pytest
import torch
from helpers import read_csv, run_cli

import hrnet_studio.inference.runtime.backends as backends
from hrnet_studio.inference.runtime.backends import TorchBackend
from hrnet_studio.models.hrnet import build_hrnet


@pytest.fixture
def traced_only(monkeypatch):
    """``compiled`` as the app calls it, but with the traced graph run eagerly; counts the graphs made."""
    import torch._dynamo

    made = []

    def count_graphs(graph, example_inputs):
        made.append(graph)
        return graph.forward

    torch._dynamo.reset()
    real = backends.compiled
    monkeypatch.setattr(backends, "compiled", lambda model: real(model, backend=count_graphs))
    yield made
    torch._dynamo.reset()


def test_a_compiled_network_gives_the_same_heatmaps_for_every_batch_size_from_one_compilation(traced_only):
    torch.manual_seed(0)
    model = build_hrnet("hrnet_w8", 17)
    plain, compiled = TorchBackend(model, "cpu"), TorchBackend(model, "cpu", compile=True)
    for n in (3, 5, 2, 1):
        batch = np.random.default_rng(n).standard_normal((n, 3, 128, 96)).astype(np.float32)
        np.testing.assert_allclose(compiled.infer(batch), plain.infer(batch), atol=1e-5)
    assert len(traced_only) == 2  # the batch dynamic: one graph for 3, 5 and 2 persons, one for a person alone


def test_a_compiler_failure_runs_the_network_uncompiled_and_says_so_once(monkeypatch):
    def broken(model, backend="inductor"):
        def fail(x):
            raise RuntimeError("InductorError: CppCompileError: C++ compile error\nlong details")
        return fail

    monkeypatch.setattr(backends, "compiled", broken)
    said = []
    model = build_hrnet("hrnet_w8", 17)
    runner = TorchBackend(model, "cpu", compile=True, say=said.append)
    batch = np.zeros((2, 3, 128, 96), np.float32)
    np.testing.assert_array_equal(runner.infer(batch), TorchBackend(model, "cpu").infer(batch))
    runner.infer(batch)
    assert said == ["note: torch.compile failed (InductorError: CppCompileError: C++ compile error); running the "
                    "network uncompiled"]


def test_export_with_compile_writes_the_same_keypoints(capsys, traced_only, videos, small_checkpoint, tmp_path,
                                                       models_home):
    clip = videos / "single_person_taichi_340x256.mp4"
    common = ["export", clip, "--model", small_checkpoint, "--detector", "none", "--max-frames", 6, "--backend",
              "torch", "--device", "cpu"]
    assert run_cli(capsys, *common, "-o", tmp_path / "plain.csv")[0] == 0
    code, _, err = run_cli(capsys, *common, "--compile", "-o", tmp_path / "compiled.csv")
    assert code == 0, err
    assert len(traced_only) == 1 and "compile failed" not in err
    header, plain = read_csv(tmp_path / "plain.csv")
    _, compiled = read_csv(tmp_path / "compiled.csv")
    x = header.index("nose_x")
    np.testing.assert_allclose([float(r[x]) for r in compiled], [float(r[x]) for r in plain], atol=1e-3)
