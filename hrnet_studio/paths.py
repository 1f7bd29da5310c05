"""Where HRNet Studio keeps user files."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "hrnet-studio"


def models_dir() -> Path:
    """The user's model folder: ``$HRNET_STUDIO_MODELS`` or the platform's user data dir."""
    env = os.environ.get("HRNET_STUDIO_MODELS")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME)) / "models"


def find_in_models_dir(*names: str) -> Path | None:
    folder = models_dir()
    for name in names:
        if (folder / name).exists():
            return folder / name
    return None
