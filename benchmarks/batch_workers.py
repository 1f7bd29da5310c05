"""Batch export with 1, 2, … worker processes, side by side: videos per second and CPU use, as a user runs it
(the ``hrnet-studio export`` command in a process of its own, each run into a fresh output folder).

    python benchmarks/batch_workers.py [--workers 1 2] [--copies 4] [--max-frames 60] [--model NAME] \
        [--detector NAME|none] [--backend onnx] [--precision int8]

``--copies`` copies of each shared clip named in ``--clips`` make the batch (copies, so that every video is
really exported; the manifest would skip a repeated one). CPU use is the children's user+system CPU time over
the wall time and the cores: 100% means every core busy for the whole run.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIPS = ("two_people_basketball_gym_426x240.mp4", "single_person_taichi_340x256.mp4")


def shared_dir() -> Path:
    return Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))


def run(workers: int, footage: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hrnet_studio", "export", str(footage), "-o", str(out), "--workers",
                    str(workers), *extra], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu / wall / (os.cpu_count() or 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    parser.add_argument("--max-frames", type=int, default=60)
    parser.add_argument("--model")
    parser.add_argument("--detector", default="none")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()
    extra = ["--detector", args.detector, "--backend", args.backend, "--precision", args.precision, "--max-frames",
             str(args.max_frames), "--device", "cpu"] + (["--model", args.model] if args.model else [])
    with tempfile.TemporaryDirectory() as tmp:
        footage = Path(tmp) / "footage"
        footage.mkdir()
        for clip in args.clips:
            for i in range(args.copies):
                shutil.copy(shared_dir() / "data" / "videos" / clip, footage / f"{Path(clip).stem}_{i}.mp4")
        videos = len(args.clips) * args.copies
        print(f"{videos} videos × {args.max_frames} frames; model {args.model or 'default'} ({args.backend}, "
              f"{args.precision}), detector {args.detector}; {os.cpu_count()} cores")
        print(f"{'workers':>7} {'wall s':>8} {'videos/s':>9} {'× 1 worker':>11} {'CPU use':>8}")
        base = None
        for workers in args.workers:
            wall, use = run(workers, footage, Path(tmp) / f"out{workers}", extra)
            base = base or wall
            print(f"{workers:>7} {wall:>8.1f} {videos / wall:>9.3f} {base / wall:>10.2f}× {use:>7.0%}")


if __name__ == "__main__":
    main()
