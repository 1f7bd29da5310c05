"""``hrnet-studio label``: auto-label the people in videos with a teacher model into a COCO dataset."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..inference.options import DEVICES, PipelineChoice
from ..training.options import LabelOptions
from .common import add_trust_argument, pipeline_choice, probability, say


def add_label_parser(sub) -> None:
    lab = sub.add_parser("label", help="auto-label people in videos with a teacher model into a COCO dataset",
                         description="Samples frames of videos, labels every person with a teacher (an Ultralytics "
                                     "pose model or an installed HRNet), drops unsure people, and writes a "
                                     "COCO-format dataset (images/ and annotations.json) to correct or train on.")
    lab.add_argument("videos", type=Path, nargs="+")
    lab.add_argument("--teacher", required=True, help="Ultralytics *-pose.pt file, or an HRNet model name/file")
    lab.add_argument("-o", "--output", type=Path, required=True, help="dataset folder to write")
    lab.add_argument("--detector", help="person detector for an HRNet teacher (default: the installed one)")
    add_trust_argument(lab)
    defaults = LabelOptions()
    lab.add_argument("--every", type=int, default=defaults.every,
                     help=f"label every n-th frame (default {defaults.every})")
    lab.add_argument("--max-frames", type=int, default=defaults.max_frames,
                     help=f"at most this many frames per video (default {defaults.max_frames}: no limit)")
    lab.add_argument("--min-score", type=probability, default=defaults.min_box_score,
                     help=f"drop people whose box score is lower (default {defaults.min_box_score})")
    lab.add_argument("--kpt-thr", type=probability, default=defaults.keypoint_threshold,
                     help=f"joints below this score are left unlabelled (default {defaults.keypoint_threshold})")
    lab.add_argument("--min-keypoints", type=int, default=defaults.min_keypoints,
                     help=f"drop people with fewer confident joints (default {defaults.min_keypoints})")
    lab.add_argument("--device", default=PipelineChoice.device, choices=DEVICES)
    lab.set_defaults(func=cmd_label)


def cmd_label(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..inference.runtime.backends import resolve_device
    from ..models.registry import ModelRegistry
    from ..sources.video_file import VideoFileSource
    from ..training.label import (
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
        from ..inference.factory import build_pipeline
        from ..inference.options import PipelineOptions

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
