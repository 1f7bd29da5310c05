"""Predicting where each person is now: every tracked joint extrapolated forward by the output's latency.

A pose reaches a receiver some tens of milliseconds after the camera caught it; a person moving fast is elsewhere by
then. ``PosePredictor`` keeps a constant-velocity Kalman filter per joint of each track (state: position and velocity
in frame pixels, one 2×2 covariance per joint shared by x and y; white-noise acceleration) and moves every keypoint
forward by ``ahead_s``: the latency measured so far (``auto``) or a fixed time.

The noise is relative to the person's size (their box's diagonal), so one setting serves a close-up and a crowd:
``accel`` is the acceleration's standard deviation in diagonals/s², ``noise`` the measurement's in diagonals. A joint
whose score is under ``min_score`` is not measured that frame (its filter coasts); a joint unmeasured for
``max_coast_s`` starts afresh. A velocity the filter is unsure of is shrunk by speed² / (speed² + its variance), so a
joint standing still with jitter is not thrown about. Prediction changes only what the streams send (``PredictAhead``);
recordings, exports and the overlay keep the measured keypoints.

Measured (``benchmarks/prediction.py``, four shared clips): against sending the last pose, the error L ms later falls
by 6-16% at 50-100 ms and 2-7% at 200 ms; it rises where a still person moves at once (docs/live.md has the table).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACCEL = 3.0  # acceleration noise, person diagonals/s² (benchmarks/prediction.py)
NOISE = 0.01  # measurement noise, person diagonals
MIN_SCORE = 0.3
MAX_COAST_S = 0.5
MAX_AGE_S = 2.0  # a track not seen for this long is forgotten
SHRINK = True  # velocities shrunk by how sure the filter is of them: speed² / (speed² + its variance)


@dataclass
class _JointFilters:
    """The filters of one track: positions and velocities float64 [K, 2], covariances [K, 2, 2], last update time."""

    pos: np.ndarray
    vel: np.ndarray
    cov: np.ndarray
    measured_at: np.ndarray  # [K] seconds of each joint's last measurement
    time: float


class PosePredictor:
    """Per-track, per-joint constant-velocity Kalman filters (see the module docstring)."""

    def __init__(self, accel: float = ACCEL, noise: float = NOISE, min_score: float = MIN_SCORE,
                 max_coast_s: float = MAX_COAST_S, shrink: bool = SHRINK):
        self.accel, self.noise, self.min_score, self.max_coast_s = accel, noise, min_score, max_coast_s
        self.shrink = shrink
        self._tracks: dict[int, _JointFilters] = {}

    def reset(self) -> None:
        self._tracks.clear()

    def update(self, track_id: int, time_s: float, keypoints: np.ndarray, scores: np.ndarray,
               box: np.ndarray) -> None:
        """Measure a track's keypoints [K, 2] (frame pixels, scores [K]) caught at ``time_s`` (seconds, any clock
        that only goes forward); ``box`` [4] xyxy gives the person's size."""
        keypoints = np.asarray(keypoints, np.float64)
        measured = np.asarray(scores) >= self.min_score
        diagonal = max(float(np.hypot(box[2] - box[0], box[3] - box[1])), 1.0)
        r = (self.noise * diagonal) ** 2
        state = self._tracks.get(track_id)
        if state is None or time_s <= state.time - 1e-9:
            k = len(keypoints)
            cov = np.zeros((k, 2, 2))
            cov[:, 0, 0], cov[:, 1, 1] = r, (10.0 * diagonal) ** 2  # the position as measured, the speed unknown
            self._tracks[track_id] = _JointFilters(keypoints.copy(), np.zeros((k, 2)), cov,
                                                   np.where(measured, time_s, -np.inf), time_s)
            self._forget(time_s)
            return
        dt = time_s - state.time
        self._advance(state, dt, diagonal)
        stale = measured & (time_s - state.measured_at > self.max_coast_s)
        if stale.any():  # unmeasured too long: start afresh from this measurement
            state.pos[stale], state.vel[stale] = keypoints[stale], 0.0
            state.cov[stale] = np.diag([r, (10.0 * diagonal) ** 2])
        update = measured & ~stale
        p00, p01, p11 = state.cov[:, 0, 0], state.cov[:, 0, 1], state.cov[:, 1, 1]
        s = p00 + r
        gain_pos, gain_vel = p00 / s, p01 / s
        innovation = keypoints - state.pos
        state.pos[update] += gain_pos[update, None] * innovation[update]
        state.vel[update] += gain_vel[update, None] * innovation[update]
        new = np.stack([np.stack([(1 - gain_pos) * p00, (1 - gain_pos) * p01], -1),
                        np.stack([p01 - gain_vel * p00, p11 - gain_vel * p01], -1)], -2)
        state.cov[update] = new[update]
        state.measured_at[measured] = time_s
        state.time = time_s
        self._forget(time_s)

    def predict(self, track_id: int, ahead_s: float) -> np.ndarray | None:
        """The track's keypoints [K, 2] (frame pixels) ``ahead_s`` seconds after its last update: position plus
        velocity × time, for joints measured within ``max_coast_s``; the filtered position for the others. None for
        a track never updated."""
        state = self._tracks.get(track_id)
        if state is None:
            return None
        fresh = (state.time - state.measured_at) <= self.max_coast_s
        velocity = state.vel
        if self.shrink:  # a joint standing still with jitter has a small, unsure velocity: it is not moved
            speed2 = (velocity ** 2).sum(axis=1)
            velocity = velocity * (speed2 / (speed2 + 2 * state.cov[:, 1, 1] + 1e-12))[:, None]
        return (state.pos + velocity * (max(ahead_s, 0.0) * fresh)[:, None]).astype(np.float32)

    def _advance(self, state: _JointFilters, dt: float, diagonal: float) -> None:
        q = (self.accel * diagonal) ** 2
        state.pos += state.vel * dt
        p00, p01, p11 = state.cov[:, 0, 0].copy(), state.cov[:, 0, 1].copy(), state.cov[:, 1, 1].copy()
        state.cov[:, 0, 0] = p00 + 2 * dt * p01 + dt * dt * p11 + q * dt ** 4 / 4
        state.cov[:, 0, 1] = state.cov[:, 1, 0] = p01 + dt * p11 + q * dt ** 3 / 2
        state.cov[:, 1, 1] = p11 + q * dt * dt

    def _forget(self, now: float) -> None:
        for track_id in [t for t, s in self._tracks.items() if now - s.time > MAX_AGE_S]:
            del self._tracks[track_id]


def parse_ahead(text: str) -> float | None:
    """A user's ``--predict``: ``auto`` (None: each frame's own latency) or milliseconds (0-1000) → seconds; anything
    else is one line."""
    from ..errors import StudioError

    if text.strip().lower() == "auto":
        return None
    try:
        ms = float(text)
    except ValueError:
        raise StudioError(f"predict: expected auto or milliseconds (e.g. 100), got {text!r}") from None
    if not 0 <= ms <= 1000:
        raise StudioError(f"predict: milliseconds must be from 0 to 1000, got {text}")
    return ms / 1000


class PredictAhead:
    """What a stream sends with prediction on: each result's tracked persons with their sure joints moved ahead by
    ``ahead_s`` seconds, or (None) by the frame's own latency when it is sent (capture time to now). Persons without
    a track ID and unsure joints go as measured; the result given is not changed."""

    def __init__(self, ahead_s: float | None = None, predictor: PosePredictor | None = None):
        self.ahead_s = ahead_s
        self.predictor = predictor or PosePredictor()

    def __call__(self, result, now: float):
        """``result`` (a ``FrameResult``) as of ``now`` (``time.monotonic()``): a copy with predicted keypoints."""
        from dataclasses import replace

        caught = result.capture_time
        time_s = caught if caught is not None else result.timestamp_s
        ahead = self.ahead_s if self.ahead_s is not None else (max(0.0, now - caught) if caught is not None else 0.0)
        persons = []
        for person in result.persons:
            if person.track_id < 0:
                persons.append(person)
                continue
            self.predictor.update(person.track_id, time_s, person.keypoints, person.scores, person.bbox)
            moved = self.predictor.predict(person.track_id, ahead)
            sure = (person.scores >= self.predictor.min_score)[:, None]
            persons.append(replace(person, keypoints=np.where(sure, moved, person.keypoints).astype(np.float32)))
        return replace(result, persons=persons)
