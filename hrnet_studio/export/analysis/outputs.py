"""The analysis outputs of one export, made from its raw CSV before anything is published: the processed CSV
(filled and smoothed), the joint angles CSV, the gait events and summary, and per person a TRC marker file, a MOT
angles file and a C3D file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...atomic_writer import AtomicFile
from ...kinematics import angle_series
from ...skeletons import KeypointSet
from ..options import FilterOptions
from ..table import number_cell
from .filters import frame_rate, process
from .gait import gait_of, write_gait_events, write_gait_summary
from .tracks import ExportTable, Track, read_export, write_export


@dataclass(frozen=True)
class AnalysisRequest:
    """What to make from the raw keypoints: ``filters`` applied to the CSV itself (the raw one kept as
    ``raw_csv`` when given), ``angles`` CSV, ``trc`` base path (``BASE.person<ID>.trc`` per track), ``mot`` base
    path (``BASE.person<ID>.mot`` per track: OpenSim's storage file of the joint angles), ``c3d`` base path
    (``BASE.person<ID>.c3d``: the TRC's markers as a C3D file, with ezc3d), ``gait`` the gait summary CSV (and
    its events beside it, ``gait_events_path``; models with feet: ``gait.py``)."""

    filters: FilterOptions = FilterOptions()
    raw_csv: Path | None = None
    angles: Path | None = None
    trc: Path | None = None
    mot: Path | None = None
    c3d: Path | None = None
    gait: Path | None = None

    @property
    def processes_csv(self) -> bool:
        return self.filters.filter != "none" or self.filters.max_gap_s > 0

    @property
    def wanted(self) -> bool:
        return self.processes_csv or any(p is not None for p in (self.angles, self.trc, self.mot, self.c3d,
                                                                  self.gait))


def make_outputs(raw_csv: Path, csv_path: Path, keypoints: KeypointSet, request: AnalysisRequest) -> list[AtomicFile]:
    """The analysis outputs as finished part files (not yet published). ``raw_csv`` is the export's CSV as
    written (a part file), ``csv_path`` where the processed CSV goes."""
    table = read_export(raw_csv, keypoints)
    for track in table.tracks.values():
        process(track, request.filters)
    files: list[AtomicFile] = []
    try:
        if request.processes_csv:
            files.append(_written(csv_path, lambda out: write_export(out, table, keypoints)))
        if request.angles is not None:
            files.append(_written(request.angles, lambda out: write_angles(out, table, keypoints)))
        if request.trc is not None:
            for track in table.tracks.values():
                path = request.trc.with_name(f"{request.trc.stem}.person{track.person_id}.trc")
                files.append(_written(path, lambda out, t=track: write_trc(out, t, keypoints, path.name)))
        if request.mot is not None:
            for track in table.tracks.values():
                path = request.mot.with_name(f"{request.mot.stem}.person{track.person_id}.mot")
                files.append(_written(path, lambda out, t=track: write_mot(out, t, keypoints, path.name)))
        if request.c3d is not None:
            for track in table.tracks.values():
                path = request.c3d.with_name(f"{request.c3d.stem}.person{track.person_id}.c3d")
                files.append(_written(path, lambda out, t=track: out.write(c3d_bytes(t, keypoints)), binary=True))
        if request.gait is not None:
            events = gait_of(table, keypoints)
            files.append(_written(request.gait, lambda out: write_gait_summary(out, events)))
            files.append(_written(gait_events_path(request.gait), lambda out: write_gait_events(out, events)))
    except BaseException:
        for f in files:
            f.abort()
        raise
    return files


def gait_events_path(summary: Path) -> Path:
    """Where a gait summary's events go: ``clip.gait.csv`` → ``clip.gait_events.csv``."""
    return summary.with_name(summary.name.removesuffix(".csv") + "_events.csv")


def _written(path: Path, write, binary: bool = False) -> AtomicFile:
    out = AtomicFile(path, binary=binary)
    try:
        write(out)
        out.finish()
    except BaseException:
        out.abort()
        raise
    return out


def write_angles(out, table: ExportTable, keypoints: KeypointSet) -> None:
    """``frame, time_s, person_id`` then ``<angle>_deg, <angle>_vel_deg_s`` for each angle the set has, one row
    per person per frame they appear in (after filling and smoothing)."""
    import csv

    writer = csv.writer(out)
    names: list[str] | None = None
    rows = []
    for track in table.tracks.values():
        series = angle_series(keypoints, track.xy, track.times)
        names = names or list(series)
        for i, frame in enumerate(track.frames):
            if not np.isfinite(track.xy[i]).any():
                continue
            values = []
            for name in names:
                angle, velocity = series[name]
                values += [number_cell(angle[i], 2), number_cell(velocity[i], 2)]
            rows.append((int(frame), track.person_id, [frame, f"{track.times[i]:.4f}", track.person_id] + values))
    columns = [f"{n.replace(' ', '_')}_{suffix}" for n in (names or []) for suffix in ("deg", "vel_deg_s")]
    writer.writerow(["frame", "time_s", "person_id"] + columns)
    for _, _, row in sorted(rows, key=lambda r: (r[0], r[1])):
        writer.writerow(row)


def write_trc(out, track: Track, keypoints: KeypointSet, name: str) -> None:
    """OpenSim's TRC marker format, 2D as Sports2D writes it: X = x, Y = −y (y up), Z = 0, in pixels; one row per
    frame of the track's span (1-based ``Frame#``, ``Time`` the video's), missing markers left empty."""
    rate = frame_rate(track.times)
    n, k = len(track.frames), keypoints.num_joints
    out.write(f"PathFileType\t4\t(X/Y/Z)\t{name}\n")
    out.write("DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n")
    out.write(f"{rate:.2f}\t{rate:.2f}\t{n}\t{k}\tpx\t{rate:.2f}\t{int(track.frames[0]) + 1}\t{n}\n")
    out.write("Frame#\tTime\t" + "\t\t\t".join(keypoints.names) + "\t\t\n")
    out.write("\t\t" + "\t".join(f"X{j + 1}\tY{j + 1}\tZ{j + 1}" for j in range(k)) + "\n\n")
    for i in range(n):
        cells = []
        for j in range(k):
            x, y = track.xy[i, j]
            cells += [number_cell(x, 3), number_cell(-y, 3), "0"] if np.isfinite(x) else ["", "", ""]
        out.write(f"{i + 1}\t{track.times[i]:.4f}\t" + "\t".join(cells) + "\n")



def write_mot(out, track: Track, keypoints: KeypointSet, name: str) -> None:
    """OpenSim's storage (MOT) file of one person's joint angles, as Sports2D writes it beside the TRC: the header
    OpenSim reads (``nRows``, ``nColumns``, ``inDegrees=yes``, ``endheader``), then ``time`` and one column per angle
    in degrees, tab-separated, one row per frame of the track's span; a missing angle is ``NaN``."""
    series = angle_series(keypoints, track.xy, track.times)
    names = list(series)
    n = len(track.frames)
    out.write(f"{name}\nversion=1\nnRows={n}\nnColumns={len(names) + 1}\ninDegrees=yes\nendheader\n")
    out.write("\t".join(["time"] + [a.replace(" ", "_") for a in names]) + "\n")
    for i in range(n):
        values = [series[a][0][i] for a in names]
        out.write("\t".join([f"{track.times[i]:.6f}"] + [f"{v:.4f}" if np.isfinite(v) else "NaN" for v in values])
                  + "\n")


C3D_MISSING = "C3D files need ezc3d, an optional part: pip install 'hrnet-studio[c3d]'"


def c3d_available() -> bool:
    """Whether ezc3d (the ``c3d`` extra) is installed."""
    try:
        import ezc3d  # noqa: F401
    except ImportError:
        return False
    return True


def check_c3d() -> None:
    """Refuse C3D output in one line, before any work, when ezc3d is not installed."""
    from ...errors import StudioError

    if not c3d_available():
        raise StudioError(C3D_MISSING)


def c3d_bytes(track: Track, keypoints: KeypointSet) -> bytes:
    """One person's markers as a C3D file (ezc3d): one point per joint, labelled with its name, in the TRC's units and
    axes (X = x, Y = −y, Z = 0, pixels), at the video's frame rate over the track's span; a joint not seen in a frame
    is an invalid point (ezc3d writes its residual as −1 and reads it back as NaN). No analog channels."""
    import os
    import tempfile

    import ezc3d

    c3d = ezc3d.c3d()
    point = c3d["parameters"]["POINT"]
    point["RATE"]["value"] = [float(frame_rate(track.times))]
    point["LABELS"]["value"] = tuple(keypoints.names)
    point["UNITS"]["value"] = ["px"]
    n, k = len(track.frames), keypoints.num_joints
    points = np.zeros((4, k, n))
    points[0] = track.xy[:, :, 0].T
    points[1] = -track.xy[:, :, 1].T
    points[3] = 1.0
    points[:3, ~np.isfinite(track.xy[:, :, 0].T)] = np.nan
    c3d["data"]["points"] = points
    handle, name = tempfile.mkstemp(suffix=".c3d")
    os.close(handle)
    try:
        c3d.write(name)
        return Path(name).read_bytes()
    finally:
        os.unlink(name)
