"""Load HRNet, HRNetV2 and Lite-HRNet pose checkpoints: official, wrapped (``state_dict``/``module.``), mmpose-style.

Every file is read with ``torch.load(weights_only=True)``: a checkpoint can hold only
tensors and plain containers, never code to run.
"""
from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path

import torch

from ..atomic_writer import torch_save
from ..errors import CheckpointError, UnsafeFileError, first_line
from ..skeletons import keypoint_set_for
from .hrnet import PoseHighResolutionNet, build_hrnet
from .litehrnet import (
    LITEHRNET_ARCHS,
    LiteHRNet,
    build_litehrnet,
    is_litehrnet_state,
    litehrnet_arch_of,
    model_keys,
)
from .spec import PoseModelSpec, resolve_input_size

WRAPPER_KEYS = ("state_dict", "best_state_dict", "model", "model_state_dict")
# mmpose keeps the same module tree under other prefixes.
MMPOSE_PREFIXES = {
    "backbone.": "",
    "keypoint_head.final_layer.": "final_layer.",
    "head.final_layer.": "final_layer.",
    "head.conv_layers.": "final_layer.",  # mmpose 1.x HRNetV2 head: conv_layers.{0,1} are 0.x final_layer.{0,1}
}
WIDTH_KEY = "transition1.0.0.weight"
FINAL_KEY = "final_layer.weight"
HRNETV2_FINAL_KEY = "final_layer.3.weight"


class UltralyticsFileError(CheckpointError):
    """The file is an Ultralytics model (a pickled module), usable as a detector, not an HRNet state dict."""


EMBEDDED_METADATA_KEY = "hrnet_studio"  # our fine-tuned checkpoints carry their ModelMetadata fields here


def load_checkpoint_object(path: str | Path) -> object:
    """``torch.load`` a checkpoint with ``weights_only=True``; every failure becomes one clear line."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint path is a folder, not a file: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint is empty (0 bytes): {path}")
    with open(path, "rb") as f:
        magic = f.read(4)
    if not (magic.startswith(b"PK\x03\x04") or magic.startswith(b"\x80")):  # zip (torch.save) or legacy pickle
        raise CheckpointError(f"{path.name} is not a readable PyTorch checkpoint (not a torch.save file)")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are not for the user
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=magic.startswith(b"PK"))
    except pickle.UnpicklingError:
        raise _refusal(path) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path.name} is not a readable PyTorch checkpoint (corrupt or truncated?): {first_line(exc)}"
        ) from None


def _refusal(path: Path) -> CheckpointError:
    """Why the restricted unpickler refused ``path``, read off the pickle without running it."""
    from .ultralytics_files import pickle_globals, refused_among

    names = pickle_globals(path)
    refused = refused_among(names)
    ultralytics = next((n for n in names if n.startswith("ultralytics.")), None)
    if ultralytics and not refused:
        return UltralyticsFileError(f"{path.name} is an Ultralytics model ({ultralytics}), not an HRNet pose "
                                    f"checkpoint; use it as a person detector (--detector)")
    if refused:
        return UnsafeFileError(f"{path.name} was refused: it holds {refused[0]}, Python code rather than only "
                               f"tensors, and loading it could run that code", path)
    holds = next((n for n in names if not n.startswith(("torch.", "collections."))), None)
    if holds:
        return CheckpointError(f"{path.name} holds Python objects (such as {holds}), not only tensors: it may be "
                               f"a full-model file rather than an HRNet state dict")
    return CheckpointError(f"{path.name} is not a readable PyTorch checkpoint (corrupt or truncated?)")


def embedded_metadata(obj: object) -> dict | None:
    """The metadata dict a fine-tuned HRNet Studio checkpoint carries, if any."""
    if isinstance(obj, dict) and isinstance(obj.get(EMBEDDED_METADATA_KEY), dict):
        return obj[EMBEDDED_METADATA_KEY]
    return None


def save_pose_checkpoint(model: torch.nn.Module, path: str | Path, metadata: dict) -> Path:
    """Save an HRNet the way HRNet Studio's own models are stored: official keys plus metadata.

    ``metadata`` holds ModelMetadata fields (keypoints, input_size, training_data, metrics, ...) as
    plain values, so the file still loads with ``weights_only=True``. Written atomically.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return torch_save({"state_dict": state, EMBEDDED_METADATA_KEY: dict(metadata)}, path)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint file safely and return its HRNet state dict with official key names."""
    path = Path(path)
    return normalize_state_dict(load_checkpoint_object(path), path.name)


def normalize_state_dict(obj: object, name: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Unwrap training checkpoints, drop ``module.`` and map mmpose keys to official ones."""
    for _ in range(3):  # e.g. {"state_dict": {"model": ...}}
        if isinstance(obj, dict):
            inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
            if inner is not None and not _is_tensor_dict(obj):
                obj = inner
                continue
        break
    if not isinstance(obj, dict) or not _is_tensor_dict(obj):
        raise CheckpointError(f"{name} does not contain a state dict of tensors")
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            continue
        key = key.removeprefix("module.")
        for prefix, replacement in MMPOSE_PREFIXES.items():
            if key.startswith(prefix):
                key = replacement + key[len(prefix):]
                break
        out[key] = value
    if "final_layer.0.weight" in out and "final_layer.weight" in out:  # 1.x HRNetV2: its final_layer is 0.x's .3
        for leaf in ("weight", "bias"):
            if f"final_layer.{leaf}" in out:
                out[f"final_layer.3.{leaf}"] = out.pop(f"final_layer.{leaf}")
    return out


def _is_tensor_dict(obj: dict) -> bool:
    return bool(obj) and sum(isinstance(v, torch.Tensor) for v in obj.values()) >= len(obj) // 2 + 1


def infer_architecture(state_dict: dict[str, torch.Tensor], name: str = "checkpoint") -> tuple[str, int, int]:
    """(arch, num_joints, final conv kernel) read off the tensors: widths give W32 vs W48, the concatenation head
    HRNetV2, the modules per stage Lite-HRNet-18 vs -30, the last layer K."""
    if is_litehrnet_state(state_dict) and FINAL_KEY in state_dict:
        try:
            return litehrnet_arch_of(state_dict), int(state_dict[FINAL_KEY].shape[0]), 1
        except ValueError as exc:
            raise CheckpointError(f"{name} is {exc}") from None
    v2 = _hrnetv2_arch_of(state_dict)
    if v2 is not None:
        return v2
    missing = [k for k in (WIDTH_KEY, FINAL_KEY) if k not in state_dict]
    if missing:
        some = ", ".join(list(state_dict)[:3])
        raise CheckpointError(
            f"{name} is not an HRNet pose checkpoint: no {' / '.join(missing)} (its first keys: {some})"
        )
    width = int(state_dict[WIDTH_KEY].shape[0])
    final = state_dict[FINAL_KEY]
    return f"hrnet_w{width}", int(final.shape[0]), int(final.shape[-1])


def _hrnetv2_arch_of(state_dict: dict[str, torch.Tensor]) -> tuple[str, int, int] | None:
    """HRNetV2 (the concatenation head ``final_layer.{0,1,3}`` over all four branches), if the tensors say so."""
    head = state_dict.get(HRNETV2_FINAL_KEY)
    if head is None or WIDTH_KEY not in state_dict or "final_layer.0.weight" not in state_dict:
        return None
    return f"hrnetv2_w{int(state_dict[WIDTH_KEY].shape[0])}", int(head.shape[0]), 1


def describe_mismatch(model_sd: dict[str, torch.Tensor], ckpt_sd: dict[str, torch.Tensor], limit: int = 3) -> str:
    """One line naming the keys and shapes that differ between a model and a checkpoint."""
    optional = re.compile(r"num_batches_tracked$")
    shapes = [
        f"{k}: checkpoint {list(ckpt_sd[k].shape)} vs model {list(v.shape)}"
        for k, v in model_sd.items()
        if k in ckpt_sd and ckpt_sd[k].shape != v.shape
    ]
    missing = [k for k in model_sd if k not in ckpt_sd and not optional.search(k)]
    unexpected = [k for k in ckpt_sd if k not in model_sd]
    parts = []
    for label, items in (("shape mismatch", shapes), ("missing", missing), ("unexpected", unexpected)):
        if items:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            parts.append(f"{len(items)} {label}: {'; '.join(items[:limit])}{more}")
    return "; ".join(parts)


def build_pose_model(arch: str, num_joints: int, final_conv_kernel: int = 1) -> PoseHighResolutionNet | LiteHRNet:
    """An HRNet (``hrnet_w32``, any width) or a Lite-HRNet (``litehrnet_18``/``_30``) with ``num_joints`` outputs."""
    if arch in LITEHRNET_ARCHS:
        return build_litehrnet(arch, num_joints)
    return build_hrnet(arch, num_joints, final_conv_kernel=final_conv_kernel)


def load_into(model: PoseHighResolutionNet | LiteHRNet, state_dict: dict[str, torch.Tensor],
              name: str = "checkpoint") -> None:
    """Strict load of the reader's state dict; missing ``num_batches_tracked`` (older PyTorch) is tolerated."""
    if isinstance(model, LiteHRNet):
        state_dict = model_keys(state_dict)
    model_sd = model.state_dict()
    problem = describe_mismatch(model_sd, state_dict)
    if problem:
        joints = model.num_joints if isinstance(model, LiteHRNet) else model.config.num_joints
        raise CheckpointError(f"{name} does not fit {model.config.arch} with {joints} joints: {problem}")
    full = dict(state_dict)
    for k, v in model_sd.items():
        full.setdefault(k, v)  # only num_batches_tracked can be absent here
    model.load_state_dict(full, strict=True)


def load_pose_model(
    path: str | Path,
    arch: str | None = None,
    num_joints: int | None = None,
    input_size: tuple[int, int] | None = None,
) -> tuple[PoseHighResolutionNet, PoseModelSpec]:
    """Build the HRNet a checkpoint describes and load it (eval mode, CPU).

    ``arch``/``num_joints`` default to what the tensors say; when given, a checkpoint
    that does not fit fails with the keys and shapes that differ.
    """
    path = Path(path)
    sd = read_state_dict(path)
    found_arch, found_joints, kernel = infer_architecture(sd, path.name)
    arch = arch or found_arch
    num_joints = num_joints or found_joints
    model = build_pose_model(arch, num_joints, kernel)
    load_into(model, sd, path.name)
    model.eval()
    input_size, note = resolve_input_size(input_size, None, path, num_joints, arch)
    notes = [note] if note else []
    spec = PoseModelSpec(arch, num_joints, input_size, keypoint_set_for(num_joints), path, kernel, notes)
    return model, spec
