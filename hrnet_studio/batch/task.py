"""One video of a batch, as any worker runs it (this process, a worker process, a Ray task): export it with a
pipeline and describe the outcome as a manifest record. Failures of the video become a ``failed`` record with
the one-line reason; only an interruption (Ctrl-C) passes through."""
from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StudioError, user_message
from ..export.analysis.outputs import AnalysisRequest
from ..export.options import FilterOptions, OverlayOptions
from ..inference.pipeline import PosePipeline
from .manifest import VideoRecord, video_stamp

RETRIES = 2  # a video whose worker died (a process, a Ray task) runs again this many times before it is failed


@dataclass(frozen=True)
class VideoTask:
    """A video and what to write for it: ``OUT/NAME.csv`` always, ``NAME.json`` and ``NAME.overlay.mp4`` on
    request (the overlay never takes the name of a source video)."""

    video: Path
    name: str
    out_dir: Path
    json: bool = False
    overlay: bool = False
    max_frames: int | None = None
    overlay_options: OverlayOptions = field(default_factory=OverlayOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    angles: bool = False
    trc: bool = False
    mot: bool = False
    c3d: bool = False
    gait: bool = False
    keep_raw: bool = False
    use_review: bool = True  # a video's review file (corrections made in the app), when it has one
    fix_swaps: bool | None = None  # left/right swaps repaired; None: when angles or marker files are made

    def outputs(self) -> dict[str, Path | None]:
        base = self.out_dir / self.name
        return {"csv": base.with_name(base.name + ".csv"),
                "json": base.with_name(base.name + ".json") if self.json else None,
                "overlay": base.with_name(base.name + ".overlay.mp4") if self.overlay else None}

    def analysis(self) -> AnalysisRequest:
        base = self.out_dir / self.name
        return AnalysisRequest(self.filters, raw_csv=base.with_name(base.name + ".raw.csv") if self.keep_raw else None,
                               angles=base.with_name(base.name + ".angles.csv") if self.angles else None,
                               trc=base.with_name(base.name + ".trc") if self.trc else None,
                               mot=base.with_name(base.name + ".mot") if self.mot else None,
                               c3d=base.with_name(base.name + ".c3d") if self.c3d else None,
                               gait=base.with_name(base.name + ".gait.csv") if self.gait else None)


    def leftovers(self) -> list[Path]:
        """The hidden part files an export of this video left behind when its process was killed mid-way."""
        from ..atomic_writer import part_path
        from ..export.analysis.outputs import gait_events_path
        from ..export.job import wholebody_csv_path

        request = self.analysis()
        named = [p for p in (*self.outputs().values(), request.raw_csv, request.angles, request.gait,
                             request.gait and gait_events_path(request.gait)) if p]
        named.append(wholebody_csv_path(self.outputs()["csv"]))
        parts = [part_path(p) for p in named] + [part_path(p, keep_suffix=True) for p in named]
        base = self.out_dir / self.name
        parts += base.parent.glob(f".{base.name}.person*.trc.part")
        parts += base.parent.glob(f".{base.name}.person*.mot.part")
        parts += base.parent.glob(f".{base.name}.person*.c3d.part")
        return [p for p in parts if p.exists()]


def run_task(task: VideoTask, pipeline: PosePipeline, settings: dict,
             progress: Callable[[int, int], bool | None] | None = None, worker: str = "") -> VideoRecord:
    """Export ``task``'s video with ``pipeline``; the record to append to the manifest."""
    from ..atomic_writer import make_folder
    from ..export.job import export_video
    from ..inference.swaps import summary as swap_summary

    started = time.perf_counter()
    record = VideoRecord(str(task.video), task.name, "failed", settings, worker=worker or socket.gethostname())
    try:
        record.stamp = video_stamp(task.video)
        out = task.outputs()
        make_folder(out["csv"].parent)
        review = None
        if task.use_review:
            from ..review.review_file import Review

            review = Review.find(task.video, pipeline.keypoints)
        report = export_video(task.video, pipeline, out["csv"], out["json"], out["overlay"], task.max_frames,
                              task.overlay_options, progress, task.analysis(), review, task.fix_swaps)
    except StudioError as exc:
        record.error = str(exc)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # a bug or a library failure on this video must not end the batch
        record.error = user_message(exc, f"exporting {task.video.name}")
    else:
        if report.cancelled:
            raise KeyboardInterrupt
        record.status = "partial" if report.truncated else "done"
        record.frames, record.persons = report.frames, report.persons
        record.outputs = [str(Path(p).resolve()) for p in report.outputs]
        record.notes = report.notes + ([report.timing_note] if report.timing_note else []) + \
            ([f"corrections from {review.path.name} used"] if review is not None else []) + \
            swap_summary(report.swaps)[:1]
        if report.truncated:
            record.error = (f"stopped decoding after frame {report.frames - 1} of {report.expected_frames} "
                            f"(truncated or damaged file); the frames before it were exported")
    record.seconds = round(time.perf_counter() - started, 3)
    return record
