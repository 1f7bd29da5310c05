"""Keypoints for analysis: gap filling, zero-lag smoothing, joint angles and TRC files, checked against values
worked out by hand on synthetic tracks; then through the export command."""
import csv
import sys

import numpy as np
import pytest

from hrnet_studio.cli.main import main
from hrnet_studio.export.analysis.filters import process, smooth
from hrnet_studio.export.analysis.outputs import c3d_bytes, write_mot, write_trc
from hrnet_studio.export.analysis.tracks import Track
from hrnet_studio.export.options import FilterOptions
from hrnet_studio.kinematics import (
    TRUNK,
    angle_series,
    signed_angle_deg,
    trunk_inclination_deg,
)
from hrnet_studio.skeletons import COCO_17

NAMES = {n: i for i, n in enumerate(COCO_17.names)}


def track_of(xy, fps=100.0, scores=None):
    n = len(xy)
    return Track(1, np.arange(n), np.arange(n) / fps, np.asarray(xy, float), 
                 np.ones(np.shape(xy)[:2]) if scores is None else scores, np.zeros((n, 4)), np.ones(n))


def test_signed_angles_and_trunk_follow_the_stated_conventions():
    vertex = np.zeros((3, 2))
    up, right, left = np.array([[0, -1.0]] * 3), np.array([[1.0, 0]] * 3), np.array([[-1.0, 0]] * 3)
    # on screen y points down: "up" is (0, -1); from up to right is clockwise, so negative
    np.testing.assert_allclose(signed_angle_deg(up, vertex, right), -90)
    np.testing.assert_allclose(signed_angle_deg(up, vertex, left), 90)
    np.testing.assert_allclose(signed_angle_deg(right, vertex, left), 180)
    assert np.isnan(signed_angle_deg(vertex, vertex, left)).all()
    xy = np.zeros((2, 17, 2))
    for side in ("left", "right"):
        xy[:, NAMES[f"{side}_hip"]] = [[100, 200], [100, 200]]
    xy[0, [NAMES["left_shoulder"], NAMES["right_shoulder"]]] = [100, 100]  # upright
    xy[1, [NAMES["left_shoulder"], NAMES["right_shoulder"]]] = [200, 100]  # leaning 45° to the image's right
    np.testing.assert_allclose(trunk_inclination_deg(COCO_17, xy), [0, 45])


def test_angles_are_unwrapped_through_180_and_velocities_use_the_true_times():
    n = 50
    t = np.arange(n) / 25.0
    turn = np.radians(150 + 2.0 * np.arange(n))  # the lower leg turns 2° per frame, through 180°
    xy = np.full((n, 17, 2), np.nan)
    xy[:, NAMES["left_knee"]] = 0
    xy[:, NAMES["left_hip"]] = [1, 0]
    xy[:, NAMES["left_ankle"]] = np.stack([np.cos(turn), -np.sin(turn)], 1)  # counter-clockwise on screen
    angle, velocity = angle_series(COCO_17, xy, t)["left knee"]
    np.testing.assert_allclose(angle, 150 + 2.0 * np.arange(n), atol=1e-9)  # 150 → 248°, no jump at 180°
    np.testing.assert_allclose(velocity, 50.0, atol=1e-6)  # 2° per frame at 25 frames/s
    assert np.isnan(angle_series(COCO_17, xy, t)["right knee"][0]).all() and TRUNK in angle_series(COCO_17, xy, t)


def test_short_gaps_are_filled_linearly_and_marked_long_ones_and_edges_are_not():
    x = np.arange(20, dtype=float)
    xy = np.stack([x, 2 * x], 1)[:, None, :].repeat(2, axis=1)
    scores = np.ones((20, 2))
    scores[5:7, 0] = 0.1  # 2 frames missing: filled
    scores[10:16, 0] = 0.1  # 6 frames: too long for 0.05 s at 100 fps
    scores[:2, 1] = 0.1  # at the start: nothing to interpolate from
    track = process(track_of(xy, scores=scores), FilterOptions(max_gap_s=0.05, threshold=0.3))
    np.testing.assert_allclose(track.xy[5:7, 0], [[5, 10], [6, 12]])
    assert track.filled[5:7, 0].all() and track.filled.sum() == 2
    assert np.isnan(track.xy[10:16, 0]).all() and np.isnan(track.xy[:2, 1]).all()


def test_butterworth_removes_noise_without_lag_and_savgol_keeps_polynomials():
    fps, n = 100.0, 400
    t = np.arange(n) / fps
    slow = 50 * np.sin(2 * np.pi * 1.0 * t)
    noisy = slow + 5 * np.sin(2 * np.pi * 20 * t)
    xy = np.stack([noisy, noisy], 1)[:, None, :]
    track = track_of(xy, fps)
    smooth(track, FilterOptions("butterworth", cutoff_hz=4, order=4))
    middle = slice(50, -50)
    assert np.abs(track.xy[middle, 0, 0] - slow[middle]).max() < 1.0  # the 20 Hz ripple (±5) is gone
    lags = np.arange(-10, 11)
    best = lags[np.argmax([np.dot(np.roll(track.xy[:, 0, 0], lag)[middle], slow[middle]) for lag in lags])]
    assert best == 0  # zero lag: forwards and backwards
    quadratic = 0.5 * t**2 - 3 * t + 7
    track = track_of(np.stack([quadratic, quadratic], 1)[:, None, :], fps)
    smooth(track, FilterOptions("savgol", window_s=0.11, polyorder=3))
    np.testing.assert_allclose(track.xy[:, 0, 0], quadratic, atol=1e-9)
    with pytest.raises(Exception, match="under half the frame rate"):
        smooth(track_of(xy, 10.0), FilterOptions("butterworth", cutoff_hz=6))


def test_trc_file_layout(tmp_path):
    xy = np.full((3, 17, 2), np.nan)
    xy[:, 0] = [[10, 20], [11, 21], [12, 22]]
    track = track_of(xy, fps=30.0)
    path = tmp_path / "p.trc"
    with open(path, "w") as f:
        write_trc(f, track, COCO_17, path.name)
    lines = path.read_text().split("\n")
    assert lines[0] == "PathFileType\t4\t(X/Y/Z)\tp.trc"
    assert lines[2].split("\t")[:5] == ["30.00", "30.00", "3", "17", "px"]
    assert lines[3].split("\t")[:3] == ["Frame#", "Time", "nose"] and lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"]
    first = lines[6].split("\t")
    assert first[:5] == ["1", "0.0000", "10.000", "-20.000", "0"] and first[5:8] == ["", "", ""]


def test_mot_file_is_opensims_storage_of_the_angles(tmp_path):
    xy = np.full((3, 17, 2), np.nan)
    names = COCO_17.names
    for j, (x, y) in {"left_hip": (100, 100), "left_knee": (100, 150), "left_ankle": (150, 150)}.items():
        xy[:, names.index(j)] = [x, y]  # a left knee bent at a right angle, three frames
    path = tmp_path / "p.mot"
    with open(path, "w") as f:
        write_mot(f, track_of(xy, fps=30.0), COCO_17, path.name)
    lines = path.read_text().split("\n")
    assert lines[:6] == ["p.mot", "version=1", "nRows=3", f"nColumns={len(lines[6].split(chr(9)))}", "inDegrees=yes",
                         "endheader"]
    header = lines[6].split("\t")
    assert header[:3] == ["time", "left_knee", "right_knee"]
    rows = [line.split("\t") for line in lines[7:10]]
    assert [r[0] for r in rows] == ["0.000000", "0.033333", "0.066667"]
    knee = float(rows[0][header.index("left_knee")])
    assert abs(knee) == pytest.approx(90.0, abs=1e-3)  # a right angle, in degrees, signed as the angles CSV signs it
    assert knee == pytest.approx(angle_series(COCO_17, xy, np.arange(3) / 30.0)["left knee"][0][0], abs=1e-3)
    assert rows[0][header.index("right_knee")] == "NaN" and lines[10] == ""  # not seen: NaN, as OpenSim reads it


def test_c3d_file_holds_the_trc_markers_and_reads_back(tmp_path, capsys, monkeypatch, videos):
    ezc3d = pytest.importorskip("ezc3d", reason="the c3d extra: pip install 'hrnet-studio[c3d]'")
    xy = np.full((3, 17, 2), np.nan)
    xy[:, 0] = [[10, 20], [11, 21], [12, 22]]
    xy[1, 0] = np.nan  # the nose not seen in the middle frame
    (tmp_path / "p.c3d").write_bytes(c3d_bytes(track_of(xy, fps=30.0), COCO_17))
    c3d = ezc3d.c3d(str(tmp_path / "p.c3d"))
    point = c3d["parameters"]["POINT"]
    assert point["LABELS"]["value"] == list(COCO_17.names) and point["RATE"]["value"][0] == pytest.approx(30.0)
    assert point["UNITS"]["value"] == ["px"]
    points = c3d["data"]["points"]  # [XYZ1, markers, frames]
    assert points.shape == (4, 17, 3)
    np.testing.assert_allclose(points[:3, 0, 0], [10, -20, 0])  # the TRC's axes: y up
    np.testing.assert_allclose(points[:3, 0, 2], [12, -22, 0])
    assert np.isnan(points[:3, 0, 1]).all() and np.isnan(points[:3, 1]).all()  # not seen: invalid points
    monkeypatch.setitem(sys.modules, "ezc3d", None)  # as if the extra were not installed
    code = main(["export", str(videos / "single_person_taichi_340x256.mp4"), "-o", str(tmp_path / "x.csv"), "--c3d"])
    err = capsys.readouterr().err
    assert code != 0 and "C3D files need ezc3d, an optional part: pip install 'hrnet-studio[c3d]'" in err
    assert not (tmp_path / "x.csv").exists()  # refused before anything ran


def test_export_writes_the_analysis_outputs(capsys, tmp_path, videos, small_checkpoint_96x128, yolo_pose_weights):
    out = tmp_path / "gym.csv"  # real boxes that move: keypoints that change from frame to frame
    code = main([str(a) for a in ("export", videos / "two_people_basketball_gym_426x240.mp4", "-o", out, "--model",
                                  small_checkpoint_96x128, "--detector", yolo_pose_weights, "--max-frames", 20, "--device", "cpu",
                                  "--backend", "torch", "--filter", "butterworth", "--cutoff", 5, "--fill-gaps", 0.2,
                                  "--kpt-thr", 0.0, "--keep-raw", "--angles", "--trc", "--mot")])
    err = capsys.readouterr().err
    assert code == 0, err
    for name in ("gym.csv", "gym.raw.csv", "gym.angles.csv", "gym.person1.trc", "gym.person2.trc", "gym.person1.mot",
                 "gym.person2.mot"):
        assert (tmp_path / name).is_file(), name
    with open(out, newline="") as f:
        processed = list(csv.reader(f))
    with open(tmp_path / "gym.raw.csv", newline="") as f:
        raw = list(csv.reader(f))
    assert processed[0] == raw[0] + ["filled"] and len(processed) == len(raw) == 41  # two people, 20 frames
    def xs(rows, stop=None):  # joint x per (frame, person), in that order
        return np.array([[float(v) if v else np.nan for v in r[9:stop:3]]
                         for r in sorted(rows[1:], key=lambda r: (int(r[0]), int(r[3])))])

    smoothed, original = xs(processed, -1), xs(raw)
    both = np.isfinite(smoothed) & np.isfinite(original)
    assert both.sum() > 20 and not np.allclose(smoothed[both], original[both])  # filtered, not copied
    assert np.abs(smoothed[both] - original[both]).mean() < 50
    with open(tmp_path / "gym.angles.csv", newline="") as f:
        angles = list(csv.reader(f))
    assert angles[0][:5] == ["frame", "time_s", "person_id", "left_knee_deg", "left_knee_vel_deg_s"]
    assert len(angles) == 41 and angles[0][-2:] == ["trunk_inclination_deg", "trunk_inclination_vel_deg_s"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
