"""Left/right swaps in tracks: injected at known frames into smooth synthetic motion, found exactly, repaired back;
legs that cross (left and right at the same place) are never called a swap."""
import numpy as np
import pytest

from hrnet_studio.inference.results import FrameResult, PersonPose
from hrnet_studio.inference.swaps import LAG, SwapRepair, exchanged, summary
from hrnet_studio.skeletons import COCO_17, COCO_23

INDEX = {name: i for i, name in enumerate(COCO_23.names)}


def walking(frames: int, keypoints=COCO_17, separation=40.0, seed=0) -> list[np.ndarray]:
    """A person walking right at 3 px a frame: every joint on its own smooth path; the legs ``separation`` px apart
    (swinging), the arms too; small noise."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(100, 300, (keypoints.num_joints, 2))
    out = []
    for t in range(frames):
        xy = base + [3.0 * t, 0.0]
        swing = separation / 2 * np.cos(t / 6)
        for side, sign in (("left", 1), ("right", -1)):
            for joint in ("knee", "ankle", "heel", "big_toe", "small_toe", "elbow", "wrist"):
                name = f"{side}_{joint}"
                if name in keypoints.names:
                    i = keypoints.names.index(name)
                    xy[i] = [200 + 3.0 * t + sign * (separation / 2 + swing) + (10 if joint == "wrist" else 0),
                             300 + 40 * ("ankle" in joint or "heel" in joint or "toe" in joint)]
        out.append(xy + rng.normal(0, 0.5, xy.shape))
    return out


def stream(tracks: dict[int, list[np.ndarray]], keypoints=COCO_17):
    frames = max(len(t) for t in tracks.values())
    for i in range(frames):
        persons = [PersonPose(np.array([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()], np.float32),
                              0.9, xy.astype(np.float32).copy(), np.full(keypoints.num_joints, 0.9, np.float32),
                              track_id=track) for track, path in tracks.items() if i < len(path) for xy in [path[i]]]
        yield i, FrameResult(i, i / 30, persons)


def swapped(xy: np.ndarray, limb: str, keypoints=COCO_17) -> np.ndarray:
    joints = ("knee", "ankle", "heel", "big_toe", "small_toe") if limb == "legs" else ("elbow", "wrist")
    out = xy.copy()
    for joint in joints:
        if f"left_{joint}" in keypoints.names:
            a, b = keypoints.names.index(f"left_{joint}"), keypoints.names.index(f"right_{joint}")
            out[[a, b]] = out[[b, a]]
    return out


@pytest.mark.parametrize("keypoints", [COCO_17, COCO_23])
def test_injected_swaps_are_found_at_their_frames_and_repaired(keypoints):
    clean = {1: walking(90, keypoints), 2: walking(90, keypoints, seed=1)}
    injected = {(10, 1, "legs"), (40, 1, "legs"), (41, 1, "legs"), (42, 1, "legs"), (43, 1, "legs"),
                (60, 2, "arms"), (75, 2, "legs"), (76, 2, "legs")}
    tracks = {t: [xy.copy() for xy in path] for t, path in clean.items()}
    for frame, track, limb in injected:
        tracks[track][frame] = swapped(tracks[track][frame], limb, keypoints)
    repair = SwapRepair(keypoints, repair=True)
    out = list(repair.run(stream(tracks, keypoints)))
    assert {(s.frame, s.person, s.limb) for s in repair.found} == injected
    assert summary(repair.found)[1:] == ["  person 1, legs: frames 10, 40-43", "  person 2, arms: frame 60",
                                         "  person 2, legs: frames 75-76"]
    assert [r.frame_index for _, r in out] == list(range(90))  # every frame, in order, after the lag
    for _, result in out:
        for person in result.persons:
            np.testing.assert_allclose(person.keypoints, clean[person.track_id][result.frame_index], atol=1e-3)
            marked = any((result.frame_index, person.track_id, limb) in injected for limb in ("legs", "arms"))
            assert (person.swapped is not None) == marked
    knee = INDEX["left_knee"]
    assert out[41][1].persons[0].swapped[knee] and not out[41][1].persons[0].swapped[INDEX["left_hip"]]


def test_without_repair_swaps_are_found_and_marked_but_left_as_they_are():
    path = walking(40)
    path[5] = swapped(path[5], "arms")
    raw = path[5].copy()
    repair = SwapRepair(COCO_17, repair=False)
    out = list(repair.run(stream({3: path})))
    assert [(s.frame, s.person, s.limb, s.repaired) for s in repair.found] == [(5, 3, "arms", False)]
    person = out[5][1].persons[0]
    np.testing.assert_array_equal(person.keypoints, raw.astype(np.float32))
    assert person.swapped[INDEX["left_elbow"]] and person.swapped[INDEX["right_wrist"]]
    assert summary(repair.found) == ["left/right swaps found (not repaired: --fix-swaps repairs them): 1 frame(s)",
                                     "  person 3, arms: frame 5"]


def test_legs_that_cross_are_not_called_swaps():
    """Legs together (no separation): exchanging them changes nothing, so nothing is found, in 200 noisy frames."""
    repair = SwapRepair(COCO_17, repair=True)
    list(repair.run(stream({1: walking(200, separation=0.0, seed=4)})))
    assert repair.found == []


def test_a_long_swap_is_not_locked_in_and_a_track_that_leaves_starts_afresh():
    path = walking(120)
    for t in range(30, 30 + LAG // 2):  # a swap half as long as the window
        path[t] = swapped(path[t], "legs")
    repair = SwapRepair(COCO_17, repair=True)
    list(repair.run(stream({1: path[:80]})))
    assert {s.frame for s in repair.found} == set(range(30, 30 + LAG // 2))
    # after the track is gone for a while, its first frame is taken as labelled
    late = SwapRepair(COCO_17, repair=True)
    frames = list(stream({1: path[:10]}))
    frames += [(i, FrameResult(i, i / 30, [])) for i in range(10, 30)]
    frames += [(i, FrameResult(i, i / 30, [PersonPose(np.zeros(4, np.float32), 0.9,
                                                      swapped(path[i], "legs").astype(np.float32),
                                                      np.full(17, 0.9, np.float32), track_id=1)]))
               for i in range(30, 40)]
    assert len(list(late.run(iter(frames)))) == 40 and late.found == []


def test_exchanged_swaps_only_marked_limbs():
    xy = np.arange(34, dtype=float).reshape(17, 2)
    marks = np.zeros(17, bool)
    marks[[INDEX["left_elbow"], INDEX["right_elbow"], INDEX["left_wrist"], INDEX["right_wrist"]]] = True
    from hrnet_studio.inference.swaps import SwapFinder

    out, scores = exchanged(xy, np.arange(17.0), marks, SwapFinder(COCO_17).limbs)
    assert (out[INDEX["left_elbow"]] == xy[INDEX["right_elbow"]]).all() and (out[INDEX["left_knee"]] ==
                                                                             xy[INDEX["left_knee"]]).all()
    assert scores[INDEX["left_wrist"]] == INDEX["right_wrist"]
