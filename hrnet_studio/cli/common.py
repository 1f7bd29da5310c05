"""What every command shares: one-line messages, the model, runtime and trust flags, and the pipeline choice
made from them."""
from __future__ import annotations

import argparse
import sys

from ..inference.options import (
    BACKENDS,
    DECODERS,
    DEVICES,
    PRECISIONS,
    PipelineChoice,
    PipelineOptions,
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
                       help="int8: the model's INT8 version on ONNX Runtime, made by `models quantize`; bf16: "
                            "PyTorch in bfloat16 (fast on CPUs with AVX-512 BF16 or AMX, and on GPUs); fp16: PyTorch "
                            f"in half precision on a CUDA GPU (default {choice.precision})")
    group.add_argument("--compile", action="store_true",
                       help="PyTorch: compile the network with torch.compile first (minutes on a small CPU, cached "
                            "for later runs; then 1.2-1.4x faster: for long exports)")


# PipelineChoice field ← the command-line option (argparse dest) that sets it, where a command has that option
CHOICE_FLAGS = {"model": "model", "device": "device", "backend": "backend", "trust_detector": "trust_detector",
                "detector_size": "det_size", "precision": "precision", "half": "half", "input_size": "input_size",
                "det_conf": "det_conf", "det_iou": "det_iou", "face_model": "face_model", "hand_model": "hand_model",
                "part_precision": "part_precision", "compile": "compile"}


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
                             registry=registry, say=say, precision=args.precision,
                             compile=getattr(args, "compile", False))
    for note in loaded.spec.notes:
        say(f"note: {note}")
    return loaded

def add_pipeline_arguments(parser, options: PipelineOptions | None = None) -> tuple:
    """The model, detector, runtime, decoding, tracking and whole-body flags ``export`` and ``live`` share, with
    ``options``' defaults (an export's when not given); returns the ``inference`` and ``whole body`` groups for the
    command's own flags."""
    model = parser.add_argument_group("models")
    add_model_arguments(model)
    model.add_argument("--detector", help="Ultralytics YOLO weights (a path or an installed name; detect or pose "
                       "model), or 'none' for a full-frame box; default: yolo11n-pose / yolo11n if installed")
    add_trust_argument(model)
    run = parser.add_argument_group("inference")
    add_runtime_arguments(run)
    options, choice = options or PipelineOptions(), PipelineChoice()
    run.add_argument("--batch", type=int, default=options.max_batch,
                     help=f"most persons per network forward (default {options.max_batch})")
    run.add_argument("--flip", action="store_true", help="flip test: average with the mirrored crop (2x the compute)")
    run.add_argument("--decoder", default=options.decoder, choices=DECODERS,
                     help=f"heatmap decoding (default: {options.decoder})")
    run.add_argument("--track", action=argparse.BooleanOptionalAction, default=options.track,
                     help=f"stable person IDs across frames (default: {'on' if options.track else 'off'})")
    run.add_argument("--smooth", action="store_true", help="One-Euro smoothing of keypoints over time")
    run.add_argument("--smooth-min-cutoff", type=float, default=options.smooth_min_cutoff,
                     help=f"One-Euro min cutoff in Hz (default {options.smooth_min_cutoff})")
    run.add_argument("--smooth-beta", type=float, default=options.smooth_beta,
                     help=f"One-Euro speed coefficient (default {options.smooth_beta})")
    run.add_argument("--det-conf", type=probability, default=choice.det_conf,
                     help=f"detector confidence threshold (default {choice.det_conf})")
    run.add_argument("--det-iou", type=probability, default=choice.det_iou,
                     help=f"detector NMS IoU threshold (default {choice.det_iou})")
    run.add_argument("--det-every", type=int, default=options.det_every, metavar="N",
                     help="run the detector on every N-th frame; in between, each person's box follows their "
                          f"keypoints, and the detector comes back at once when a person is lost (default "
                          f"{options.det_every}; 1: every frame; 0 = auto, from the measured costs)")
    run.add_argument("--det-size", type=int, default=choice.detector_size, metavar="PIXELS",
                     help=f"detector input size, a multiple of 32 (default {choice.detector_size}; 320 is about "
                          "4x faster and misses small persons)")
    whole = parser.add_argument_group("whole body (face and hand landmarks on each person; off by default)")
    whole.add_argument("--face-model", metavar="MODEL",
                       help="a face landmark model (an installed name such as hrnetv2_w18_wflw_256x256, or a file) run "
                            "on a box from each person's nose, eyes and ears")
    whole.add_argument("--hand-model", metavar="MODEL",
                       help="a hand landmark model (such as hrnetv2_w18_coco_wholebody_hand_256x256) run on a box "
                            "past each wrist")
    whole.add_argument("--part-precision", choices=["fp32", "int8"],
                       help="precision of the face and hand models (default: --precision's); int8 runs their INT8 "
                            "versions (`hrnet-studio models quantize MODEL`) on ONNX Runtime")
    return run, whole


def open_pipeline(args: argparse.Namespace, live: bool = False):
    """The pipeline of the command line's ``add_pipeline_arguments`` flags, said in one line (and one for the whole
    body): (choice, options, pipeline, loaded model). ``live``: for ``live``, whose detector runs beside."""
    from ..inference.detect.detector import detector_label
    from ..inference.factory import build_pipeline
    from ..inference.options import PipelineOptions
    from ..models.registry import ModelRegistry

    registry = ModelRegistry()
    options = PipelineOptions(decoder=args.decoder, flip_test=args.flip, track=args.track, smooth=args.smooth,
                              smooth_min_cutoff=args.smooth_min_cutoff, smooth_beta=args.smooth_beta,
                              max_batch=args.batch, det_every=args.det_every)
    choice = pipeline_choice(args, registry)
    pipeline, loaded = build_pipeline(choice, options, registry, say, live=live)
    spec = pipeline.spec
    size = f"{spec.input_size[0]}x{spec.input_size[1]}"
    say(f"model {loaded.record.name}: {spec.arch} ({spec.num_joints} joints, {size}, {loaded.precision_label}) on "
        f"{loaded.backend.device_name}; detector: {detector_label(pipeline.detector)}; decoder: {args.decoder}")
    if pipeline.layout is not None:
        say("whole body: " + ", ".join(f"{part} ({landmarks.num_joints} points)"
                                       for part, _, landmarks in pipeline.layout.parts) + " from the model itself")
    if pipeline.wholebody is not None:
        models = {"face": pipeline.wholebody.face, "hands": pipeline.wholebody.hands}
        say("whole body: " + "; ".join(f"{part} {m.name} ({m.spec.arch}, {m.spec.num_joints} points, {m.precision})"
                                       for part, m in models.items() if m is not None))
    return choice, options, pipeline, loaded
