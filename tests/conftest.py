"""Shared fixtures. Real assets (parity fixtures, videos, YOLO weights) come from
``$HRNET_STUDIO_ASSETS``; tests that need them skip with a reason when it is unset."""
from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from hrnet_studio.models.hrnet import PoseHighResolutionNet, build_hrnet

# Resolved once, at start-up: README's `HRNET_STUDIO_ASSETS=../shared` is relative to where pytest starts,
# and some tests change the working folder.
_ASSETS = os.environ.get("HRNET_STUDIO_ASSETS")
_ASSETS_DIR = Path(_ASSETS).resolve() if _ASSETS else None


def pytest_configure(config):
    """Under pytest-xdist each worker process runs on its own share of the cores (and so plans its thread budget for
    that share, as a batch worker does): two workers on two cores run one thread each instead of four threads
    fighting over two."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker and count > 1 and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) >= count:
            share = cores[int(worker.removeprefix("gw")) % count::count]
            try:
                os.sched_setaffinity(0, share)
            except OSError:  # a container that forbids it: the workers share every core
                return
            torch.set_num_threads(len(share))  # torch sized its pool when it was imported, before this


# Modules whose tests run one after another on one worker, in their order: each takes from the run's cache what the
# one before made (see the module's docstring). Every other test is its own unit of work.
RUN_TOGETHER = {"tests/inference/test_quantize.py"}


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` (README line 2's, from pyproject.toml) with a scope of one test, or of a whole module
    named in ``RUN_TOGETHER``; the biggest units are sent first, then a test to whichever worker frees up."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class TogetherOrAlone(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in RUN_TOGETHER else nodeid

    return TogetherOrAlone(config, log)


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Caches (detector exports of files outside the model folder, INT8 quantizations) go to a folder of this test
    session, which the xdist workers of one run share: what one worker made, the other takes (each cache entry is
    written whole or not at all)."""
    previous = os.environ.get("HRNET_STUDIO_CACHE")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "cache"  # the run's folder, above each worker's own
        shared.mkdir(exist_ok=True)
        os.environ["HRNET_STUDIO_CACHE"] = str(shared)
    else:
        os.environ["HRNET_STUDIO_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("HRNET_STUDIO_CACHE", None)
    else:
        os.environ["HRNET_STUDIO_CACHE"] = previous


def assets_dir() -> Path | None:
    return _ASSETS_DIR


@pytest.fixture(scope="session")
def assets() -> Path:
    root = assets_dir()
    if root is None:
        pytest.skip("HRNET_STUDIO_ASSETS is not set (point it at the shared assets folder to run this test)")
    if not root.is_dir():
        pytest.fail(f"HRNET_STUDIO_ASSETS={root} is not a folder")
    return root


@pytest.fixture(scope="session")
def parity(assets: Path) -> Path:
    return assets / "parity"


PARITY_OPENCV = "5.0."  # the OpenCV release the parity fixtures were made with (parity/README.md)


def assert_official_warp(actual: np.ndarray, desired: np.ndarray, lsb: float = 1.0, what: str = "") -> None:
    """A crop warped with cv2.warpAffine (or one normalised from it) against the parity fixture's: byte for byte
    on the OpenCV release the fixtures were made with. Another release may round its fixed-point bilinear
    interpolation differently (5.1 moves a few pixels in 10,000 by one level), so there it may differ by one
    level (``lsb``, in the values' units) on at most 0.1% of the values: the fixture README's allowance for other
    warp back ends; the geometry is checked exactly elsewhere."""
    import cv2

    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape and actual.dtype == desired.dtype, what
    if cv2.__version__.startswith(PARITY_OPENCV):
        np.testing.assert_array_equal(actual, desired, err_msg=what)
        return
    diff = np.abs(actual.astype(np.float64) - desired)
    assert diff.max() <= lsb * 1.0001, f"{what}: off by {diff.max()} (one level is {lsb})"
    assert (diff > 0).mean() <= 0.001, f"{what}: {(diff > 0).sum()} of {diff.size} values differ"


@pytest.fixture(scope="session")
def videos(assets: Path) -> Path:
    return assets / "data" / "videos"


@pytest.fixture(scope="session")
def yolo_pose_weights(assets: Path) -> Path:
    return assets / "models" / "yolo11n-pose.pt"


def keyed_init(model: PoseHighResolutionNet) -> None:
    """The deterministic init used by the parity kit's forward fixture (parity README §10)."""
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if key.endswith("num_batches_tracked"):
                continue
            rng = np.random.default_rng(zlib.crc32(key.encode("utf-8")))
            shape = tuple(tensor.shape)
            if len(shape) == 4:
                values = rng.standard_normal(shape) * np.sqrt(2 / np.prod(shape[1:]))
            elif key.endswith("running_mean") or key.endswith(".bias"):
                values = rng.uniform(-0.1, 0.1, shape)
            elif key.endswith("running_var"):
                values = rng.uniform(0.5, 1.5, shape)
            else:
                values = rng.uniform(0.2, 0.5, shape)
            tensor.copy_(torch.from_numpy(values.astype(np.float32)))


def with_stored_bn(state: dict, stored, prefix: str) -> dict:
    """``state`` with the BN running statistics a parity kit stores (``<prefix>bn_keys``, ``bn_offsets``,
    ``bn_running_mean``, ``bn_running_var``: kit §11 and §12)."""
    keys, offsets = stored[prefix + "bn_keys"], stored[prefix + "bn_offsets"]
    for b, key in enumerate(keys):
        a, z = offsets[b], offsets[b + 1]
        state[f"{key}.running_mean"] = torch.from_numpy(stored[prefix + "bn_running_mean"][a:z].copy())
        state[f"{key}.running_var"] = torch.from_numpy(stored[prefix + "bn_running_var"][a:z].copy())
    return state


def kit_sha256(state: dict) -> str:
    """The parity kits' ``keyed_sha256``: every tensor but ``num_batches_tracked``, in order, as little-endian
    float32 bytes."""
    import hashlib

    digest = hashlib.sha256()
    for key, value in state.items():
        if not key.endswith("num_batches_tracked"):
            digest.update(value.numpy().astype("<f4").tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def keyed_w32() -> PoseHighResolutionNet:
    model = build_hrnet("hrnet_w32", 17)
    keyed_init(model)
    return model.eval()


def keyed_w8_file(folder: Path, name: str) -> Path:
    """A narrow (W8) official-layout HRNet with keyed weights saved as ``name`` (its HxW says the input size)."""
    model = build_hrnet("hrnet_w8", 17)
    keyed_init(model)
    torch.save(model.state_dict(), folder / name)
    return folder / name


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    """The keyed W8 at 192×256: fast enough for end-to-end CPU tests."""
    return keyed_w8_file(tmp_path_factory.mktemp("models"), "pose_hrnet_w8_256x192.pth")


@pytest.fixture(scope="session")
def small_checkpoint_96x128(tmp_path_factory) -> Path:
    """The same keyed W8 for a 96×128 input (a quarter of the pixels): for tests that run many crops through it."""
    return keyed_w8_file(tmp_path_factory.mktemp("models"), "pose_hrnet_w8_128x96.pth")


@pytest.fixture(scope="session")
def landmark_files(tmp_path_factory):
    """Narrow (W8) random-init HRNetV2 face (68) and hand (21) models for a 128×128 input (their file names say so),
    saved as plain state dicts."""
    folder = tmp_path_factory.mktemp("landmarks")
    paths = {}
    for name, k in (("face", 68), ("hand", 21)):
        model = build_hrnet("hrnetv2_w8", k)
        keyed_init(model)
        paths[name] = folder / f"{name}_hrnetv2_w8_128x128.pth"
        torch.save(model.state_dict(), paths[name])
    return paths


@pytest.fixture
def file_server():
    from local_http import FileServer

    server = FileServer().start()
    yield server
    server.stop()


@pytest.fixture
def models_home(tmp_path, monkeypatch) -> Path:
    """An empty user model folder for this test (``$HRNET_STUDIO_MODELS``)."""
    folder = tmp_path / "user-models"
    monkeypatch.setenv("HRNET_STUDIO_MODELS", str(folder))
    return folder


@pytest.fixture(scope="session")
def onnx_w8(tmp_path_factory, small_checkpoint) -> Path:
    """The small W8 checkpoint exported to ONNX once per test session (the export takes seconds), through the export
    cache the workers share, as ``models export-onnx`` of the same file would: made once a run, copied after."""
    from hrnet_studio.models.checkpoints import load_pose_model
    from hrnet_studio.models.download import file_sha256
    from hrnet_studio.models.onnx_export import _export_once

    model, spec = load_pose_model(small_checkpoint)
    path = tmp_path_factory.mktemp("onnx") / "pose_hrnet_w8_256x192.onnx"
    _export_once(model, spec.input_size, path, file_sha256(small_checkpoint))
    return path


# ----- the app ------------------------------------------------------------------------------------------
GUI_LOAD_TIMEOUT = 60_000


@pytest.fixture(scope="session")
def yolo_pose_export(yolo_pose_weights) -> Path:
    """The folder of yolo11n-pose's ONNX export (``detector.onnx`` and its record), made once a session."""
    from hrnet_studio.models.detector_export import onnx_detector

    return onnx_detector(yolo_pose_weights)[1].parent


def install_detector(registry, weights: Path, export: Path | None) -> None:
    """Import ``weights`` as a detector; with ``export``, its ONNX export is put beside it as the app would have left
    it (the record names the same sha256, so it is used as is) instead of being made again by the test."""
    record = registry.import_file(weights)
    if export is not None:
        shutil.copytree(export, record.path.parent / f"{record.path.stem}.exports")


@pytest.fixture
def gui_models(request, models_home, small_checkpoint_96x128, yolo_pose_weights, yolo_pose_export):
    """A model folder with a small HRNet (``w8``) and the real YOLO pose detector (with its ONNX export, unless the
    test is marked ``fresh_detector_export``)."""
    from hrnet_studio.models.registry import ModelRegistry

    registry = ModelRegistry()
    registry.import_file(small_checkpoint_96x128, name="w8")
    fresh = request.node.get_closest_marker("fresh_detector_export") is not None
    install_detector(registry, yolo_pose_weights, None if fresh else yolo_pose_export)
    return models_home


def results_collector(win) -> list:
    """Every live result the window's worker hands over, appended as it arrives."""
    seen = []
    win.worker.resultReady.connect(lambda live: seen.append(live))
    return seen


def make_settings(path: Path, **values):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(path), QSettings.Format.IniFormat)
    defaults = {"model": "w8", "backend": "torch", "device": "cpu"}
    for key, value in {**defaults, **values}.items():
        settings.setValue(key, value)
    settings.sync()
    return settings


@pytest.fixture
def window(qtbot, gui_models, tmp_path):
    """The main window on the CPU with ``w8`` and yolo11n-pose loaded; screenshots go to ``tmp_path/shots``."""
    from hrnet_studio.gui.main_window import MainWindow

    win = MainWindow(settings=make_settings(tmp_path / "settings.ini", screenshotDir=str(tmp_path / "shots")),
                     probe_cameras_now=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model_info is not None, timeout=GUI_LOAD_TIMEOUT)
    yield win
    win.close()


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    monkeypatch.setenv("HRNET_STUDIO_RUNS", str(folder))
    return folder


@pytest.fixture
def app_window(qtbot, models_home, small_checkpoint_96x128, yolo_pose_weights, yolo_pose_export, tmp_path, runs):
    """The main window with ``w8``, a 16-keypoint ``w8-16kp`` and yolo11n-pose; training runs go to ``runs``."""
    from PySide6.QtCore import QSettings

    from hrnet_studio.gui.main_window import MainWindow
    from hrnet_studio.models.registry import ModelRegistry

    registry = ModelRegistry()
    registry.import_file(small_checkpoint_96x128, name="w8")
    install_detector(registry, yolo_pose_weights, yolo_pose_export)
    sixteen = tmp_path / "w8_16.pth"
    torch.save(build_hrnet("hrnet_w8", 16).state_dict(), sixteen)  # another keypoint set than the COCO sample
    registry.import_file(sixteen, name="w8-16kp")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    for key, value in {"model": "w8", "backend": "torch", "device": "cpu"}.items():
        settings.setValue(key, value)
    win = MainWindow(settings=settings, probe_cameras_now=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model_info is not None, timeout=GUI_LOAD_TIMEOUT)
    yield win
    win.close()
