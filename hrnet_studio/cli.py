"""``hrnet-studio`` command line. Every user error ends in one line and a non-zero exit."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import StudioError

EXIT_ERROR = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130
DEFAULT_POSE_MODELS = ("pose_hrnet_w32_256x192.pth",)
DEFAULT_DETECTORS = ("yolo11n-pose.pt", "yolo11n.pt")


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 192x256, got {text!r}") from None
    if w % 4 or h % 4 or w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"input size must be positive multiples of 4, got {text!r}")
    return w, h


def probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a value between 0 and 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hrnet-studio",
        description="Real-time human pose estimation with HRNet: export keypoints of a video to CSV/JSON.",
    )
    parser.add_argument("--version", action="version", version=f"hrnet-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ex = sub.add_parser("export", help="export the keypoints of every frame of a video to CSV (and JSON / overlay mp4)",
                        description="Detect every person in every frame, estimate their keypoints with HRNet "
                                    "and write one CSV row per person per frame.")
    ex.add_argument("video", type=Path, help="input video file")
    ex.add_argument("-o", "--output", type=Path, help="CSV file to write (default: <video name>.poses.csv here)")
    ex.add_argument("--json", type=Path, help="also write COCO-results JSON here")
    ex.add_argument("--video", dest="overlay", type=Path, help="also write an mp4 with skeletons drawn here")
    model = ex.add_argument_group("models")
    model.add_argument("--model", type=Path, help="HRNet checkpoint (.pth: official, mmpose or wrapped state dict); "
                       "default: pose_hrnet_w32_256x192.pth in the model folder")
    model.add_argument("--arch", help="force an architecture such as hrnet_w32 (default: read from the checkpoint)")
    model.add_argument("--input-size", type=parse_size, help="network input WxH (default: from the file name, "
                       "else 192x256 for 17 joints, 256x256 for 16)")
    model.add_argument("--detector", help="Ultralytics YOLO weights (detect or pose model), or 'none' for a "
                       "full-frame box; default: yolo11n-pose.pt / yolo11n.pt in the model folder")
    run = ex.add_argument_group("inference")
    run.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: auto (CUDA if present)")
    run.add_argument("--half", action="store_true", help="fp16 on CUDA")
    run.add_argument("--batch", type=int, default=32, help="most persons per network forward (default 32)")
    run.add_argument("--flip", action="store_true", help="flip test: average with the mirrored crop (2x the compute)")
    run.add_argument("--decoder", default="dark", choices=("dark", "official", "argmax"),
                     help="heatmap decoding (default: dark)")
    run.add_argument("--track", action=argparse.BooleanOptionalAction, default=True,
                     help="stable person IDs across frames (default: on)")
    run.add_argument("--smooth", action="store_true", help="One-Euro smoothing of keypoints over time")
    run.add_argument("--smooth-min-cutoff", type=float, default=1.0, help="One-Euro min cutoff in Hz (default 1.0)")
    run.add_argument("--smooth-beta", type=float, default=0.05, help="One-Euro speed coefficient (default 0.05)")
    run.add_argument("--det-conf", type=probability, default=0.4, help="detector confidence threshold (default 0.4)")
    run.add_argument("--det-iou", type=probability, default=0.5, help="detector NMS IoU threshold (default 0.5)")
    run.add_argument("--kpt-thr", type=probability, default=0.3,
                     help="keypoint score below which the overlay hides a joint (default 0.3)")
    run.add_argument("--max-frames", type=int, help="stop after this many frames")
    ex.set_defaults(func=cmd_export)
    return parser


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def resolve_model_path(arg: Path | None) -> Path:
    from .paths import find_in_models_dir, models_dir

    if arg is not None:
        return arg
    found = find_in_models_dir(*DEFAULT_POSE_MODELS)
    if found is None:
        raise StudioError(
            f"no pose model given: pass --model PATH to an HRNet checkpoint (e.g. the official "
            f"pose_hrnet_w32_256x192.pth), or put it in {models_dir()}"
        )
    return found


def resolve_detector(arg: str | None) -> str | None:
    from .paths import find_in_models_dir, models_dir

    if arg is not None:
        return arg
    found = find_in_models_dir(*DEFAULT_DETECTORS)
    if found is None:
        say(f"warning: no person detector given and none in {models_dir()}; using the full frame as one person "
            f"box (pass --detector PATH to a YOLO .pt, or --detector none)")
        return "none"
    return str(found)


def cmd_export(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .inference.backends import TorchBackend
    from .inference.detector import make_detector
    from .inference.export_job import export_video
    from .inference.pipeline import PipelineOptions, PosePipeline
    from .inference.sources import VideoFileSource
    from .models.checkpoints import load_pose_model

    if args.batch < 1:
        raise StudioError("--batch must be at least 1")
    if args.max_frames is not None and args.max_frames < 1:
        raise StudioError("--max-frames must be at least 1")
    VideoFileSource(args.video).close()  # fail on a bad video before loading any model
    output = args.output or Path(f"{args.video.stem}.poses.csv")
    model, spec = load_pose_model(resolve_model_path(args.model), args.arch, input_size=args.input_size)
    for note in spec.notes:
        say(f"note: {note}")
    backend = TorchBackend(model, args.device, fp16=args.half)
    detector = make_detector(resolve_detector(args.detector), args.det_conf, args.det_iou,
                             "cpu" if backend.device.type == "cpu" else "cuda", warn=say)
    options = PipelineOptions(decoder=args.decoder, flip_test=args.flip, track=args.track, smooth=args.smooth,
                              smooth_min_cutoff=args.smooth_min_cutoff, smooth_beta=args.smooth_beta,
                              max_batch=args.batch)
    pipeline = PosePipeline(backend, spec, detector, options)
    say(f"model {spec.arch} ({spec.num_joints} joints, {spec.input_size[0]}x{spec.input_size[1]}) on "
        f"{backend.device_name}; detector: {detector.name}; decoder: {args.decoder}")

    with tqdm(total=None, unit="frame", desc=args.video.name, file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total or None
            bar.update(done - bar.n)

        report = export_video(args.video, pipeline, output, args.json, args.overlay, args.max_frames,
                              args.kpt_thr, progress)
    names = ", ".join(str(p) for p in report.outputs)
    say(f"wrote {names}: {report.frames} frames, {report.persons} person detections")
    if report.truncated:
        say(f"error: {args.video.name} stopped decoding after frame {report.frames - 1} of {report.expected_frames} "
            f"(truncated or damaged file); the frames before it were exported")
        return EXIT_PARTIAL
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except StudioError as exc:
        say(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        say("interrupted: nothing was written")
        return EXIT_INTERRUPTED
    except Exception as exc:  # never show a traceback to a user; HRNET_STUDIO_DEBUG=1 shows it
        if os.environ.get("HRNET_STUDIO_DEBUG"):
            raise
        say(f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
            f"(set HRNET_STUDIO_DEBUG=1 for details)")
        return 1
