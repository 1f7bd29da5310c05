"""``hrnet-studio eval``: COCO keypoint AP/AR (pycocotools) or MPII PCKh of a pose model on a dataset."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import StudioError
from ..inference.options import DECODERS, PipelineOptions
from .common import add_model_arguments, add_runtime_arguments, load_model, say


def add_eval_parser(sub) -> None:
    ev = sub.add_parser("eval", help="COCO keypoint AP/AR, MPII PCKh, or face NME / hand PCK, AUC, EPE of a model",
                        description="Runs a pose model on every person of a COCO-format keypoints file (ground-truth "
                                    "boxes, or a detection-results json) and reports OKS AP/AR with pycocotools; or "
                                    "on an MPII json file and reports PCKh@0.5 per part with the official formula. "
                                    "A face model (68 or 98 points) on a COCO-format face file reports NME "
                                    "(normalised by the outer eye corners); a hand model (21 points) reports "
                                    "PCK@0.2 of the box, AUC over 0-30 px and EPE in pixels, as mmpose defines them.")
    ev.add_argument("annotations", type=Path, help="COCO keypoints json or MPII json (ground truth)")
    ev.add_argument("images", type=Path, help="image folder")
    ev.add_argument("--format", default="auto", choices=("auto", "coco", "mpii"),
                    help="dataset format (default: detected from the file)")
    ev.add_argument("--pckh-gt", type=Path, help="MPII head sizes: gt_valid.mat or valid.h5 (default: the one "
                    "beside the annotation file)")
    ev.add_argument("--detections", type=Path, help="COCO detection results json for the person boxes "
                    "(default: ground-truth boxes)")
    add_model_arguments(ev)
    add_runtime_arguments(ev)
    ev.add_argument("--no-flip", dest="flip", action="store_false", help="skip the flip test (on by default)")
    options = PipelineOptions()
    ev.add_argument("--decoder", default=options.decoder, choices=DECODERS,
                    help=f"heatmap decoding (default: {options.decoder})")
    ev.add_argument("--batch", type=int, default=options.max_batch,
                    help=f"most persons per network forward (default {options.max_batch})")
    ev.add_argument("--results", type=Path, help="also write the results json here (COCO results, or the PCKh table)")
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..atomic_writer import write_json
    from ..inference.codec.heatmap_codec import HeatmapCodec
    from ..models.registry import ModelRegistry
    from ..training.datasets.inspect import detect_format
    from ..training.eval_set import build_eval_set

    fmt = detect_format(args.annotations) if args.format == "auto" else args.format
    registry = ModelRegistry()
    # The data is checked before any model loads: a missing image or head-size file fails in a second.
    eval_set = build_eval_set(fmt, args.annotations, args.images, args.detections, args.pckh_gt)
    loaded = load_model(args, registry)
    spec = loaded.spec
    if spec.num_joints != eval_set.keypoints.num_joints:
        raise StudioError(f"the model has {spec.num_joints} joints but {args.annotations.name} has "
                          f"{eval_set.keypoints.num_joints}")
    dataset = eval_set.dataset(HeatmapCodec.for_spec(spec, args.decoder), spec.normalization)
    flip = f"flip test {'on' if args.flip else 'off'}"
    if fmt == "coco":
        say(f"evaluating {loaded.record.name} on {len(dataset)} persons "
            f"({'detections' if args.detections else 'GT boxes'}, {flip}) with {loaded.backend.device_name}")
    else:
        say(f"evaluating {loaded.record.name} on {len(dataset)} MPII persons (head sizes from "
            f"{eval_set.truth_file.name}, {flip}) with {loaded.backend.device_name}")
    with tqdm(total=len(dataset), unit="person", file=sys.stderr) as bar:
        stats = eval_set.score(loaded.backend, dataset, args.flip, args.batch, lambda done, total: bar.update(done - bar.n),
                               args.results if fmt == "coco" else None, landmarks=spec.keypoints.name)
    if args.results and fmt == "mpii":
        write_json(args.results, stats, indent=1)
    for name, value in stats.items():
        if name != "per_joint":
            print(f"{name:>8} {value:.3f}" if fmt == "coco" else f"{name:>8} {value:.2f}")
    return 0
