import numpy as np

from hrnet_studio.inference.tracking import (
    KeypointSmoother,
    OneEuroFilter,
    PoseTracker,
    box_iou,
)
from hrnet_studio.skeletons import COCO_17


def box_at(cx, cy, w=40, h=100):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def test_iou():
    iou = box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0]])


def test_ids_survive_two_people_crossing():
    """Two boxes walk through each other; constant-velocity prediction keeps their IDs apart."""
    tracker = PoseTracker(COCO_17.oks_sigmas())
    first = None
    for step in range(41):
        a = box_at(50 + 5 * step, 100)  # left → right
        b = box_at(250 - 5 * step, 104)  # right → left
        ids = tracker.update(np.array([a, b]))
        if first is None:
            first = ids.copy()
        np.testing.assert_array_equal(ids, first, err_msg=f"step {step}")
    assert set(first) == {1, 2}


def test_order_of_detections_does_not_matter():
    tracker = PoseTracker(COCO_17.oks_sigmas())
    ids = tracker.update(np.array([box_at(50, 100), box_at(300, 100)]))
    swapped = tracker.update(np.array([box_at(302, 100), box_at(52, 100)]))
    np.testing.assert_array_equal(swapped, ids[::-1])


def test_new_person_gets_new_id_and_lost_tracks_expire():
    tracker = PoseTracker(COCO_17.oks_sigmas(), max_age=3)
    assert list(tracker.update(np.array([box_at(50, 100)]))) == [1]
    assert list(tracker.update(np.array([box_at(52, 100), box_at(300, 100)]))) == [1, 2]
    for _ in range(4):
        tracker.update(np.zeros((0, 4)))
    assert tracker.tracks == []
    assert list(tracker.update(np.array([box_at(52, 100)]))) == [3]


def test_keypoint_similarity_separates_overlapping_boxes():
    """Same box for two people (one behind the other): the keypoints decide."""
    rng = np.random.default_rng(0)
    kp_a = rng.uniform(0, 100, (17, 2))
    kp_b = rng.uniform(0, 100, (17, 2))
    box = np.array([box_at(50, 50, 100, 100)] * 2)
    scores = np.ones((2, 17))
    tracker = PoseTracker(COCO_17.oks_sigmas(), iou_weight=0.3)
    ids = tracker.update(box, np.array([kp_a, kp_b]), scores)
    again = tracker.update(box, np.array([kp_b + 0.5, kp_a - 0.5]), scores)
    np.testing.assert_array_equal(again, ids[::-1])


def test_one_euro_reduces_jitter_and_follows_motion():
    rng = np.random.default_rng(1)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    t = np.arange(300) / 30
    still = 100 + rng.normal(0, 2, size=300)
    out = np.array([f(np.array([v]), ti)[0] for v, ti in zip(still, t)])
    assert out[30:].std() < 0.5 * still[30:].std()
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    ramp = 300 * t  # 300 px/s
    out = np.array([f(np.array([v]), ti)[0] for v, ti in zip(ramp, t)])
    assert abs(out[-1] - ramp[-1]) < 15  # under 1.5 frames of lag at speed


def test_smoother_keeps_one_filter_per_track():
    smoother = KeypointSmoother()
    a = smoother(1, np.zeros((17, 2)), 0.0)
    b = smoother(2, np.full((17, 2), 100.0), 0.0)
    a2 = smoother(1, np.full((17, 2), 1.0), 1 / 30)
    assert a.shape == (17, 2) and np.all(b == 100) and np.all((a2 > 0) & (a2 < 1))
    smoother(1, np.zeros((17, 2)), 10.0)
    assert list(smoother.filters) == [1]  # track 2 unseen for > 2 s is dropped
