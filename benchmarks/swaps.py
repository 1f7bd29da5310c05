"""How well are left/right swaps found and repaired? Swaps injected at known frames into real tracks, then found.

    python benchmarks/swaps.py [--model MODEL.pth] [--frames 300] [--rate 0.03] [--seeds 3] [--settings 0.02:30 ...]

Real tracks: yolo11n-pose's keypoints on the shared clips (its detector on every frame, ``PoseTracker`` for the IDs),
the motion as a good pose model sees it; with ``--model`` (e.g. ``benchmarks/teacher_finetune.py --save``) also
that HRNet's tracks through the export pipeline (yolo11n-pose's boxes), whose own swaps are the "clean" column. Swaps are injected per track: a segment of 1-6 frames starts at a frame with
probability ``--rate`` (per limb), the legs' (knees, ankles) or the arms' (elbows, wrists) left and right joints
exchanged; only a swap that moves the limb's joints by at least 5% of the box diagonal counts (a swap of two joints
at the same place changes nothing). Then ``inference/swaps.SwapRepair`` runs over the tracks as an export runs it, with
repair on.

Printed per clip and over all, for each setting (``PRIOR:LAG``): the swaps found in the clean tracks (before any
injection: the data's own swaps, or false alarms), precision and recall of the found (frame, track, limb) against
the injected ones (a frame the clean run also flags is left out of both), and the knee and elbow angle error (degrees,
mean over injected frames) against the clean tracks, before and after repair.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hrnet_studio.inference.swaps as swaps  # noqa: E402
from hrnet_studio.inference.detect.detector import make_detector  # noqa: E402
from hrnet_studio.inference.results import FrameResult, PersonPose  # noqa: E402
from hrnet_studio.inference.tracking import PoseTracker  # noqa: E402
from hrnet_studio.kinematics import ANGLES, angle_deg  # noqa: E402
from hrnet_studio.skeletons import COCO_17  # noqa: E402
from hrnet_studio.sources.video_file import VideoFileSource  # noqa: E402

CLIPS = ("single_person_taichi_340x256.mp4", "single_person_weightlifting_340x256.mp4",
         "two_people_basketball_gym_426x240.mp4", "single_person_basketball_portrait_1080x1920.mp4",
         "two_people_portrait_1080x1920.mp4")
INDEX = {name: i for i, name in enumerate(COCO_17.names)}
LIMB_PAIRS = {limb: np.array([(INDEX[f"left_{j}"], INDEX[f"right_{j}"]) for j in joints if f"left_{j}" in INDEX])
              for limb, joints in swaps.LIMBS.items()}
ANGLE_JOINTS = [tuple(INDEX[n] for n in angle[1:]) for angle in ANGLES if "knee" in angle[0] or "elbow" in angle[0]]


def shared_dir() -> Path:
    return Path(os.environ.get("HRNET_STUDIO_ASSETS", Path(__file__).resolve().parents[2] / "shared"))


def tracks_of(video: Path, detector, frames: int) -> list[dict]:
    """Per frame: {track id: (keypoints [17, 2], scores [17], box [4])} of yolo11n-pose, tracked."""
    tracker = PoseTracker(COCO_17.oks_sigmas())
    out = []
    with VideoFileSource(video) as reader:
        for frame, _ in zip(reader, range(frames)):
            found = detector.detect(frame.image)
            if found.keypoints is None or not len(found.boxes):
                out.append({})
                continue
            ids = tracker.update(found.boxes, found.keypoints[..., :2], found.keypoints[..., 2])
            out.append({int(t): (kp[:, :2].astype(np.float64), kp[:, 2].astype(np.float64), box)
                        for t, kp, box in zip(ids, found.keypoints, found.boxes)})
    return out


def model_tracks(video: Path, model: Path, detector: str, frames: int) -> list[dict]:
    """Per frame: {track id: (keypoints, scores, box)} of an HRNet through the export pipeline."""
    import tempfile

    from hrnet_studio.inference.engine import PoseEngine
    from hrnet_studio.inference.factory import build_pipeline
    from hrnet_studio.inference.options import PipelineChoice, PipelineOptions
    from hrnet_studio.models.registry import ModelRegistry

    os.environ.setdefault("HRNET_STUDIO_MODELS", tempfile.mkdtemp())
    registry = ModelRegistry()
    if registry.find("swaps-model") is None:
        registry.import_file(model, name="swaps-model")
    pipeline, _ = build_pipeline(PipelineChoice("swaps-model", detector, "cpu", "onnx"), PipelineOptions())
    out = []
    with VideoFileSource(video) as reader:
        for _, result in PoseEngine(pipeline).run(f for f, _ in zip(reader, range(frames))):
            out.append({p.track_id: (p.keypoints.astype(np.float64), p.scores.astype(np.float64), p.bbox)
                        for p in result.persons})
    return out


def inject(frames: list[dict], rate: float, rng: np.random.Generator) -> tuple[list[dict], set]:
    """The tracks with swapped segments, and the injected (frame, track, limb) whose swap moves something."""
    out = [{t: (kp.copy(), sc.copy(), box) for t, (kp, sc, box) in persons.items()} for persons in frames]
    truth = set()
    tracks = sorted({t for persons in frames for t in persons})
    for track in tracks:
        for limb, pairs in LIMB_PAIRS.items():
            i = 0
            while i < len(out):
                if track in out[i] and rng.random() < rate:
                    length = int(rng.integers(1, 7))
                    for k in range(i, min(i + length, len(out))):
                        if track not in out[k]:
                            break
                        kp, sc, box = out[k][track]
                        left, right = pairs[:, 0], pairs[:, 1]
                        moved = np.linalg.norm(kp[left] - kp[right], axis=1).sum()
                        kp[left], kp[right] = kp[right].copy(), kp[left].copy()
                        sc[left], sc[right] = sc[right].copy(), sc[left].copy()
                        if moved >= 0.05 * np.hypot(*(box[2:] - box[:2])) and (sc[pairs.reshape(-1)] >= 0.2).all():
                            truth.add((k, track, limb))
                    i += length + 1
                else:
                    i += 1
    return out, truth


def run(frames: list[dict], repair: bool = True) -> tuple[set, list[dict]]:
    """``SwapRepair`` over the tracks, as an export runs it: the found (frame, track, limb) and the tracks as
    repaired."""
    repairer = swaps.SwapRepair(COCO_17, repair=repair)
    results = [FrameResult(i, i / 30, [PersonPose(np.asarray(box, np.float32), 1.0, kp.copy(), sc.copy(), track_id=t)
                                       for t, (kp, sc, box) in persons.items()]) for i, persons in enumerate(frames)]
    repaired = [{p.track_id: (p.keypoints, p.scores, p.bbox) for p in result.persons}
                for _, result in repairer.run((None, r) for r in results)]
    return {(s.frame, s.person, s.limb) for s in repairer.found}, repaired


def angle_error(frames: list[dict], clean: list[dict], where: set) -> float:
    errors = []
    for frame, track, _ in sorted(where):
        a, b = frames[frame][track][0], clean[frame][track][0]
        errors += [abs(angle_deg(a[i], a[j], a[k]) - angle_deg(b[i], b[j], b[k])) for i, j, k in ANGLE_JOINTS]
    errors = [e for e in errors if np.isfinite(e)]
    return float(np.mean(errors)) if errors else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", default=str(shared_dir() / "models/yolo11n-pose.pt"))
    parser.add_argument("--model", type=Path, help="also an HRNet's tracks (a model whose keypoints mean something)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0.03)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--settings", nargs="+", default=[f"{swaps.PRIOR:g}:{swaps.LAG}", "0.02:15", "0.1:15",
                                                          "0.05:5", "0.05:30"], help="PRIOR:LAG pairs")
    args = parser.parse_args()
    detector = make_detector(args.detector, runtime="onnx")
    sources = {"yolo11n-pose": {clip: tracks_of(shared_dir() / "data/videos" / clip, detector, args.frames)
                                for clip in CLIPS}}
    if args.model:
        sources[args.model.name] = {clip: model_tracks(shared_dir() / "data/videos" / clip, args.model, args.detector,
                                                       args.frames) for clip in CLIPS}
    for name, clips in sources.items():
        report(name, clips, args)


def report(name: str, clips: dict, args) -> None:
    print(f"\n{name} tracks, {args.frames} frames a clip, swaps injected at rate {args.rate} per limb and frame, "
          f"{args.seeds} seeds; angle error: knees and elbows, degrees, on injected frames")
    print(f"{'setting':<10}{'clip':<48}{'clean':>6}{'injected':>9}{'found':>7}{'precision':>10}{'recall':>8}"
          f"{'angle before':>14}{'after':>8}")
    for setting in args.settings:
        prior, lag = setting.split(":")
        swaps.PRIOR, swaps.LAG = float(prior), int(lag)
        totals = np.zeros(5)
        for clip, clean in clips.items():
            flagged, _ = run(clean, repair=False)
            counts = np.zeros(5)
            before, after = [], []
            for seed in range(args.seeds):
                tracks, truth = inject(clean, args.rate, np.random.default_rng(seed))
                found, repaired = run(tracks)
                own = {(f, t) for f, t, _ in flagged}
                truth = {x for x in truth if x[:2] not in own}
                found = {x for x in found if x[:2] not in own}
                counts += [len(flagged) / args.seeds, len(truth), len(found), len(found & truth), 0]
                before.append(angle_error(tracks, clean, truth))
                after.append(angle_error(repaired, clean, truth))
            totals += counts
            print(f"{setting:<10}{clip:<48}{len(flagged):>6}{int(counts[1]):>9}{int(counts[2]):>7}"
                  f"{counts[3] / max(counts[2], 1):>10.3f}{counts[3] / max(counts[1], 1):>8.3f}"
                  f"{np.nanmean(before):>14.1f}{np.nanmean(after):>8.1f}", flush=True)
        print(f"{setting:<10}{'all clips':<48}{int(totals[0]):>6}{int(totals[1]):>9}{int(totals[2]):>7}"
              f"{totals[3] / max(totals[2], 1):>10.3f}{totals[3] / max(totals[1], 1):>8.3f}", flush=True)


if __name__ == "__main__":
    main()
