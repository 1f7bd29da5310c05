"""``hrnet-studio review``: the frames of a video worth correcting, and corrected frames into a training set — what the
app's Review dock does, for scripts."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import StudioError
from ..review.review_file import SUGGESTIONS
from .common import (
    add_model_arguments,
    add_runtime_arguments,
    add_trust_argument,
    pipeline_choice,
    say,
)


def add_review_parser(sub) -> None:
    review = sub.add_parser("review", help="suggest frames of a video to correct; add corrected frames to a "
                            "training set", description="The app's Review dock from a terminal. Corrections are made "
                            "in the app (Review ▸ Correct this frame) and kept in VIDEO.review.json.")
    rsub = review.add_subparsers(dest="review_command", metavar="ACTION", required=True)
    sg = rsub.add_parser("suggest", help="rank the frames of a video worth a look and keep them in its review file")
    sg.add_argument("video", type=Path, help="a video file or an image folder")
    sg.add_argument("--count", type=int, default=SUGGESTIONS, help="how many frames to suggest, spread over the video "
                    f"(default {SUGGESTIONS})")
    sg.add_argument("--review", type=Path, metavar="FILE",
                    help="the review file (default: VIDEO.review.json beside the video)")
    add_model_arguments(sg)
    sg.add_argument("--detector", help="Ultralytics YOLO weights (a path or an installed name), or 'none'; default: "
                    "yolo11n-pose / yolo11n if installed")
    add_trust_argument(sg)
    add_runtime_arguments(sg)
    sg.set_defaults(func=cmd_suggest)
    add = rsub.add_parser("add", help="add a video's corrected frames to a COCO-format training set (images/ and "
                          "annotations.json; a frame added again replaces its earlier entry)")
    add.add_argument("video", type=Path, help="the reviewed video file or image folder")
    add.add_argument("dataset", type=Path, help="the training set's folder (made when missing)")
    add.add_argument("--review", type=Path, metavar="FILE",
                     help="the review file (default: VIDEO.review.json beside the video)")
    add.set_defaults(func=cmd_add)


def _source_total(video: Path) -> int:
    from ..sources.live import open_source

    source = open_source(video)  # a bad video fails here, before any model loads
    total = source.frame_count
    source.close()
    return total


def cmd_suggest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..inference.factory import build_pipeline
    from ..inference.options import PipelineOptions
    from ..models.registry import ModelRegistry
    from ..review.review_file import Review
    from ..review.suggest import scan, suggest
    from ..sources.live import open_source

    if args.count < 1:
        raise StudioError("--count must be at least 1")
    total = _source_total(args.video)
    registry = ModelRegistry()
    pipeline, loaded = build_pipeline(pipeline_choice(args, registry), PipelineOptions(track=True), registry, say)
    review = Review.open(args.video, pipeline.keypoints, path=args.review)
    source = open_source(args.video)
    try:
        with tqdm(total=total or None, unit="frame", desc=args.video.name, file=sys.stderr) as bar:
            checks = scan(pipeline, iter(source.read, None), lambda done: bar.update(done - bar.n))
    finally:
        source.close()
    review.suggestions = suggest(checks, args.count)
    review.save()
    for s in review.suggestions:
        print(f"frame {s.frame_index}: {', '.join(s.reasons)}")
    say(f"{len(review.suggestions)} frames suggested from {len(checks)} scanned with {loaded.record.name}; kept in "
        f"{review.path}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from ..review.review_file import Review
    from ..review.training_set import add_to_training_set

    _source_total(args.video)
    review = Review.load(args.review or Review.path_for(args.video))
    report = add_to_training_set(review, args.video, args.dataset)
    say(f"added {report.frames_added} new and {report.frames_replaced} updated frame(s), {report.persons} person(s), "
        f"to {report.annotation_file} ({report.total_images} images in the set)")
    return 0
