"""What every command shares: one-line messages, the model, runtime and trust flags, and the pipeline choice
made from them."""
from __future__ import annotations

import argparse
import sys

from ..inference.options import (
    BACKENDS,
    DEVICES,
    PRECISIONS,
    PipelineChoice,
    parse_input_size,
)


def parse_size(text: str) -> tuple[int, int]:
    try:
        return parse_input_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a value between 0 and 1, got {text}")
    return value


def add_model_arguments(group) -> None:
    group.add_argument("--model", help="pose model: an installed name (see `models list`) or a file (.pth: "
                       "official, mmpose, wrapped or fine-tuned; .onnx); default: hrnet_w32_coco_256x192")
    group.add_argument("--input-size", type=parse_size, help="network input WxH (default: from the model's metadata "
                       "or file name, else 192x256 for 17 joints, 256x256 for 16)")


def add_trust_argument(group) -> None:
    group.add_argument("--trust-detector", action="store_true",
                       help="load a YOLO .pt file even if it holds more than YOLO layers (such a file can run any "
                            "code on this computer: only for files whose source you trust)")


def add_runtime_arguments(group) -> None:
    choice = PipelineChoice()
    group.add_argument("--backend", default=choice.backend, choices=BACKENDS,
                       help=f"inference runtime (default: {choice.backend}; auto = ONNX Runtime for .onnx models, "
                            "else PyTorch)")
    group.add_argument("--device", default=choice.device, choices=DEVICES,
                       help=f"default: {choice.device} (auto: CUDA if present)")
    group.add_argument("--half", action="store_true", help="fp16 on CUDA (PyTorch backend)")
    group.add_argument("--precision", default=choice.precision, choices=PRECISIONS,
                       help="int8: the model's INT8 version on ONNX Runtime, made by `models quantize` (default "
                            f"{choice.precision})")


# PipelineChoice field ← the command-line option (argparse dest) that sets it, where a command has that option
CHOICE_FLAGS = {"model": "model", "device": "device", "backend": "backend", "trust_detector": "trust_detector",
                "detector_size": "det_size", "precision": "precision", "half": "half", "input_size": "input_size",
                "det_conf": "det_conf", "det_iou": "det_iou", "face_model": "face_model", "hand_model": "hand_model",
                "part_precision": "part_precision"}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pipeline_choice(args: argparse.Namespace, registry, model: str | None = None) -> PipelineChoice:
    """The ``PipelineChoice`` of the command line's model, detector and runtime options (``model``: another model
    than ``--model``, e.g. a teacher)."""
    from ..inference.factory import resolve_detector

    detector, sha256 = resolve_detector(args.detector, registry, say)
    given = {field: getattr(args, flag) for field, flag in CHOICE_FLAGS.items() if hasattr(args, flag)}
    if model:
        given["model"] = model
    return PipelineChoice(**given, detector=detector, detector_sha256=sha256)


def load_model(args: argparse.Namespace, registry):
    from ..inference.runtime.model_loading import open_pose_model

    loaded = open_pose_model(args.model, args.backend, args.device, fp16=args.half, input_size=args.input_size,
                             registry=registry, say=say, precision=args.precision)
    for note in loaded.spec.notes:
        say(f"note: {note}")
    return loaded
