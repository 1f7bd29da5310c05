"""Poses over OSC (python-osc, UDP): one bundle per frame, timetagged with the frame's capture time.

Messages (addresses and arguments; ``docs/live.md`` documents them for receivers)::

    /pose/frame                  [frame index (i), capture time (d), sent time (d), persons (i)]
    /pose/person/<id>            [x1, y1, x2, y2, score]           the box (f)
    /pose/person/<id>/<joint>    [x, y, score]                     each joint by its name (f)
    /pose/person/<id>/<part>     [x1, y1, x2, y2]                  with face or hand models: the part's box (f)
    /pose/person/<id>/<part>/<n> [x, y, score]                     each landmark (f): a hand's by name, a face's by
                                                                    number (0…); parts are face, left_hand, right_hand

Coordinates are frame pixels, or 0–1 of the frame with ``normalized``. Times are seconds on the sender's monotonic
clock (doubles: a float would round them to milliseconds); the bundle's timetag is the capture time on the wall
clock. UDP needs no receiver: with nobody listening the bundles are lost and the pipeline goes on.
"""
from __future__ import annotations

import time

from ..errors import StudioError
from ..inference.results import FrameResult
from .sinks import StreamFormat

MAX_DATAGRAM = 65_000  # bytes: above this a bundle cannot go in one UDP datagram; it is split per person


def parse_host_port(text: str, default_host: str = "127.0.0.1", any_port: bool = False) -> tuple[str, int]:
    """``HOST:PORT`` or ``PORT`` → (host, port); ``StudioError`` in one line otherwise. ``any_port``: a server's
    port 0 (the system picks a free one) is accepted."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise StudioError(f"{text!r} is not HOST:PORT or PORT (e.g. 127.0.0.1:9000)") from None
    if not (0 if any_port else 1) <= number < 65536:
        raise StudioError(f"port {number} is out of range ({0 if any_port else 1}-65535)")
    return (host.strip("[]") or default_host), number


class OscSink:
    def __init__(self, host: str, port: int, fmt: StreamFormat):
        try:
            from pythonosc.udp_client import UDPClient
        except ImportError:
            raise StudioError("--osc needs python-osc, an optional part: pip install 'hrnet-studio[stream]'") from None
        self.label = f"OSC {host}:{port}"
        self.fmt = fmt
        try:
            self._client = UDPClient(host, port)
        except OSError as exc:  # a host name that does not resolve
            raise StudioError(f"OSC: cannot send to {host}:{port}: {exc.strerror or exc}") from None
        self._wall_minus_monotonic = time.time() - time.monotonic()
        self.sent = 0

    def send(self, result: FrameResult, sent_time: float) -> None:
        from pythonosc.osc_bundle_builder import OscBundleBuilder

        capture = result.capture_time if result.capture_time is not None else sent_time
        messages = [_message("/pose/frame", [(result.frame_index, "i"), (capture, "d"), (sent_time, "d"),
                                             (len(result.persons), "i")])]
        for slot, person in enumerate(result.persons):
            pid = person.track_id if person.track_id >= 0 else slot
            (x1, y1), (x2, y2) = self.fmt.xy(*person.bbox[:2]), self.fmt.xy(*person.bbox[2:])
            messages.append(_message(f"/pose/person/{pid}", [(float(v), "f") for v in
                                                              (x1, y1, x2, y2, person.box_score)]))
            for name, xy, score in zip(self.fmt.keypoints.names, person.keypoints, person.scores):
                x, y = self.fmt.xy(*xy)
                messages.append(_message(f"/pose/person/{pid}/{name}",
                                         [(float(x), "f"), (float(y), "f"), (float(score), "f")]))
            for part, landmarks in self.fmt.parts:
                found = person.parts.get(part)
                if found is None:
                    continue
                (x1, y1), (x2, y2) = self.fmt.xy(*found.bbox[:2]), self.fmt.xy(*found.bbox[2:])
                messages.append(_message(f"/pose/person/{pid}/{part}", [(float(v), "f") for v in (x1, y1, x2, y2)]))
                names = range(landmarks.num_joints) if part == "face" else landmarks.names
                for name, xy, score in zip(names, found.keypoints, found.scores):
                    x, y = self.fmt.xy(*xy)
                    messages.append(_message(f"/pose/person/{pid}/{part}/{name}",
                                             [(float(x), "f"), (float(y), "f"), (float(score), "f")]))
        timetag = capture + self._wall_minus_monotonic
        for group in _datagrams(messages):
            bundle = OscBundleBuilder(timetag)
            for message in group:
                bundle.add_content(message)
            self._client.send(bundle.build())
        self.sent += 1

    def state(self) -> str:
        return f"{self.sent} bundles sent"

    def close(self) -> None:
        sock = getattr(self._client, "_sock", None)  # python-osc's client has no close of its own
        if sock is not None:
            sock.close()


def _message(address: str, args: list[tuple[object, str]]):
    from pythonosc.osc_message_builder import OscMessageBuilder

    builder = OscMessageBuilder(address=address)
    for value, kind in args:
        builder.add_arg(value, kind)
    return builder.build()


def _datagrams(messages: list) -> list[list]:
    """The messages in groups that each fit one UDP datagram (a crowd of people can exceed one)."""
    groups, size = [[]], 16
    for message in messages:
        if groups[-1] and size + message.size + 4 > MAX_DATAGRAM:
            groups.append([])
            size = 16
        groups[-1].append(message)
        size += message.size + 4
    return groups
