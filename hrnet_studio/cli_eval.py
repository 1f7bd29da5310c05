"""``hrnet-studio eval``: COCO keypoint AP/AR (pycocotools) or MPII PCKh of a pose model on a dataset."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import StudioError
from .inference.choices import DECODERS


def add_eval_parser(sub) -> None:
    from .cli import add_model_arguments, add_runtime_arguments

    ev = sub.add_parser("eval", help="COCO keypoint AP/AR or MPII PCKh of a model on a dataset",
                        description="Runs a pose model on every person of a COCO-format keypoints file (ground-truth "
                                    "boxes, or a detection-results json) and reports OKS AP/AR with pycocotools; or "
                                    "on an MPII json file and reports PCKh@0.5 per part with the official formula.")
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
    ev.add_argument("--decoder", default="dark", choices=DECODERS)
    ev.add_argument("--batch", type=int, default=32)
    ev.add_argument("--results", type=Path, help="also write the results json here (COCO results, or the PCKh table)")
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from .models.registry import ModelRegistry
    from .training.datasets.inspect import detect_format

    fmt = detect_format(args.annotations) if args.format == "auto" else args.format
    if fmt == "mpii":
        if args.detections:
            raise StudioError("--detections is for COCO datasets; MPII is scored on its annotated persons")
        return eval_mpii(args, ModelRegistry())
    return eval_coco(args, ModelRegistry())


def eval_coco(args: argparse.Namespace, registry) -> int:
    from tqdm import tqdm

    from .cli import load_model, say
    from .inference.codec import HeatmapCodec
    from .training.datasets.coco import CocoKeypoints
    from .training.datasets.joints_dataset import JointsDataset
    from .training.predict import evaluate_coco

    coco = CocoKeypoints(args.annotations, args.images)
    missing = coco.missing_images()
    if missing:
        raise StudioError(f"{len(missing)} image(s) of {args.annotations.name} are not in {args.images} "
                          f"(first: {missing[0]})")
    loaded = load_model(args, registry)
    spec = loaded.spec
    if spec.num_joints != coco.keypoints.num_joints:
        raise StudioError(f"the model has {spec.num_joints} joints but {args.annotations.name} has "
                          f"{coco.keypoints.num_joints}")
    w, h = spec.input_size
    records = (coco.detection_records(args.detections, w / h) if args.detections else coco.gt_records(w / h))
    dataset = JointsDataset(records, coco.keypoints, HeatmapCodec.for_input((w, h), decoder=args.decoder), False)
    say(f"evaluating {loaded.record.name} on {len(records)} persons ({'detections' if args.detections else 'GT boxes'}"
        f", flip test {'on' if args.flip else 'off'}) with {loaded.backend.device_name}")
    with tqdm(total=len(records), unit="person", file=sys.stderr) as bar:
        stats = evaluate_coco(loaded.backend, coco, dataset, args.flip, args.batch,
                              lambda done, total: bar.update(done - bar.n), args.results)
    for name, value in stats.items():
        print(f"{name:>5} {value:.3f}")
    return 0


def eval_mpii(args: argparse.Namespace, registry) -> int:
    from tqdm import tqdm

    from .atomic_writer import write_json
    from .cli import load_model, say
    from .inference.codec import HeatmapCodec
    from .skeletons import MPII_16
    from .training.datasets.joints_dataset import JointsDataset
    from .training.datasets.mpii import load_mpii
    from .training.datasets.mpii_truth import (
        find_truth_file,
        load_pckh_truth,
        match_truth,
    )
    from .training.datasets.records import check_images
    from .training.predict import evaluate_mpii

    records = load_mpii(args.annotations, args.images)
    check_images(records, args.annotations, args.images)
    truth_file = args.pckh_gt or find_truth_file(args.annotations)
    if truth_file is None:
        raise StudioError(f"PCKh needs head sizes: pass --pckh-gt gt_valid.mat (or valid.h5); none is beside "
                          f"{args.annotations.name}")
    truth = match_truth(load_pckh_truth(truth_file), records, args.annotations.name)
    loaded = load_model(args, registry)
    spec = loaded.spec
    if spec.num_joints != MPII_16.num_joints:
        raise StudioError(f"the model has {spec.num_joints} joints; MPII has {MPII_16.num_joints}")
    dataset = JointsDataset(records, MPII_16, HeatmapCodec.for_input(tuple(spec.input_size), decoder=args.decoder),
                            False)
    say(f"evaluating {loaded.record.name} on {len(records)} MPII persons (head sizes from {Path(truth_file).name}, "
        f"flip test {'on' if args.flip else 'off'}) with {loaded.backend.device_name}")
    with tqdm(total=len(records), unit="person", file=sys.stderr) as bar:
        stats = evaluate_mpii(loaded.backend, dataset, truth, args.flip, args.batch,
                              lambda done, total: bar.update(done - bar.n))
    if args.results:
        write_json(args.results, stats, indent=1)
    for name, value in stats.items():
        if name != "per_joint":
            print(f"{name:>8} {value:.2f}")
    return 0
