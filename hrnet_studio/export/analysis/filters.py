"""Per-track processing of keypoints over time: gaps filled by interpolation, zero-lag Butterworth or
Savitzky–Golay smoothing (``scipy.signal``). One-Euro stays the live filter (``inference/tracking.py``)."""
from __future__ import annotations

import numpy as np

from ...errors import StudioError
from ...kinematics import runs_of
from ..options import FilterOptions
from .tracks import Track


def frame_rate(times: np.ndarray) -> float:
    """Frames per second from the median interval of the frame times."""
    steps = np.diff(times)
    steps = steps[steps > 0]
    return 1.0 / float(np.median(steps)) if len(steps) else 30.0


def process(track: Track, options: FilterOptions) -> Track:
    """Low-scoring joints to NaN, short gaps filled (``track.filled`` marks them), then smoothed; in place."""
    missing = ~(track.scores >= options.threshold)
    track.xy[missing] = np.nan
    if options.max_gap_s > 0:
        fill_gaps(track, options.max_gap_s)
    if options.filter != "none" and len(track.frames) > 1:
        smooth(track, options)
    return track


def fill_gaps(track: Track, max_gap_s: float) -> None:
    """Linear interpolation (over the true frame times) of each joint's missing runs that are bounded on both
    sides and span at most ``max_gap_s`` from the last value before to the first after."""
    for j in range(track.xy.shape[1]):
        known = np.isfinite(track.xy[:, j, 0])
        for start, stop in runs_of(~known):
            if start == 0 or stop == len(known) or track.times[stop] - track.times[start - 1] > max_gap_s + 1e-9:
                continue
            t = track.times[start:stop]
            for c in range(2):
                track.xy[start:stop, j, c] = np.interp(t, track.times[[start - 1, stop]],
                                                       track.xy[[start - 1, stop], j, c])
            track.filled[start:stop, j] = True


def smooth(track: Track, options: FilterOptions) -> None:
    """Each joint coordinate, run by run of known values (a gap left open splits the signal)."""
    from scipy import signal

    fps = frame_rate(track.times)
    if options.filter == "butterworth":
        if options.cutoff_hz >= fps / 2:
            raise StudioError(f"the cut-off ({options.cutoff_hz:g} Hz) must be under half the frame rate "
                              f"({fps / 2:.1f} Hz)")
        sos = signal.butter(options.order, options.cutoff_hz, fs=fps, output="sos")
        pad = 3 * (2 * len(sos) + 1)

        def run(x: np.ndarray) -> np.ndarray:
            return signal.sosfiltfilt(sos, x, padlen=min(pad, len(x) - 1)) if len(x) > options.order * 2 else x
    else:
        window = max(options.polyorder + 2, int(round(options.window_s * fps)) | 1)

        def run(x: np.ndarray) -> np.ndarray:
            return signal.savgol_filter(x, window, options.polyorder) if len(x) >= window else x

    for j in range(track.xy.shape[1]):
        for start, stop in runs_of(np.isfinite(track.xy[:, j, 0])):
            for c in range(2):
                track.xy[start:stop, j, c] = run(track.xy[start:stop, j, c])
