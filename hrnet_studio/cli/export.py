"""``hrnet-studio export``: the keypoints of every frame of one video, or of many (folders, patterns, list files)
with one set of outputs per video, a manifest that makes the batch resumable, and several worker processes."""
from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from ..batch.options import BatchOptions
from ..errors import EXIT_INTERRUPTED, EXIT_PARTIAL, StudioError
from ..export.options import FILTERS, FilterOptions, OverlayOptions
from .common import (
    add_pipeline_arguments,
    open_pipeline,
    probability,
    say,
)


def add_export_parser(sub) -> None:
    ex = sub.add_parser(
        "export", help="export the keypoints of every frame of videos to CSV (and JSON / overlay mp4)",
        description="Detect every person in every frame, estimate their keypoints with HRNet and write one CSV row "
                    "per person per frame. Give one video, or many: files, folders, glob patterns ('clips/*.mp4') "
                    "and list files (@list.txt); then -o names a folder that gets one set of outputs per video "
                    "and a manifest.jsonl, and running the same command again skips what is done.")
    ex.add_argument("inputs", nargs="+", metavar="VIDEO", help="video files, folders, glob patterns or @list files")
    ex.add_argument("-o", "--output", type=Path, help="one video: the CSV file (default: <video name>.poses.csv "
                    "here); several: the output folder")
    ex.add_argument("--json", nargs="?", const=True, type=Path, metavar="FILE",
                    help="also write COCO-results JSON (one video: to FILE or beside the CSV; several: one each)")
    ex.add_argument("--video", dest="overlay", nargs="?", const=True, type=Path, metavar="FILE",
                    help="also write an H.264 mp4 with the skeletons drawn (as --json)")
    ex.add_argument("--review", type=Path, metavar="FILE",
                    help="corrections made in the app's review (default: <video>.review.json beside the video, when "
                         "there is one): corrected frames replace the predictions; the CSV gets a 'corrected' column")
    ex.add_argument("--no-review", action="store_true", help="ignore the video's review file: raw predictions only")
    analysis = ex.add_argument_group("for analysis", "made from the keypoints once the video is done")
    filters = FilterOptions()
    analysis.add_argument("--filter", default=filters.filter, choices=FILTERS,
                          help="smooth each person's keypoints over time with no lag: a Butterworth low-pass run "
                               f"forwards and backwards, or Savitzky-Golay (default {filters.filter}; the CSV gets "
                               "the result)")
    analysis.add_argument("--cutoff", type=float, default=filters.cutoff_hz, metavar="HZ",
                          help=f"Butterworth cut-off (default {filters.cutoff_hz:g} Hz)")
    analysis.add_argument("--filter-order", type=int, default=filters.order,
                          help=f"Butterworth order (default {filters.order})")
    analysis.add_argument("--window", type=float, default=filters.window_s, metavar="SECONDS",
                          help=f"Savitzky-Golay window (default {filters.window_s:g} s)")
    analysis.add_argument("--polyorder", type=int, default=filters.polyorder,
                          help=f"Savitzky-Golay polynomial order (default {filters.polyorder})")
    analysis.add_argument("--fill-gaps", type=float, default=filters.max_gap_s, metavar="SECONDS",
                          help="interpolate a joint missing (or under --kpt-thr) for up to this long; the CSV's "
                               f"'filled' column names the joints filled (default {filters.max_gap_s:g}: none)")
    analysis.add_argument("--keep-raw", action="store_true",
                          help="with --filter or --fill-gaps, also keep the unprocessed CSV (NAME.raw.csv)")
    analysis.add_argument("--angles", nargs="?", const=True, type=Path, metavar="FILE",
                          help="joint angles and angular velocities per person and frame (one video: FILE or "
                               "NAME.angles.csv beside the CSV; several: one each)")
    analysis.add_argument("--trc", nargs="?", const=True, type=Path, metavar="BASE",
                          help="OpenSim TRC marker files, one per person: BASE.person<ID>.trc (default NAME)")
    analysis.add_argument("--mot", nargs="?", const=True, type=Path, metavar="BASE",
                          help="OpenSim MOT (storage) files of the joint angles, one per person: BASE.person<ID>.mot "
                               "(default NAME)")
    analysis.add_argument("--c3d", nargs="?", const=True, type=Path, metavar="BASE",
                          help="C3D files of the markers (as the TRC's), one per person: BASE.person<ID>.c3d (default "
                               "NAME; needs the c3d extra: pip install 'hrnet-studio[c3d]')")
    analysis.add_argument("--gait", nargs="?", const=True, type=Path, metavar="FILE",
                          help="gait events (heel strike, toe off per foot) and a summary per person (cadence, step "
                               "and stride time): FILE or NAME.gait.csv, events in NAME.gait_events.csv; needs a "
                               "model with feet (a whole-body model) and a side view")
    analysis.add_argument("--fix-swaps", action=argparse.BooleanOptionalAction, default=None,
                          help="repair left/right swaps (a limb labelled the other side for a few frames) before "
                               "anything is written; the CSV's fixed column names the joints (default: on with "
                               "--angles, --trc, --mot or --c3d, else off; swaps are reported either way)")
    batch = ex.add_argument_group("many videos")
    batch.add_argument("--recursive", action="store_true", help="include the videos in subfolders of folders")
    runs = BatchOptions()
    batch.add_argument("--workers", type=int, default=runs.workers, metavar="N",
                       help="export N videos at once in worker processes sharing this machine's cores (default "
                            f"{runs.workers})")
    batch.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                       help="run each video as a task on a Ray cluster (ADDRESS such as head-node:6379; without it, "
                            "RAY_ADDRESS or the cluster started here with `ray start`, else a local one); the output "
                            "and model folders must be on storage every node sees. Needs hrnet-studio[cluster]")
    batch.add_argument("--cpus-per-task", type=float, default=runs.cpus_per_task, metavar="N",
                       help=f"CPUs each Ray task declares and uses (default {runs.cpus_per_task:g})")
    batch.add_argument("--gpus-per-task", type=float, default=runs.gpus_per_task, metavar="N",
                       help=f"GPUs each Ray task declares (default {runs.gpus_per_task:g}; 1 to run each video on "
                            "a GPU)")
    batch.add_argument("--redo", action="store_true", help="export every video again, even those the manifest "
                       "says are done")
    run, whole = add_pipeline_arguments(ex)
    overlay = OverlayOptions()
    run.add_argument("--kpt-thr", type=probability, default=overlay.threshold,
                     help=f"keypoint score below which the overlay hides a joint (default {overlay.threshold})")
    run.add_argument("--max-frames", type=int, help="stop after this many frames (of each video)")
    whole.add_argument("--part-thr", type=probability, default=overlay.part_threshold,
                       help="landmark score below which the overlay hides a face or hand point (default "
                            f"{overlay.part_threshold})")
    ex.set_defaults(func=cmd_export)


def is_batch(args: argparse.Namespace) -> bool:
    """Several videos (or a folder, a pattern, a list, an output folder, workers): one set of outputs each."""
    first = str(args.inputs[0])
    return (len(args.inputs) > 1 or first.startswith("@") or Path(first).is_dir() or glob.has_magic(first)
            or (args.output is not None and args.output.is_dir()) or args.workers > 1 or args.ray is not None)


def cmd_export(args: argparse.Namespace) -> int:
    from ..inference.detect.detector import check_detector_size
    from ..inference.detect.schedule import check_det_every

    if args.batch < 1:
        raise StudioError("--batch must be at least 1")
    if args.max_frames is not None and args.max_frames < 1:
        raise StudioError("--max-frames must be at least 1")
    if args.workers < 1:
        raise StudioError("--workers must be at least 1")
    check_det_every(args.det_every)
    check_detector_size(args.det_size)
    if args.c3d:
        from ..export.analysis.outputs import check_c3d

        check_c3d()  # before the video is read, not after
    if args.review is not None and is_batch(args):
        raise StudioError("--review names one video's corrections: export that video on its own")
    return export_many(args) if is_batch(args) else export_one(args)


def export_one(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..export.analysis.gait import check_gait
    from ..export.job import export_video
    from ..export.options import OverlayOptions
    from ..inference.swaps import summary as swap_summary
    from ..sources.video_file import VideoFileSource

    video = Path(args.inputs[0])
    VideoFileSource(video).close()  # fail on a bad video before loading any model
    output = args.output or Path(f"{video.stem}.poses.csv")
    json_path = output.with_suffix(".json") if args.json is True else args.json
    overlay = output.with_name(output.stem.removesuffix(".poses") + ".overlay.mp4") if args.overlay is True \
        else args.overlay
    analysis = analysis_request(args, output)
    _, _, pipeline, _ = open_pipeline(args)
    if args.gait:
        check_gait(pipeline.keypoints)  # before the video is read
    review = None
    if not args.no_review:
        from ..review.review_file import Review

        if args.review is not None and not args.review.is_file():
            raise StudioError(f"review file not found: {args.review}")
        review = Review.find(video, pipeline.keypoints) if args.review is None else \
            Review.open(video, pipeline.keypoints, path=args.review)
        if review is not None:
            say(f"using the corrections in {review.path.name}: {len(review.frames)} corrected frame(s), "
                f"{len(review.fixes)} identity fix(es)")
    with tqdm(total=None, unit="frame", desc=video.name, file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total or None
            bar.update(done - bar.n)

        overlay_options = OverlayOptions(threshold=args.kpt_thr, part_threshold=args.part_thr)
        report = export_video(video, pipeline, output, json_path, overlay, args.max_frames, overlay_options, progress,
                              analysis, review, args.fix_swaps)
    names = ", ".join(str(p) for p in report.outputs)
    say(f"wrote {names}: {report.frames} frames, {report.persons} person detections")
    for line in swap_summary(report.swaps):
        say(line)
    for note in report.notes + ([report.timing_note] if report.timing_note else []):
        say(f"note: {note}")
    if report.truncated:
        say(f"error: {video.name} stopped decoding after frame {report.frames - 1} of {report.expected_frames} "
            f"(truncated or damaged file); the frames before it were exported")
        return EXIT_PARTIAL
    return 0


def export_many(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..batch.export import plan, run_batch
    from ..batch.inputs import collect_videos, output_names
    from ..batch.manifest import Manifest, fresh
    from ..batch.ray_runner import RayRunner, import_ray
    from ..batch.settings import export_settings
    from ..batch.task import VideoTask
    from ..batch.worker_pool import local_runner
    from ..export.options import OverlayOptions

    if args.output is None:
        raise StudioError("several videos need an output folder: -o FOLDER (each video gets its own outputs there)")
    if args.output.exists() and not args.output.is_dir():
        raise StudioError(f"{args.output} is a file: with several videos, -o names a folder")
    for flag, value in (("--json", args.json), ("--video", args.overlay), ("--angles", args.angles),
                        ("--trc", args.trc), ("--mot", args.mot), ("--c3d", args.c3d), ("--gait", args.gait)):
        if value not in (None, True):
            raise StudioError(f"with several videos, {flag} takes no file name: each video gets its own in "
                              f"{args.output}")
    if args.ray is not None:
        import_ray()  # without Ray installed, say so before anything loads
        if args.workers > 1:
            raise StudioError("--workers is for this machine; on a Ray cluster each task takes --cpus-per-task CPUs")
    videos = collect_videos(args.inputs, args.recursive)
    names = output_names(videos)
    out = args.output.resolve()  # workers, on other nodes too, write where this process means
    filters = filter_options(args)
    tasks = [VideoTask(v, names[v], out, json=bool(args.json), overlay=bool(args.overlay),
                       max_frames=args.max_frames,
                       overlay_options=OverlayOptions(threshold=args.kpt_thr, part_threshold=args.part_thr),
                       filters=filters, angles=bool(args.angles), trc=bool(args.trc), mot=bool(args.mot),
                       c3d=bool(args.c3d), gait=bool(args.gait),
                       keep_raw=args.keep_raw,
                       use_review=not args.no_review, fix_swaps=args.fix_swaps)
             for v in videos]
    choice, options, pipeline, loaded = open_pipeline(args)
    if args.gait:
        from ..export.analysis.gait import check_gait

        check_gait(pipeline.keypoints)
    settings = export_settings(tasks[0], choice, options, loaded)
    if args.redo:
        fresh(Manifest(args.output).path)
    if args.ray is not None:
        from ..models.registry import ModelRegistry

        runner = RayRunner(args.ray, choice, options, ModelRegistry().folder, args.cpus_per_task, args.gpus_per_task)
        where = f" on the Ray cluster {args.ray or '(default address)'}"
    else:
        runner = local_runner(pipeline, choice, options, args.workers)
        where = f" with {args.workers} workers" if args.workers > 1 else ""
    say(f"{len(videos)} videos → {args.output}{where}")
    running: dict[str, str] = {}
    with tqdm(total=len(videos), unit="video", desc="videos", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(name: str, done: int, total: int) -> None:
            running[name] = f"{name} {100 * done // total}%" if total else f"{name} {done}"
            bar.set_postfix_str(", ".join(running.values())[-80:], refresh=False)
            bar.refresh()

        def finished(record) -> None:
            running.pop(record.name, None)
            bar.update(1)
            if record.status != "done":
                tqdm.write(f"{record.status}: {record.name}: {record.error}", file=sys.stderr)

        bar.update(len(plan(tasks, settings, Manifest(out))[1]))  # the videos done before count as done
        summary = run_batch(tasks, settings, args.output, runner, progress, finished)
    for line in summary.lines(len(tasks)):
        say(line)
    say(f"manifest: {Manifest(args.output).path}")
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return 0 if summary.ok else EXIT_PARTIAL


def filter_options(args: argparse.Namespace):
    from ..export.options import FilterOptions

    options = FilterOptions(args.filter, args.cutoff, args.filter_order, args.window, args.polyorder, args.fill_gaps,
                            args.kpt_thr)
    options.check()
    return options


def analysis_request(args: argparse.Namespace, csv_path: Path):
    """The analysis outputs of one video whose CSV goes to ``csv_path`` (flags without a file name: beside it)."""
    from ..export.analysis.outputs import AnalysisRequest

    stem = csv_path.name.removesuffix(".csv").removesuffix(".poses")
    beside = csv_path.with_name
    return AnalysisRequest(
        filter_options(args),
        raw_csv=beside(f"{stem}.raw.csv") if args.keep_raw else None,
        angles=beside(f"{stem}.angles.csv") if args.angles is True else args.angles,
        trc=beside(f"{stem}.trc") if args.trc is True else args.trc,
        mot=beside(f"{stem}.mot") if args.mot is True else args.mot,
        c3d=beside(f"{stem}.c3d") if args.c3d is True else args.c3d,
        gait=beside(f"{stem}.gait.csv") if args.gait is True else args.gait)
