"""Where live poses go as they happen: stream sinks (OSC, WebSocket, LSL) behind one small interface, and the fan-out
that feeds them without ever letting one stall or stop the pipeline.

A sink's ``send`` is called once per frame, in the pipeline's thread, and must return at once: a network sink
hands the frame to a socket (UDP) or to its own thread's queue of one (a slow WebSocket client loses frames). A
sink that fails (no receiver, a network gone) raises; ``Streams`` notes it in the status line and tries again on
the next frame, so the pipeline goes on and the sink comes back when its receiver does.

Every message carries the frame's capture time (``FrameResult.capture_time``, seconds on the monotonic clock) and
the time it was sent, so receivers can align streams and measure latency.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..errors import first_line
from ..inference.results import FrameResult
from ..skeletons import KeypointSet


@dataclass(frozen=True)
class StreamFormat:
    """What every sink needs to describe a frame: the keypoint set, the frame's size (pixels), whether to send
    coordinates in 0–1 of the frame instead of pixels, and the whole-body parts sent with each person ((part,
    landmark set) pairs such as ("face", WFLW's 98); none without face and hand models)."""

    keypoints: KeypointSet
    width: int
    height: int
    normalized: bool = False
    parts: tuple[tuple[str, KeypointSet], ...] = ()

    def xy(self, x: float, y: float) -> tuple[float, float]:
        """A point in frame pixels as the stream sends it (pixels, or 0–1 of the frame's width and height)."""
        return (x / self.width, y / self.height) if self.normalized else (x, y)

    @property
    def unit(self) -> str:
        return "normalized" if self.normalized else "pixels"


class StreamSink(Protocol):
    label: str  # what and where, e.g. "OSC 127.0.0.1:9000"

    def send(self, result: FrameResult, sent_time: float) -> None:
        """Send ``result`` now (``sent_time``: ``time.monotonic()``); return at once; raise when it cannot be sent."""

    def state(self) -> str:
        """A few words for the status line: "2 clients", "sending"."""

    def close(self) -> None: ...


@dataclass
class SinkHealth:
    sent: int = 0
    failed: int = 0
    problem: str = ""  # the last failure, while it lasts


class Streams:
    """The stream sinks of a run: each frame goes to each, a failing one is noted and retried on the next frame."""

    def __init__(self, sinks: list[StreamSink], predict: Callable[[FrameResult, float], FrameResult] | None = None):
        """``predict``: what the sinks get instead of each result as measured (``prediction.PredictAhead``)."""
        self.sinks = list(sinks)
        self.health = {id(s): SinkHealth() for s in self.sinks}
        self.predict = predict

    def send(self, result: FrameResult) -> float:
        """Send ``result`` to every sink; returns the time it was sent (``time.monotonic()``)."""
        now = time.monotonic()
        if self.predict is not None and self.sinks:
            result = self.predict(result, now)
        for sink in self.sinks:
            health = self.health[id(sink)]
            try:
                sink.send(result, now)
            except Exception as exc:  # a receiver gone, a network down: the pipeline goes on, the sink retries
                health.failed += 1
                health.problem = first_line(exc)
            else:
                health.sent += 1
                health.problem = ""
        return now

    def status(self) -> str:
        """One part per sink for the status line, e.g. "OSC 127.0.0.1:9000 sending; WS :8765 2 clients"."""
        parts = []
        for sink in self.sinks:
            problem = self.health[id(sink)].problem
            parts.append(f"{sink.label} {'retrying: ' + problem if problem else sink.state()}")
        return "; ".join(parts)

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # closing what failed must not hide the run's summary
                pass


def frame_message(result: FrameResult, fmt: StreamFormat, sent_time: float) -> dict:
    """The frame as one JSON-ready dict (the WebSocket message; the guide documents it)::

        {"type": "frame", "frame": 12, "capture_time": 3101.25, "sent_time": 3101.29, "unit": "pixels",
         "persons": [{"id": 1, "box": [x1, y1, x2, y2], "score": 0.93, "keypoints": [[x, y, s], …],
                      "parts": {"face": {"box": [x1, y1, x2, y2], "keypoints": [[x, y, s], …]}, …}}, …]}

    ``parts`` only with face or hand models, and only the parts seen on that person in that frame.
    """
    persons = []
    for slot, p in enumerate(result.persons):
        (x1, y1), (x2, y2) = fmt.xy(*p.bbox[:2]), fmt.xy(*p.bbox[2:])
        person = {"id": int(p.track_id if p.track_id >= 0 else slot),
                  "box": [round(float(v), 4) for v in (x1, y1, x2, y2)], "score": round(float(p.box_score), 4),
                  "keypoints": _points(fmt, p.keypoints, p.scores)}
        if fmt.parts:
            person["parts"] = {
                part: {"box": [round(float(v), 4) for v in (*fmt.xy(*found.bbox[:2]), *fmt.xy(*found.bbox[2:]))],
                       "keypoints": _points(fmt, found.keypoints, found.scores)}
                for part, _ in fmt.parts if (found := p.parts.get(part)) is not None}
        persons.append(person)
    return {"type": "frame", "frame": int(result.frame_index), "capture_time": result.capture_time,
            "sent_time": sent_time, "unit": fmt.unit, "persons": persons}


def _points(fmt: StreamFormat, keypoints, scores) -> list[list[float]]:
    return [[round(float(v), 4) for v in (*fmt.xy(*xy), s)] for xy, s in zip(keypoints, scores)]


def hello_message(fmt: StreamFormat) -> dict:
    """The first message a receiver gets: the keypoint set (names, skeleton edges as index pairs) and the frame;
    with face or hand models, ``parts``: each part's landmark set (name, landmark names, edges)."""
    hello = _hello(fmt)
    if fmt.parts:
        hello["parts"] = {part: {"keypoints": landmarks.name, "names": list(landmarks.names),
                                 "skeleton": [list(edge) for edge in landmarks.edges]} for part, landmarks in fmt.parts}
    return hello


def _hello(fmt: StreamFormat) -> dict:
    return {"type": "hello", "keypoints": fmt.keypoints.name, "names": list(fmt.keypoints.names),
            "skeleton": [list(edge) for edge in fmt.keypoints.edges], "width": fmt.width, "height": fmt.height,
            "unit": fmt.unit, "clock": "seconds on the sender's monotonic clock"}
