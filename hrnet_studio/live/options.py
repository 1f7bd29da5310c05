"""The streams a user asks for (``live --osc/--ws/--lsl``, the app's Settings ▸ Stream), opening them, and switching
them while a view runs."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import StudioError
from ..inference.results import FrameResult
from ..skeletons import KeypointSet
from .sinks import StreamFormat, Streams, StreamSink

OSC_ADDRESS = "127.0.0.1:9000"  # what the app's Stream section offers before the user types another
WS_ADDRESS = "8765"  # a port on 127.0.0.1
LSL_NAME = "hrnet-studio"


@dataclass(frozen=True)
class StreamOptions:
    """Each stream on (its address or name) or off (None); ``normalized``: coordinates in 0–1 of the frame."""

    osc: str | None = None  # HOST:PORT
    ws: str | None = None  # [HOST:]PORT
    lsl: str | None = None  # the outlet's name
    normalized: bool = False
    predict: str | None = None  # joints moved ahead: "auto" (by each frame's latency) or milliseconds; None: off

    @property
    def any(self) -> bool:
        return bool(self.osc or self.ws or self.lsl)


def stream_predictor(options: StreamOptions):
    """The prediction ``options`` ask for (``prediction.PredictAhead``), or None; a bad value is one line."""
    if not options.predict:
        return None
    from ..inference.prediction import PredictAhead, parse_ahead

    return PredictAhead(parse_ahead(options.predict))


def open_streams(options: StreamOptions, fmt: StreamFormat) -> list[StreamSink]:
    """The sinks ``options`` ask for, each opened now; a port in use, a bad address or a missing package raises a
    one-line ``StudioError``, and the sinks opened before it are closed."""
    from .osc import parse_host_port

    opened: list[StreamSink] = []
    try:
        if options.osc:
            from .osc import OscSink

            opened.append(OscSink(*parse_host_port(options.osc), fmt))
        if options.ws:
            from .websocket import WebSocketSink

            opened.append(WebSocketSink(*parse_host_port(options.ws, any_port=True), fmt))
        if options.lsl:
            from .lsl import LslSink

            opened.append(LslSink(options.lsl, fmt))
    except BaseException:
        for sink in opened:
            sink.close()
        raise
    return opened


class LiveStreams:
    """Streams a running view turns on, off or elsewhere (the app's Settings ▸ Stream): ``request`` (from any thread)
    takes effect on the next frame, where they are (re)opened for that frame's size and keypoint set, in the thread
    that sends. A stream that cannot open (a port in use) is said once through ``say`` and stays off until the
    options change."""

    def __init__(self, say: Callable[[str], None]):
        self._say = say
        self._lock = threading.Lock()
        self._wanted = StreamOptions()
        self._opened_for: tuple | None = None
        self._streams: Streams | None = None

    def request(self, options: StreamOptions) -> None:
        with self._lock:
            self._wanted = options

    def send(self, frame, result: FrameResult, keypoints: KeypointSet,
             parts: tuple[tuple[str, KeypointSet], ...] = ()) -> str:
        """Send ``result`` (of ``frame``) to the streams asked for; returns their state for the status line.
        ``parts``: the face and hand landmark sets sent with each person (``StreamFormat.parts``)."""
        with self._lock:
            wanted = self._wanted
        height, width = frame.image.shape[:2]
        key = (wanted, keypoints, width, height, parts)
        if key != self._opened_for:
            self.close()
            self._opened_for = key
            if wanted.any:
                try:
                    self._streams = Streams(open_streams(wanted, StreamFormat(keypoints, width, height,
                                                                              wanted.normalized, parts)),
                                            stream_predictor(wanted))
                except StudioError as exc:
                    self._say(str(exc))
        if self._streams is None:
            return ""
        self._streams.send(result)
        return self._streams.status()

    def close(self) -> None:
        if self._streams is not None:
            self._streams.close()
            self._streams = None


def stream_parts(pipeline) -> tuple[tuple[str, KeypointSet], ...]:
    """The whole-body parts a pipeline adds to each person, for ``StreamFormat.parts`` (none without face or hand
    models)."""
    return tuple(pipeline.part_sets.items())
