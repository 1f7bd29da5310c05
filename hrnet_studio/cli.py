"""``hrnet-studio`` command line. Every user error ends in one line and a non-zero exit."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .cli_eval import add_eval_parser
from .cli_export import add_export_parser
from .cli_models import add_models_parser
from .cli_review import add_review_parser
from .errors import EXIT_ERROR, EXIT_INTERRUPTED, StudioError
from .inference.choices import BACKENDS, DEVICES, PRECISIONS, parse_input_size

COMMANDS = ("export", "models", "review", "train", "eval", "label", "gui", "bench")


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hrnet-studio",
        description="Real-time human pose estimation with HRNet. Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"hrnet-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    add_export_parser(sub)

    add_models_parser(sub, parse_size)
    add_review_parser(sub)

    train = sub.add_parser("train", help="train or fine-tune HRNet from a recipe (YAML) and register the result",
                           description="Train or fine-tune HRNet. Recipes live in training/; any setting can be "
                                       "overridden as section.key=value (e.g. optim.lr=1e-4 epochs=20).")
    train.add_argument("recipe", type=Path, help="recipe YAML, e.g. training/coco_w32_256x192.yaml")
    train.add_argument("overrides", nargs="*", help="section.key=value settings that replace the recipe's")
    train.add_argument("--resume", action="store_true", help="continue from the last finished epoch")
    train.set_defaults(func=cmd_train)

    add_eval_parser(sub)

    lab = sub.add_parser("label", help="auto-label people in videos with a teacher model into a COCO dataset",
                         description="Samples frames of videos, labels every person with a teacher (an Ultralytics "
                                     "pose model or an installed HRNet), drops unsure people, and writes a "
                                     "COCO-format dataset (images/ and annotations.json) to correct or train on.")
    lab.add_argument("videos", type=Path, nargs="+")
    lab.add_argument("--teacher", required=True, help="Ultralytics *-pose.pt file, or an HRNet model name/file")
    lab.add_argument("-o", "--output", type=Path, required=True, help="dataset folder to write")
    lab.add_argument("--detector", help="person detector for an HRNet teacher (default: the installed one)")
    add_trust_argument(lab)
    lab.add_argument("--every", type=int, default=10, help="label every n-th frame (default 10)")
    lab.add_argument("--max-frames", type=int, default=0, help="at most this many frames per video")
    lab.add_argument("--min-score", type=probability, default=0.5, help="drop people whose box score is lower")
    lab.add_argument("--kpt-thr", type=probability, default=0.5, help="joints below this score are left unlabelled")
    lab.add_argument("--min-keypoints", type=int, default=8, help="drop people with fewer confident joints")
    lab.add_argument("--device", default="auto", choices=DEVICES)
    lab.set_defaults(func=cmd_label)

    gui = sub.add_parser("gui", help="open the desktop app (the default when no command is given)")
    gui.add_argument("source", nargs="?", type=Path, help="a video file or image folder to open")
    gui.set_defaults(func=cmd_gui)

    bench = sub.add_parser("bench", help="measure pose-network throughput (persons/s) at several batch sizes",
                           description="Runs the pose network on random crops and prints persons per second.")
    add_model_arguments(bench)
    add_runtime_arguments(bench)
    bench.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32], help="batch sizes (default 1 8 32)")
    bench.add_argument("--seconds", type=float, default=3.0, help="time per batch size (default 3)")
    bench.set_defaults(func=cmd_bench)
    return parser


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
    group.add_argument("--backend", default="auto", choices=BACKENDS,
                       help="inference runtime (default: auto = ONNX Runtime for .onnx models, else PyTorch)")
    group.add_argument("--device", default="auto", choices=DEVICES, help="default: auto (CUDA if present)")
    group.add_argument("--half", action="store_true", help="fp16 on CUDA (PyTorch backend)")
    group.add_argument("--precision", default="fp32", choices=PRECISIONS,
                       help="int8: the model's INT8 version on ONNX Runtime, made by `models quantize` (default fp32)")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pipeline_choice(args: argparse.Namespace, registry, model: str | None = None):
    """The ``PipelineChoice`` of the command line's model, detector and runtime options (``model``: another model
    than ``--model``, e.g. a teacher)."""
    from .inference.factory import PipelineChoice, resolve_detector

    detector, sha256 = resolve_detector(args.detector, registry, say)
    return PipelineChoice(
        model=model or getattr(args, "model", None), detector=detector, device=args.device,
        backend=getattr(args, "backend", "auto"), detector_sha256=sha256, trust_detector=args.trust_detector,
        detector_size=getattr(args, "det_size", 640), precision=getattr(args, "precision", "fp32"),
        half=getattr(args, "half", False), input_size=getattr(args, "input_size", None),
        det_conf=getattr(args, "det_conf", 0.4), det_iou=getattr(args, "det_iou", 0.5),
        face_model=getattr(args, "face_model", None), hand_model=getattr(args, "hand_model", None),
        part_precision=getattr(args, "part_precision", None))


def load_model(args: argparse.Namespace, registry):
    from .inference.model_loading import open_pose_model

    loaded = open_pose_model(args.model, args.backend, args.device, fp16=args.half, input_size=args.input_size,
                             registry=registry, say=say, precision=args.precision)
    for note in loaded.spec.notes:
        say(f"note: {note}")
    return loaded


def cmd_train(args: argparse.Namespace) -> int:
    from .models.registry import ModelRegistry
    from .training.recipe import load_recipe
    from .training.stopping import StopSignal
    from .training.trainer import Trainer, run_folder

    recipe = load_recipe(args.recipe, args.overrides)
    # Ctrl-C, SIGTERM, a stop request file and the app closing all stop the run at a resumable point,
    # whatever signal disposition the launcher left behind.
    stop = StopSignal(run_folder(recipe)).install_signal_handlers().watch_app()
    resume = f"`hrnet-studio train {args.recipe} {' '.join(args.overrides)} --resume`".replace("  ", " ")
    try:
        trainer = Trainer(recipe, registry=ModelRegistry(), say=say, stop=stop)
        say(f"training {recipe.name}: {len(trainer.train_records)} persons, {trainer.keypoints.num_joints} joints, "
            f"{recipe.epochs} epochs on {trainer.device}; log: {trainer.log.path}")
        result = trainer.run(resume=args.resume)
        trainer.close()
    except KeyboardInterrupt:
        say(f"interrupted: the last finished epoch is saved; continue with {resume}")
        return EXIT_INTERRUPTED
    finally:
        stop.restore_signal_handlers()
    if result.stopped:
        say(f"{result.stopped}: " + (f"epoch {result.epochs_run} is saved; continue with {resume}" if result.epochs_run
                                     else "no epoch had finished yet, so there is nothing to resume"))
        # torchrun reports any other exit code of its processes as a failure, with a misleading "root cause"
        return 0 if trainer.dist.enabled else EXIT_INTERRUPTED
    say(f"done: best {result.metric_name} {result.best_metric:.4f}; checkpoint {result.best_checkpoint}"
        + (f"; registered as {result.registered}" if result.registered else ""))
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .inference.backends import resolve_device
    from .inference.sources import VideoFileSource
    from .models.registry import ModelRegistry
    from .training.label import (
        LabelOptions,
        PipelineTeacher,
        UltralyticsPoseTeacher,
        label_videos,
    )

    for video in args.videos:  # every video is checked before any is labelled
        VideoFileSource(video).close()
    device = resolve_device(args.device)
    teacher_path = Path(args.teacher)
    registry = ModelRegistry()
    record = None if teacher_path.is_file() else registry.find(args.teacher)
    if teacher_path.suffix == ".pt" or (record is not None and record.kind == "detector"):
        teacher = UltralyticsPoseTeacher(record.path if record else teacher_path,
                                         device="cpu" if device.type == "cpu" else 0, trust=args.trust_detector)
    else:
        from .inference.factory import build_pipeline
        from .inference.pipeline import PipelineOptions

        pipeline, loaded = build_pipeline(pipeline_choice(args, registry, model=args.teacher),
                                          PipelineOptions(track=False), registry, say)
        teacher = PipelineTeacher(pipeline, loaded.record.name)
    options = LabelOptions(args.every, args.max_frames, args.min_score, args.kpt_thr, args.min_keypoints)
    with tqdm(unit="frame", file=sys.stderr) as bar:
        def progress(video: str, done: int, total: int) -> None:
            bar.set_description(video)
            bar.total = total or None
            bar.n = done
            bar.refresh()

        report = label_videos(list(args.videos), teacher, args.output, options, progress)
    say(f"labelled {report.persons} persons in {report.images} frames with {teacher.name} "
        f"({report.dropped} unsure people dropped): {report.annotation_file}")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from .gui.app import run_app

    return run_app(getattr(args, "source", None))


def cmd_bench(args: argparse.Namespace) -> int:
    from .inference.bench import measure_throughput
    from .models.registry import ModelRegistry
    from .thread_budget import enforce as enforce_thread_budget

    if any(b < 1 for b in args.batches):
        raise StudioError("--batches must be positive")
    loaded = load_model(args, ModelRegistry())
    spec = loaded.spec
    print(f"{loaded.record.name}: {spec.arch}, {spec.input_size[0]}x{spec.input_size[1]}, "
          f"{loaded.backend_kind} {loaded.precision_label} on {loaded.backend.device_name}")
    print(enforce_thread_budget().describe())
    print(f"{'batch':>5}  {'persons/s':>10}  {'ms/batch':>9}")
    for batch in args.batches:
        result = measure_throughput(loaded.backend, spec.input_size, batch, args.seconds)
        print(f"{batch:>5}  {result.persons_per_s:>10.1f}  {result.ms_per_batch:>9.1f}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS and Path(argv[0]).exists():
        argv.insert(0, "gui")  # `hrnet-studio clip.mp4` opens the clip in the app
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return cmd_gui(args)
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
