"""Gait from a whole-body model's feet: the ankle's dorsiflexion, heel strikes and toe offs (Zeni's velocity method)
at the frames they happen in a walk with known events, cadence and step time; refused in one line without feet."""
import numpy as np
import pytest

from hrnet_studio.errors import StudioError
from hrnet_studio.export.analysis.gait import check_gait, gait_events, gait_summary
from hrnet_studio.export.analysis.tracks import Track
from hrnet_studio.kinematics import angle_series, ankle_dorsiflexion_deg
from hrnet_studio.skeletons import COCO_17, COCO_23

FPS = 30.0
SPEED = 100.0  # px/s, walking right
STRIDE_S, STANCE_S = 1.0, 0.6
AHEAD = 30.0  # px: where the heel lands ahead of the pelvis
INDEX = {name: i for i, name in enumerate(COCO_23.names)}


def foot_x(t: float, first_strike: float) -> float:
    """A foot's heel x at time t: planted from each heel strike for the stance, then swinging at constant speed to
    its next landing place (ahead of where the pelvis will be)."""
    k = np.floor((t - first_strike) / STRIDE_S)
    strike = first_strike + k * STRIDE_S
    landed = SPEED * strike + AHEAD
    if t - strike < STANCE_S:
        return landed
    swing = (t - strike - STANCE_S) / (STRIDE_S - STANCE_S)
    return landed + swing * SPEED * STRIDE_S


def walk(seconds: float = 6.0, direction: int = 1) -> tuple[Track, dict]:
    """One person walking (already in stride at the start): hips at the pelvis, each foot's heel and toes (20 px
    ahead of the heel), the left foot's heel strikes at 0.2 s + n s, the right's half a stride later, each toe off
    0.6 s after its heel strike; ``direction`` −1 mirrors it (walking left)."""
    times = np.arange(0, seconds, 1 / FPS)
    n = len(times)
    xy = np.full((n, 23, 2), np.nan)
    strikes = {"left": 0.2, "right": 0.7}
    for i, t in enumerate(times):
        pelvis = SPEED * t
        for j in ("left_hip", "right_hip", "left_shoulder", "right_shoulder"):
            xy[i, INDEX[j]] = (pelvis, 100.0 if "hip" in j else 40.0)
        for side, first in strikes.items():
            heel = foot_x(t, first)
            xy[i, INDEX[f"{side}_heel"]] = (heel, 300.0)
            xy[i, INDEX[f"{side}_big_toe"]] = (heel + 20, 300.0)
            xy[i, INDEX[f"{side}_small_toe"]] = (heel + 18, 300.0)
            xy[i, INDEX[f"{side}_ankle"]] = (heel + 3, 290.0)
            xy[i, INDEX[f"{side}_knee"]] = (heel + 3, 200.0)
    xy[..., 0] *= direction
    truth = {(side, "heel_strike"): [first + k * STRIDE_S for k in range(int(seconds)) if first + k * STRIDE_S < seconds]
             for side, first in strikes.items()}
    truth |= {(side, "toe_off"): [first + (k - 1) * STRIDE_S + STANCE_S for k in range(int(seconds) + 1)
                                  if 0 <= first + (k - 1) * STRIDE_S + STANCE_S < seconds]
              for side, first in strikes.items()}
    return Track(1, np.arange(n), times, xy, np.ones((n, 23)), np.zeros((n, 4)), np.ones(n)), truth


@pytest.mark.parametrize("direction", [1, -1])
def test_heel_strikes_and_toe_offs_are_found_at_their_frames_walking_either_way(direction):
    track, truth = walk(direction=direction)
    events = gait_events(track, COCO_23)
    for (foot, event), times in truth.items():
        found = [e.time_s for e in events if e.foot == foot and e.event == event]
        inner = [t for t in times if 0.3 < t < 5.7]  # the filter needs a few frames on either side
        assert all(min(abs(np.array(found) - t)) <= 1.5 / FPS for t in inner), (foot, event, found, times)
        assert len(found) <= len(times)
    summary = gait_summary(1, events)
    assert summary["cadence_steps_per_min"] == pytest.approx(120, rel=0.03)  # a step every half second
    assert summary["step_time_s"] == pytest.approx(0.5, abs=1 / FPS) and summary["step_time_sd_s"] < 1 / FPS
    assert summary["stride_time_s"] == pytest.approx(1.0, abs=1 / FPS)


def test_noise_does_not_make_steps():
    track, truth = walk()
    track.xy += np.random.default_rng(0).normal(0, 1.0, track.xy.shape)  # a pixel of jitter on every point
    strikes = [e for e in gait_events(track, COCO_23) if e.event == "heel_strike"]
    assert len(strikes) == sum(len(v) for k, v in truth.items() if k[1] == "heel_strike")


def test_the_ankle_angle_is_zero_at_right_angles_positive_with_the_toes_up():
    knee, ankle = np.array([0.0, -100.0]), np.array([0.0, 0.0])  # image y down: the knee above the ankle
    assert ankle_dorsiflexion_deg(knee, ankle, np.array([-10.0, 0.0]), np.array([20.0, 0.0])) == pytest.approx(0)
    assert ankle_dorsiflexion_deg(knee, ankle, np.array([-10.0, 5.0]), np.array([20.0, -10.0])) > 20  # toes raised
    assert ankle_dorsiflexion_deg(knee, ankle, np.array([-10.0, -5.0]), np.array([20.0, 10.0])) < -20  # pointed
    track, _ = walk(1.0)
    series = angle_series(COCO_23, track.xy, track.times)
    assert {"left ankle", "right ankle"} <= set(series) and "left ankle" not in angle_series(
        COCO_17, track.xy[:, :17], track.times)
    assert np.nanmax(np.abs(series["left ankle"][0])) < 5  # the synthetic foot stays near a right angle


def test_gait_without_feet_is_one_line():
    check_gait(COCO_23)
    with pytest.raises(StudioError, match="gait events need foot keypoints .* whole-body model"):
        check_gait(COCO_17)


def test_export_refuses_gait_for_a_model_without_feet_before_reading_the_video(capsys, videos, small_checkpoint,
                                                                              tmp_path, models_home):
    from helpers import run_cli

    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "--model",
                           small_checkpoint, "--detector", "none", "-o", tmp_path / "clip.csv", "--gait")
    assert code != 0 and "error: gait events need foot keypoints (heel and big toe)" in err
    assert "frame/s" not in err and list(tmp_path.iterdir()) == []
