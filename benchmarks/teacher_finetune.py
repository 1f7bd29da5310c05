"""Does training learn on these machines? Label the shared videos with a teacher, train a small HRNet on the
CPU for a bounded time, and measure PCK@0.2 against the teacher on held-out frames, before and after.

    python benchmarks/teacher_finetune.py [--minutes 10] [--arch hrnet_w16] [--input-size 96x128] [--every 3]
                                          [--save MODEL.pth]

Held-out frames are the last 20% of each video (a temporal split, so neighbouring frames do not leak
between train and validation). No pretrained HRNet exists here, so the network starts from random weights:
the figure shows the training loop learning, not a finished model. ``--save`` keeps the best epoch's model
(a checkpoint with metadata, usable by every command): the other benchmarks use it where keypoints must
mean something (following boxes between detections, the INT8 accuracy guard).
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
    parser.add_argument("--save", type=Path, help="copy the best epoch's model here")
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

        recipe = load_recipe(None, [
            f"data.train_annotations={train_json}", f"data.train_images={tmp / 'data' / 'images'}",
            f"data.val_annotations={val_json}", f"data.val_images={tmp / 'data' / 'images'}",
            f"model.arch={args.arch}", f"model.input_size=[{w}, {h}]", "epochs=1000", f"batch_size={args.batch}",
            "workers=0", "device=cpu", f"output={tmp / 'runs'}", "name=teacher", "flip_test=false",
            f"optim.lr={args.lr}", "optim.schedule=step", "optim.milestones=[1000]", "augment.rotation_factor=30",
        ])
        trainer = Trainer(recipe, say=lambda _: None, show_progress=False)
        before = trainer.validate()
        print(f"{args.arch} {w}x{h}, random init: PCK@0.2 {before['pck@0.2']:.1f}, AP {before['coco_ap']:.3f}")
        budget_end = time.perf_counter() + args.minutes * 60
        train_start = time.perf_counter()
        while time.perf_counter() < budget_end:
            trainer.run(stop_after=1)
            last = json.loads((trainer.log.path).read_text().splitlines()[-2])  # the epoch line before "stopped"
            print(f"epoch {trainer.epoch}: loss {last['train_loss']:.6f}, PCK@0.2 {last['pck@0.2']:.1f}, "
                  f"AP {last['coco_ap']:.3f} ({time.perf_counter() - train_start:.0f} s)", flush=True)
        print(f"RESULT PCK@0.2 against the teacher on held-out frames: {before['pck@0.2']:.1f} (random init) -> "
              f"{last['pck@0.2']:.1f} after {trainer.epoch} epochs, {(time.perf_counter() - train_start) / 60:.1f} "
              f"min on this CPU")
        if args.save:
            shutil.copyfile(trainer.out_dir / "best.pth", args.save)
            print(f"saved {args.save}")


if __name__ == "__main__":
    main()
