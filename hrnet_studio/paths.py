"""Where HRNet Studio keeps user files and finds its own resources."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "hrnet-studio"


def models_dir() -> Path:
    """The user's model folder: ``$HRNET_STUDIO_MODELS`` or the platform's user data dir."""
    env = os.environ.get("HRNET_STUDIO_MODELS")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME)) / "models"


def resources_dir() -> Path:
    """``resources/`` (model zoo catalogue, icons): inside the package in a wheel, at the top of a checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "resources"
    return installed if installed.is_dir() else package.parent / "resources"


def recipes_dir() -> Path:
    """The training recipes (YAML): inside the package in a wheel, ``training/`` at the top of a checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "recipes"
    return installed if installed.is_dir() else package.parent / "training"


def runs_dir() -> Path:
    """Where the app's training runs go: ``$HRNET_STUDIO_RUNS`` or ``runs`` in the platform's user data dir."""
    env = os.environ.get("HRNET_STUDIO_RUNS")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME)) / "runs"


def review_sets_dir() -> Path:
    """Where corrected frames become training sets by default: ``$HRNET_STUDIO_REVIEW_SETS`` or ``review-sets`` in
    the platform's user data dir (one folder per set, each with ``annotations.json`` and ``images/``)."""
    env = os.environ.get("HRNET_STUDIO_REVIEW_SETS")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME)) / "review-sets"


def zoo_catalog_path() -> Path:
    """The built-in model catalogue; ``$HRNET_STUDIO_ZOO`` points at another one (a local mirror)."""
    env = os.environ.get("HRNET_STUDIO_ZOO")
    return Path(env) if env else resources_dir() / "model_zoo.json"


def cache_dir() -> Path:
    """Files HRNet Studio can always make again (detector exports of files outside the model folder, ONNX exports,
    INT8 quantizations, calibration detections): ``$HRNET_STUDIO_CACHE`` or the platform's user cache dir."""
    env = os.environ.get("HRNET_STUDIO_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir(APP_NAME))


def cache_file(kind: str, key: str, suffix: str) -> Path:
    """The cache's file for ``key`` (everything that decides its content, as text): ``cache_dir()/KIND/HASH.SUFFIX``."""
    import hashlib

    return cache_dir() / kind / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}{suffix}"


def mark_used(*files: Path) -> None:
    """Cache files just used are kept longest by ``prune_cache``; a read-only cache is still read."""
    for file in files:
        try:
            if file.is_file():
                file.touch()
        except OSError:
            pass


def prune_cache(folder: Path, keep: int) -> None:
    """Keep the ``keep`` most recently used files of a cache folder (the part files of writes under way aside). A
    cache is only time saved: what cannot be removed stays."""
    try:
        files = [f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")]
        for old in sorted(files, key=lambda f: f.stat().st_mtime, reverse=True)[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass



def ort_cache_folder(model_file: Path) -> Path:
    """``NAME.onnx.ort-cache/`` beside a model in the model folder: ONNX Runtime's optimized copies of it."""
    return model_file.parent / f"{model_file.name}.ort-cache"
