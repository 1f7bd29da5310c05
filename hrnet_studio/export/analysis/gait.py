"""Gait events from video: heel strike and toe off per foot, cadence and step time per person (models with feet).

The velocity-based method of Zeni et al. (2008, "Two simple methods for determining gait events during treadmill and
overground walking using kinematic data", Gait & Posture 27:710-714), in the image plane of a side view: each foot's
heel and big toe are followed relative to the pelvis (the mid-hip) along the walking direction; a heel strike is where
the heel's velocity relative to the pelvis turns from forward to backward (the foot stops swinging ahead and is
planted), a toe off where the toe's turns from backward to forward (the foot leaves the ground and swings). Forward
is where the feet point (heel → big toe, over the person's frames), so a treadmill walk works too. Velocities are
smoothed with a Savitzky-Golay filter over ``SMOOTH_S``; each event is placed at the extreme of the heel's (toe's)
distance ahead of the pelvis near the turn (their coordinate method), needs ``MIN_EVENT_S`` since the last of its kind
on that foot and a foot that moved ``MIN_STEP`` of the leg's length around it (a crossing of noise is not a step).

Per person: the events (foot, event, frame, time) and a summary: heel strikes, cadence (steps per minute between the
first and the last heel strike, both feet), step time (heel strike to the other foot's next, mean and SD) and stride
time (heel strike to the same foot's next, mean).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_filter

from ...errors import StudioError
from ...kinematics import runs_of
from ...skeletons import KeypointSet
from .tracks import ExportTable, Track

FEET = ("left", "right")
SMOOTH_S = 0.15  # the velocity filter's window, seconds
MIN_EVENT_S = 0.3  # the least time between two events of one kind on one foot (a stride takes ~1 s)
MIN_STEP = 0.1  # a step moves the foot this fraction of the leg (hip to heel) relative to the pelvis
GAIT_JOINTS = ("left_hip", "right_hip", "left_heel", "right_heel", "left_big_toe", "right_big_toe")
NEEDS_FEET = ("gait events need foot keypoints (heel and big toe): use a whole-body model such as "
              "hrnet_w32_coco_wholebody_256x192")


@dataclass(frozen=True)
class GaitEvent:
    person: int
    foot: str  # "left" or "right"
    event: str  # "heel_strike" or "toe_off"
    frame: int
    time_s: float


def has_feet(keypoints: KeypointSet) -> bool:
    """Whether a keypoint set has what gait events need: both hips, heels and big toes."""
    return all(name in keypoints.names for name in GAIT_JOINTS)


def check_gait(keypoints: KeypointSet) -> None:
    """Refuse gait events in one line, before any work, for a keypoint set without feet."""
    if not has_feet(keypoints):
        raise StudioError(NEEDS_FEET)


def gait_events(track: Track, keypoints: KeypointSet) -> list[GaitEvent]:
    """Heel strikes and toe offs of one person's track (``xy`` [N, K, 2] frame pixels, NaN where missing), in time
    order, within each run of frames where the hips and that foot are seen."""
    index = {name: i for i, name in enumerate(keypoints.names)}
    hips = (track.xy[:, index["left_hip"]] + track.xy[:, index["right_hip"]]) / 2
    heels = np.concatenate([track.xy[:, index[f"{side}_heel"]] for side in FEET])
    toes = np.concatenate([track.xy[:, index[f"{side}_big_toe"]] for side in FEET])
    foot = toes[:, 0] - heels[:, 0]
    legs = np.abs(np.tile(hips[:, 1], 2) - heels[:, 1])
    if not (np.isfinite(foot).any() and np.isfinite(legs).any()):
        return []  # no hips or no feet seen together
    forward, leg = np.sign(np.nanmedian(foot)), float(np.nanmedian(legs))
    if forward == 0:
        return []
    events = []
    for side in FEET:
        for event, joint, turn in (("heel_strike", "heel", -1), ("toe_off", "big_toe", 1)):
            ahead = forward * (track.xy[:, index[f"{side}_{joint}"], 0] - hips[:, 0])  # pixels ahead of the pelvis
            for at in _turns(ahead, track.times, turn, MIN_STEP * leg):
                events.append(GaitEvent(track.person_id, side, event, int(track.frames[at]), float(track.times[at])))
    return sorted(events, key=lambda e: (e.time_s, e.foot, e.event))


def _turns(ahead: np.ndarray, times: np.ndarray, turn: int, min_step: float) -> list[int]:
    """Frames where ``ahead`` turns back: its smoothed velocity changes sign (to negative for ``turn`` −1, a
    heel strike; to positive for +1, a toe off), the event placed at the extreme of the raw distance within the
    filter's window (Zeni's coordinate method), and kept when the foot moved at least ``min_step`` pixels relative
    to the pelvis within ``MIN_EVENT_S`` on either side (a foot that moves with the pelvis makes no steps)."""
    found: list[int] = []
    for start, stop in runs_of(np.isfinite(ahead)):
        t, values = times[start:stop], ahead[start:stop]
        step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
        window = int(round(SMOOTH_S / step)) | 1 if step > 0 else 0
        if len(values) < max(window, 5):
            continue
        velocity = savgol_filter(values, window, 2, deriv=1, delta=step) if window >= 5 else np.gradient(values, t)
        sign = np.sign(velocity)
        for i in np.flatnonzero((sign[:-1] == -turn) & (sign[1:] == turn)):
            near = slice(max(0, i - window), min(len(values), i + window + 1))
            extreme = near.start + int(np.argmax(values[near]) if turn < 0 else np.argmin(values[near]))
            around = (t >= t[extreme] - MIN_EVENT_S) & (t <= t[extreme] + MIN_EVENT_S)
            if np.ptp(values[around]) < min_step:
                continue
            at = start + extreme
            if not found or times[at] - times[found[-1]] >= MIN_EVENT_S:
                found.append(at)
    return found


def gait_summary(person: int, events: list[GaitEvent]) -> dict:
    """One person's summary row: heel strikes, cadence (steps/min), step time mean and SD (s), stride time (s)."""
    strikes = [e for e in events if e.event == "heel_strike"]
    row = {"person_id": person, "heel_strikes": len(strikes), "toe_offs": len(events) - len(strikes),
           "cadence_steps_per_min": np.nan, "step_time_s": np.nan, "step_time_sd_s": np.nan, "stride_time_s": np.nan}
    if len(strikes) >= 2:
        row["cadence_steps_per_min"] = 60.0 * (len(strikes) - 1) / (strikes[-1].time_s - strikes[0].time_s)
    steps = [b.time_s - a.time_s for a, b in zip(strikes, strikes[1:]) if a.foot != b.foot]
    if steps:
        row["step_time_s"], row["step_time_sd_s"] = float(np.mean(steps)), float(np.std(steps))
    strides = [later.time_s - earlier.time_s for side in FEET
               for earlier, later in _pairs([s for s in strikes if s.foot == side])]
    if strides:
        row["stride_time_s"] = float(np.mean(strides))
    return row


def _pairs(items: list) -> list[tuple]:
    return list(zip(items, items[1:]))


SUMMARY_COLUMNS = ["person_id", "heel_strikes", "toe_offs", "cadence_steps_per_min", "step_time_s", "step_time_sd_s",
                   "stride_time_s"]


def gait_of(table: ExportTable, keypoints: KeypointSet) -> dict[int, list[GaitEvent]]:
    """Every person's gait events (``gait_events``), by person ID: found once for both gait files."""
    return {person: gait_events(track, keypoints) for person, track in table.tracks.items()}


def write_gait_summary(out, events: dict[int, list[GaitEvent]]) -> None:
    """The gait summary CSV: one row per person (``gait_summary``; empty where too few events)."""
    writer = csv.writer(out)
    writer.writerow(SUMMARY_COLUMNS)
    for person, found in events.items():
        row = gait_summary(person, found)
        writer.writerow([row["person_id"], row["heel_strikes"], row["toe_offs"]]
                        + [f"{row[c]:.3f}" if np.isfinite(row[c]) else "" for c in SUMMARY_COLUMNS[3:]])


def write_gait_events(out, events: dict[int, list[GaitEvent]]) -> None:
    """Every gait event: ``person_id, foot, event, frame, time_s``, in time order per person."""
    writer = csv.writer(out)
    writer.writerow(["person_id", "foot", "event", "frame", "time_s"])
    for found in events.values():
        for e in found:
            writer.writerow([e.person, e.foot, e.event, e.frame, f"{e.time_s:.4f}"])
