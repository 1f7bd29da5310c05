"""Keypoints predicted ahead by the measured latency (``inference/prediction.py``)."""
import numpy as np

from hrnet_studio.inference.prediction import PosePredictor

BOX = np.array([100, 50, 220, 330], np.float32)  # a person about 300 px across the diagonal


def walk(predictor, frames, velocity, start=(150.0, 200.0), noise=0.0, fps=30.0, track=1, scores=None, seed=0):
    """Two joints moving at ``velocity`` px/s (the second standing still), measured each frame with pixel noise."""
    rng = np.random.default_rng(seed)
    truth = None
    for i in range(frames):
        t = i / fps
        truth = np.array([np.add(start, np.multiply(velocity, t)), start])
        predictor.update(track, t, truth + rng.normal(0, noise, truth.shape), np.ones(2) if scores is None else scores,
                         BOX)
    return truth, frames / fps


def test_a_joint_moving_steadily_is_predicted_where_it_will_be():
    predictor = PosePredictor()
    velocity = (600.0, -150.0)  # px/s: a fast arm
    last, _ = walk(predictor, 30, velocity, noise=1.0)
    ahead = 0.1
    truth_then = last[0] + np.multiply(velocity, ahead)
    predicted = predictor.predict(1, ahead)
    unpredicted_error = np.linalg.norm(last[0] - truth_then)  # where the last pose puts it: 62 px behind
    assert np.linalg.norm(predicted[0] - truth_then) < 0.1 * unpredicted_error
    assert np.linalg.norm(predicted[1] - last[1]) < 3  # the joint that stands still stays
    assert predicted.dtype == np.float32 and predicted.shape == (2, 2)


def test_unsure_joints_coast_then_stop_being_extrapolated_and_tracks_are_apart():
    predictor = PosePredictor(max_coast_s=0.2)
    walk(predictor, 20, (300.0, 0.0))
    moving = predictor.predict(1, 0.1)
    assert predictor.predict(2, 0.1) is None  # never measured
    # the moving joint becomes unsure: not measured, its filter coasts
    t = 20 / 30
    predictor.update(1, t, np.array([[0.0, 0.0], [150.0, 200.0]]), np.array([0.05, 1.0]), BOX)
    coasting = predictor.predict(1, 0.0)
    assert abs(coasting[0, 0] - (moving[0, 0] - 300.0 * 0.1 + 300.0 / 30)) < 5  # carried on, not pulled to (0, 0)
    for k in range(1, 10):  # unsure for longer than max_coast_s: no longer moved ahead
        predictor.update(1, t + k / 30, np.array([[0.0, 0.0], [150.0, 200.0]]), np.array([0.05, 1.0]), BOX)
    held = predictor.predict(1, 0.0)
    np.testing.assert_allclose(predictor.predict(1, 0.5)[0], held[0])
    predictor.update(2, t, np.array([[10.0, 10.0], [20.0, 20.0]]), np.ones(2), BOX)
    np.testing.assert_allclose(predictor.predict(2, 0.2), [[10, 10], [20, 20]])  # a new track: its measurement
    # measured again after coasting too long: it starts afresh from the measurement
    predictor.update(1, t + 10 / 30, np.array([[500.0, 60.0], [150.0, 200.0]]), np.ones(2), BOX)
    np.testing.assert_allclose(predictor.predict(1, 0.3)[0], [500, 60], atol=1e-3)
