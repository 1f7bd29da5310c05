"""Does training learn on these machines, and which training targets learn best? Label the shared videos with a
teacher, train a small HRNet on the CPU for a bounded time, and measure PCK against the teacher on held-out
frames, before and after.

    python benchmarks/teacher_finetune.py [--minutes 10] [--arch hrnet_w16] [--input-size 96x128] [--every 3]
                                          [--encodings official,unbiased,udp] [--save MODEL.pth]

Held-out frames are the last 20% of each video (a temporal split, so neighbouring frames do not leak
between train and validation). No pretrained HRNet exists here, so the network starts from random weights:
the figure shows the training loop learning, not a finished model.

With several ``--encodings`` (training targets, ``inference/codec/heatmap_codec.py``) each is trained from the same random
weights, on the same labels, with the same seed and the same budget, side by side in this one run: the
budget is ``--minutes`` of training for the first encoding, and the others get the same number of epochs
(an equal amount of work however loaded the machine is), or ``--epochs`` for each. Printed: PCK@0.05, PCK@0.1 and PCK@0.2 on the
held-out frames for each, each decoded as its model's metadata says: at the last epoch and averaged over the
last four (validation from random init swings by several points from one epoch to the next). ``--seed`` changes
the initial weights and the augmentation: run two seeds to see how large a difference the noise alone makes.

``--save`` keeps the first encoding's best epoch (a checkpoint with metadata, usable by every command): the
other benchmarks use it where keypoints must mean something (following boxes between detections, the INT8
accuracy guard).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrnet_studio.training.label import (
    LabelOptions,
    UltralyticsPoseTeacher,
    label_videos,
)
from hrnet_studio.training.recipe import load_recipe
from hrnet_studio.training.trainer import Trainer

VIDEOS = ("single_person_taichi_340x256.mp4", "single_person_weightlifting_340x256.mp4",
          "two_people_basketball_gym_426x240.mp4", "two_people_portrait_1080x1920.mp4",
          "single_person_basketball_portrait_1080x1920.mp4")


def split(annotation_file: Path, held_out: float = 0.2) -> tuple[Path, Path]:
    """train.json / val.json: the last ``held_out`` of each video's labelled frames go to validation."""
    data = json.loads(annotation_file.read_text())
    by_video: dict[str, list[dict]] = {}
    for image in data["images"]:
        by_video.setdefault(image["video"], []).append(image)
    val_ids = set()
    for images in by_video.values():
        images.sort(key=lambda im: im["frame_index"])
        cut = int(len(images) * (1 - held_out))
        val_ids.update(im["id"] for im in images[cut:])
    paths = []
    for name, keep in (("train", lambda i: i not in val_ids), ("val", lambda i: i in val_ids)):
        subset = dict(data, images=[im for im in data["images"] if keep(im["id"])],
                      annotations=[a for a in data["annotations"] if keep(a["image_id"])])
        path = annotation_file.with_name(f"{name}.json")
        path.write_text(json.dumps(subset))
        paths.append(path)
    return paths[0], paths[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--arch", default="hrnet_w16")
    parser.add_argument("--input-size", default="96x128")
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--epochs", type=int, help="train each encoding this many epochs (instead of --minutes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encodings", default="official",
                        help="training targets to compare, comma-separated: official, unbiased, udp")
    parser.add_argument("--save", type=Path, help="copy the first encoding's best epoch's model here")
    args = parser.parse_args()
    shared = Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))
    w, h = (int(v) for v in args.input_size.split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        teacher = UltralyticsPoseTeacher(shared / "models" / "yolo11n-pose.pt")
        report = label_videos([shared / "data" / "videos" / v for v in VIDEOS], teacher, tmp / "data",
                              LabelOptions(every=args.every, min_box_score=0.5, keypoint_threshold=0.5))
        train_json, val_json = split(report.annotation_file)
        n_train = len(json.loads(train_json.read_text())["annotations"])
        n_val = len(json.loads(val_json.read_text())["annotations"])
        print(f"teacher {teacher.name}: {report.persons} persons in {report.images} frames "
              f"({report.dropped} dropped) in {time.perf_counter() - start:.0f} s; train {n_train}, held out {n_val}")

        base = [
            f"data.train_annotations={train_json}", f"data.train_images={tmp / 'data' / 'images'}",
            f"data.val_annotations={val_json}", f"data.val_images={tmp / 'data' / 'images'}",
            f"model.arch={args.arch}", f"model.input_size=[{w}, {h}]", "epochs=1000", f"batch_size={args.batch}",
            "workers=0", "device=cpu", f"output={tmp / 'runs'}", "flip_test=false", f"seed={args.seed}",
            f"optim.lr={args.lr}", "optim.schedule=step", "optim.milestones=[1000]", "augment.rotation_factor=30",
        ]
        epochs = args.epochs
        results, history = {}, {}
        for encoding in args.encodings.split(","):
            recipe = load_recipe(None, [*base, f"name=teacher-{encoding}", f"model.encoding={encoding}"])
            trainer = Trainer(recipe, say=lambda _: None, show_progress=False)
            before = trainer.validate()
            print(f"{encoding}: {args.arch} {w}x{h}, random init: {pcks(before)}")
            budget_end = time.perf_counter() + args.minutes * 60
            train_start = time.perf_counter()
            history[encoding] = []
            while (time.perf_counter() < budget_end) if epochs is None else (trainer.epoch < epochs):
                trainer.run(stop_after=1)
                last = json.loads(trainer.log.path.read_text().splitlines()[-2])  # the epoch line before "stopped"
                history[encoding].append(last)
                print(f"  epoch {trainer.epoch}: loss {last['train_loss']:.6f}, {pcks(last)} "
                      f"({time.perf_counter() - train_start:.0f} s)", flush=True)
            epochs = trainer.epoch
            results[encoding] = {k: sum(e[k] for e in history[encoding][-4:]) / len(history[encoding][-4:])
                                 for k in last if k.startswith("pck@") or k == "coco_ap"}
            print(f"RESULT {encoding}: {pcks(before)} (random init) -> {pcks(last)} after {trainer.epoch} epochs, "
                  f"{(time.perf_counter() - train_start) / 60:.1f} min on this CPU (seed {args.seed}); mean of the "
                  f"last four epochs: {pcks(results[encoding])}", flush=True)
            if args.save and len(results) == 1:
                shutil.copyfile(trainer.out_dir / "best.pth", args.save)
                print(f"saved {args.save}")
        first = next(iter(results))
        for encoding, last in list(results.items())[1:]:
            gains = ", ".join(f"PCK@{t} {last[f'pck@{t}'] - results[first][f'pck@{t}']:+.1f}" for t in (0.05, 0.1, 0.2))
            print(f"RESULT {encoding} against {first}, same labels, seed and epochs (mean of the last four): {gains} "
                  f"points")


def pcks(metrics: dict) -> str:
    return ", ".join(f"PCK@{t} {metrics[f'pck@{t}']:.1f}" for t in (0.05, 0.1, 0.2)) + \
        f", AP {metrics['coco_ap']:.3f}"

if __name__ == "__main__":
    main()
