"""The baseline as its users run it: an official-style loop, one person at a time, in its own process.

    python benchmarks/official_loop.py FRAMES_AND_BOXES.npz [--model MODEL.pth]

For each person box: centre/scale, warpAffine, a forward at batch 1, the official decoding — the loop of
the official HRNet demo. It runs with PyTorch's default threads and imports nothing of Ultralytics, so
nothing of HRNet Studio (its detector, its thread budget) helps or hinders it. ``pipeline.py`` starts it
and compares. Prints one JSON line: persons, seconds, persons/s and the CPU use (percent of one core).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frames", type=Path, help="npz with images (object array) and boxes (object array)")
    parser.add_argument("--model", type=Path, help="a checkpoint; default: a seeded random HRNet-W32")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import numpy as np
    import torch

    from hrnet_studio.inference.codec.decode import decode
    from hrnet_studio.inference.codec.transforms import (
        box_to_center_scale,
        normalize_crops,
        warp_crops,
        xyxy_to_xywh,
    )
    from hrnet_studio.models.checkpoints import load_pose_model
    from hrnet_studio.models.hrnet import build_hrnet

    data = np.load(args.frames, allow_pickle=True)
    images, boxes = list(data["images"]), list(data["boxes"])
    if args.model:
        model, spec = load_pose_model(args.model)
        w, h = spec.input_size
    else:
        torch.manual_seed(0)
        model, (w, h) = build_hrnet("hrnet_w32", 17).eval(), (192, 256)

    def loop() -> int:
        persons = 0
        with torch.inference_mode():
            for image, frame_boxes in zip(images, boxes):
                for box in frame_boxes:
                    c, s = box_to_center_scale(xyxy_to_xywh(np.asarray(box)[None]), w / h)
                    crop = normalize_crops(warp_crops(image, c, s, (w, h)))
                    heatmaps = model(torch.from_numpy(crop)).numpy()
                    decode(heatmaps, c, s, "official")
                    persons += 1
        return persons

    loop()  # warm-up
    cpu0, t0 = os.times(), time.perf_counter()
    persons = sum(loop() for _ in range(args.repeat))
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    print(json.dumps({"persons": persons, "seconds": wall, "persons_per_s": persons / wall,
                      "cpu_percent": 100 * cpu / wall, "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
