"""Ultralytics YOLO ``.pt`` files, loaded without ever running code from them.

An Ultralytics checkpoint is a pickle of the whole model, and Ultralytics unpickles it without
restriction: a ``.pt`` can run any command when it is opened. HRNet Studio loads these files through
PyTorch's restricted unpickler (``torch.load(weights_only=True)``) with an allowlist of exactly the
classes real YOLO11 detect/pose checkpoints are made of (read off ``yolo11n-pose.pt`` with
``torch.serialization.get_unsafe_globals_in_checkpoint``; YOLOv8's ``C2f`` block and the detect-only
``DetectionModel`` beside them). Those are ``torch.nn.Module`` classes: rebuilding one sets tensors and
attributes and calls no code of the file's choosing.

The one function such a checkpoint also needs is ``getattr`` (it stores ``getattr(Detect, 'forward')``).
A free ``getattr`` would reopen the door — ``getattr`` on a function reaches its ``__globals__`` and from
there any module — so it is allowed only on the allowlisted classes and only for names that are not
dunders.

A file that needs anything else is refused with one line naming what it holds, unless the user says
explicitly that they trust it (``--trust-detector``, or the app's confirmation).
"""
from __future__ import annotations

import importlib
import os
import pickle
import pickletools
import re
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import DetectorError, UnsafeFileError, first_line
from ..thread_budget import thread_budget

# Ultralytics stays offline and quiet: no update checks, no automatic pip installs (set before it is imported).
for _name, _value in (("YOLO_OFFLINE", "1"), ("YOLO_AUTOINSTALL", "false"), ("YOLO_VERBOSE", "false")):
    os.environ.setdefault(_name, _value)
thread_budget()  # sets OMP_NUM_THREADS to the budget first, or Ultralytics sets it to 1 when it is imported

YOLO_CLASS_NAMES = (
    # the model and its heads
    "ultralytics.nn.tasks.PoseModel",
    "ultralytics.nn.tasks.DetectionModel",
    "ultralytics.nn.modules.head.Detect",
    "ultralytics.nn.modules.head.Pose",
    # blocks
    "ultralytics.nn.modules.conv.Conv",
    "ultralytics.nn.modules.conv.DWConv",
    "ultralytics.nn.modules.conv.Concat",
    "ultralytics.nn.modules.block.Attention",
    "ultralytics.nn.modules.block.Bottleneck",
    "ultralytics.nn.modules.block.C2PSA",
    "ultralytics.nn.modules.block.C2f",
    "ultralytics.nn.modules.block.C3k",
    "ultralytics.nn.modules.block.C3k2",
    "ultralytics.nn.modules.block.DFL",
    "ultralytics.nn.modules.block.PSABlock",
    "ultralytics.nn.modules.block.SPPF",
    # torch layers
    "torch.nn.modules.activation.SiLU",
    "torch.nn.modules.batchnorm.BatchNorm2d",
    "torch.nn.modules.container.ModuleList",
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.conv.Conv2d",
    "torch.nn.modules.linear.Identity",
    "torch.nn.modules.pooling.MaxPool2d",
    "torch.nn.modules.upsampling.Upsample",
)
GETATTR = "builtins.getattr"
ALLOWED_NAMES = frozenset(YOLO_CLASS_NAMES) | {GETATTR}

_load_lock = threading.Lock()  # the allowlist is process-wide while a load runs; Ultralytics' loader is patched


def yolo_classes() -> dict[str, type]:
    """The allowlisted classes, imported (Ultralytics is imported here, not before)."""
    import torch

    classes = {}
    for name in YOLO_CLASS_NAMES:
        module, _, attr = name.rpartition(".")
        cls = getattr(importlib.import_module(module), attr, None)
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
            classes[name] = cls  # a block this Ultralytics version lacks is simply not allowed
    return classes


def restricted_getattr(classes: frozenset[type]):
    """``getattr`` for the unpickler: only on allowlisted classes, only for names that are not dunders."""

    def getattr_on_model_class(obj: Any, name: str, *default: Any) -> Any:
        dunder = not isinstance(name, str) or (name.startswith("__") and name.endswith("__"))
        if dunder or not (isinstance(obj, type) and obj in classes):
            what = getattr(obj, "__qualname__", type(obj).__name__)
            raise pickle.UnpicklingError(f"refused getattr({what}, {name!r})")
        return getattr(obj, name, *default)

    return getattr_on_model_class


_SCANNED_KEEP = 32  # files whose globals are remembered in this process (a detector is often opened again)
_scanned: dict[tuple, list[str]] = {}
_scanned_lock = threading.Lock()


def pickle_globals(path: Path) -> list[str]:
    """Every global (``module.name``) a pickle or a ``torch.save`` archive refers to, read without unpickling.

    Reading a 6 MB YOLO file this way takes a quarter of a second, and the same file is read again when it is
    identified, imported, checked and loaded, so the answer is remembered per file (path, size, modification time,
    inode): a file changed in any of these is read again."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _scanned_lock:
        known = _scanned.get(key)
    if known is None:
        known = _scan_globals(Path(path))
        with _scanned_lock:
            _scanned[key] = known
            while len(_scanned) > _SCANNED_KEEP:
                del _scanned[next(iter(_scanned))]
    return list(known)


def _scan_globals(path: Path) -> list[str]:
    names: list[str] = []
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".pkl"):
                    names += _globals_in(archive.read(member))
    else:
        names += _globals_in(path.read_bytes())
    return list(dict.fromkeys(names))


def _globals_in(data: bytes) -> list[str]:
    found, strings, memo = [], [], {}
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                module, _, name = str(arg).partition(" ")
                found.append(f"{_builtin(module)}.{name}")
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{_builtin(strings[-2])}.{strings[-1]}")
            elif isinstance(arg, str) and "UNICODE" in op.name:
                strings.append(arg)
            elif op.name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT") and strings:
                memo[len(memo) if op.name == "MEMOIZE" else arg] = strings[-1]
            elif op.name in ("GET", "BINGET", "LONG_BINGET") and arg in memo:
                strings.append(memo[arg])
    except Exception:  # a damaged pickle: what was read so far is what it refers to
        pass
    return found


def _builtin(module: str) -> str:
    return "builtins" if module == "__builtin__" else module


def refused_globals(path: Path) -> list[str]:
    """What in ``path`` is outside the YOLO allowlist (empty for a real Ultralytics detect/pose checkpoint)."""
    return refused_among(pickle_globals(path))


def refused_among(names: list[str]) -> list[str]:
    """The globals among ``names`` that neither the YOLO allowlist nor ``weights_only`` itself allows."""
    return [name for name in names if name not in ALLOWED_NAMES and not _always_safe(name)]


def _always_safe(name: str) -> bool:
    """What ``weights_only=True`` itself allows: tensor and storage rebuilding, ordered dicts, dtypes."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals

        return name in _get_allowed_globals()
    except ImportError:  # pragma: no cover - a PyTorch without that table: the restricted load still judges
        return name.startswith(("torch.", "collections.OrderedDict"))



def load_restricted(path: Path) -> dict:
    """The checkpoint dict, unpickled by PyTorch's restricted unpickler with the YOLO allowlist."""
    import torch

    classes = yolo_classes()
    allowed = [*classes.values(), (restricted_getattr(frozenset(classes.values())), GETATTR)]
    refused = refused_globals(path)
    if refused:
        raise UnsafeFileError(refusal(path, refused[0]), path)
    with _load_lock, torch.serialization.safe_globals(allowed):
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise UnsafeFileError(refusal(path, _refused_in(str(exc))), path) from None
        except Exception as exc:  # zip and storage errors of a damaged file
            raise DetectorError(f"cannot load detector {path.name}: {first_line(exc)}") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("ema") or ckpt.get("model"), torch.nn.Module):
        raise DetectorError(f"{path.name} is not an Ultralytics YOLO checkpoint (no model inside)")
    return ckpt


def refusal(path: Path, what: str) -> str:
    return (f"{path.name} was refused: it holds {what}, which is not part of a YOLO model and could run code "
            f"when loaded; use it only if you trust its source (export or label --trust-detector)")



def _refused_in(message: str) -> str:
    found = re.search(r"GLOBAL\s+([\w.]+)", message) or re.search(r"refused (getattr\([^\n]*?\))", message)
    return found.group(1) if found else first_line(pickle.UnpicklingError(message))


@contextmanager
def _loader_returning(ckpt: dict):
    """Make Ultralytics use the checkpoint unpickled here instead of unpickling the file itself."""
    from ultralytics.nn import tasks

    original = getattr(tasks, "torch_safe_load", None)
    if original is None:
        import ultralytics

        raise DetectorError(f"Ultralytics {ultralytics.__version__} cannot be given a checkpoint loaded safely; "
                            f"install another version, or pass --trust-detector for files you trust")
    tasks.torch_safe_load = lambda weight, *args, **kwargs: (ckpt, str(weight))
    try:
        yield
    finally:
        tasks.torch_safe_load = original


def open_yolo(path: str | Path, task: str | None = None, trust: bool = False):
    """An ``ultralytics.YOLO`` for ``path``; ``.pt`` files are unpickled restricted unless ``trust`` is given.

    Exported formats (ONNX, OpenVINO folders) hold no pickle and are opened as they are.
    """
    from ultralytics import YOLO

    path = Path(path)
    if path.suffix.lower() != ".pt" or trust:
        return YOLO(str(path), task=task)
    ckpt = load_restricted(path)
    with _load_lock, _loader_returning(ckpt):
        return YOLO(str(path), task=task)
