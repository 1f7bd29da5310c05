"""Video → keypoint files: the pose engine runs every frame in order and this feeds the writers."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Protocol

from ..errors import StudioError
from ..inference.engine import PoseEngine
from ..inference.pipeline import STAGES, PosePipeline
from ..inference.results import FrameResult
from ..inference.swaps import Swap, SwapRepair
from ..sources.video_file import TIME_FLAGS, VideoFileSource
from .analysis.gait import check_gait
from .analysis.outputs import AnalysisRequest, make_outputs
from .draw import draw_poses
from .options import OverlayOptions
from .overlay_video import OverlayVideoExporter
from .writers import CocoJsonExporter, CsvExporter, PartsCsvExporter

FRAMES_PER_PASS = 8  # consecutive detected frames whose persons go through the network together (``PoseEngine``)


class Corrections(Protocol):
    """What an export needs of a review (``review.review_file.Review``): a video's corrections applied to a frame.
    The export layer sits below review, so it asks for this and the caller hands the review in."""

    def apply(self, result: FrameResult) -> FrameResult: ...  # corrected joints and identity fixes applied

    def frame(self, index: int) -> object | None: ...  # the reviewed frame ``index``, None when not reviewed

ProgressCallback = Callable[[int, int], bool | None]  # (frames done, frames total) → False to cancel


@dataclass
class ExportReport:
    frames: int = 0
    expected_frames: int = 0
    persons: int = 0
    truncated: bool = False
    cancelled: bool = False
    outputs: list[Path] = field(default_factory=list)
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES + ("write",), 0.0))
    time_flags: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIME_FLAGS, 0))
    notes: list[str] = field(default_factory=list)  # one line each, for the user (e.g. an mp4v fallback)
    swaps: list[Swap] = field(default_factory=list)  # the left/right swaps found (``inference/swaps.py``)

    @property
    def timing_note(self) -> str | None:
        """One line on the frames whose times a recording got wrong, or None when every time was regular."""
        if not any(self.time_flags.values()):
            return None
        return (f"timestamps: {self.time_flags['gap']} gap(s) (dropped frames?) and {self.time_flags['repeat']} "
                f"repeated time(s); marked in the CSV's time_flag column")


def repairs_swaps(analysis: AnalysisRequest | None) -> bool:
    """Whether an export repairs left/right swaps when not told: when it makes angles, marker files or gait events,
    which a swapped limb would spoil."""
    return analysis is not None and any(p is not None for p in (analysis.angles, analysis.trc, analysis.mot,
                                                                  analysis.c3d, analysis.gait))


def wholebody_csv_path(csv_path: str | Path) -> Path:
    """Where the face and hand landmarks go beside a body CSV: ``clip.poses.csv`` → ``clip.wholebody.csv``."""
    path = Path(csv_path)
    return path.with_name(path.name.removesuffix(".csv").removesuffix(".poses") + ".wholebody.csv")


def export_video(
    video: str | Path,
    pipeline: PosePipeline,
    csv_path: str | Path | None = None,
    json_path: str | Path | None = None,
    overlay_path: str | Path | None = None,
    max_frames: int | None = None,
    overlay_options: OverlayOptions | None = None,
    progress: ProgressCallback | None = None,
    analysis: AnalysisRequest | None = None,
    review: Corrections | None = None,
    fix_swaps: bool | None = None,
) -> ExportReport:
    """Export every frame of ``video`` (or the first ``max_frames``): one CSV row per person per frame, COCO results
    JSON, an mp4 with the overlay drawn as ``overlay_options`` say (the app's view draws the same); with the
    pipeline's whole-body stage, the face and hand landmarks in ``wholebody_csv_path(csv_path)`` and the JSON; and what
    ``analysis`` asks for, made from the CSV once the video is done (the CSV itself filled and smoothed, joint
    angles, TRC files). With a ``review`` (``Corrections``: a ``review.review_file.Review``) its corrected frames replace the predictions
    and its identity fixes rename tracks, in every output; the CSV says which joints were corrected by hand.
    Left/right swaps are found in every tracked person (``inference/swaps.py``, ``report.swaps``) and, with
    ``fix_swaps``, repaired before anything is written (the CSV's ``fixed`` column names the joints); None: repaired
    when ``analysis`` asks for angles, TRC, MOT or C3D files (``repairs_swaps``).

    A truncated file is exported up to the last frame that decodes (``report.truncated``).
    On cancel or error the outputs are removed; they appear only when complete.
    """
    analysis = analysis if analysis is not None and analysis.wanted else None
    if analysis is not None and csv_path is None:
        raise StudioError("filtering, angles and TRC files are made from the keypoints CSV: export the CSV too")
    if analysis is not None and analysis.gait is not None:
        check_gait(pipeline.keypoints)
    source = VideoFileSource(video)
    total = source.frame_count if max_frames is None else min(max_frames, source.frame_count or max_frames)
    report = ExportReport(expected_frames=total)
    kps = pipeline.keypoints
    fix_swaps = repairs_swaps(analysis) if fix_swaps is None else fix_swaps
    writers = []
    frames = None
    try:
        raw_csv = None
        if csv_path:
            processed = analysis is not None and analysis.processes_csv
            raw_target = (analysis.raw_csv or Path(csv_path).with_name(Path(csv_path).stem + ".raw.csv")) \
                if processed else csv_path
            raw_csv = CsvExporter(raw_target, kps, corrections=review is not None, fixed=fix_swaps)
            writers.append(raw_csv)
            if pipeline.part_sets:
                writers.append(PartsCsvExporter(wholebody_csv_path(csv_path), pipeline.part_sets))
        if json_path:
            writers.append(CocoJsonExporter(json_path, kps))
        overlay = OverlayVideoExporter(overlay_path, source.fps, (source.width, source.height)) if overlay_path else None
        if overlay:
            writers.append(overlay)
            if overlay.note:
                report.notes.append(overlay.note)
        pipeline.reset()
        swaps = SwapRepair(kps, repair=fix_swaps)
        report.swaps = swaps.found
        frames = swaps.run(PoseEngine(pipeline, frames_per_pass=FRAMES_PER_PASS).run(islice(source, max_frames)))
        for frame, result in frames:
            if review is not None:
                result = review.apply(result)
                if review.frame(result.frame_index) is not None:
                    pipeline.add_parts(frame.image, result.persons)  # faces and hands follow the corrected joints
            for stage, ms in result.timings_ms.items():
                report.stage_ms[stage] = report.stage_ms.get(stage, 0.0) + ms
            t0 = time.perf_counter()
            for w in writers:
                if w is overlay:
                    draw_poses(frame.image, result.persons, kps, overlay_options)
                    overlay.write_frame(frame.image)
                else:
                    w.write(result)
            report.stage_ms["write"] += (time.perf_counter() - t0) * 1000
            report.frames += 1
            report.persons += len(result.persons)
            if frame.time_flag:
                report.time_flags[frame.time_flag] += 1
            if progress and progress(report.frames, total) is False:
                report.cancelled = True
                break
        frames.close()  # stops every stage before the file is judged complete or not
        report.truncated = max_frames is None and source.truncated
        if report.cancelled:
            for w in writers:
                w.abort()
            return report
        for w in writers:  # every file is flushed and checked before any appears
            w.finish()
        if analysis is not None:
            made = make_outputs(raw_csv.part, Path(csv_path), kps, analysis)
            if analysis.processes_csv and analysis.raw_csv is None:
                writers.remove(raw_csv)  # the raw rows were only the input of the processed CSV
                raw_csv.abort()
            writers += made
        for w in writers:
            report.outputs.append(w.publish())
        return report
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        if frames is not None:
            frames.close()
        source.close()
