"""``hrnet-studio live``: the app's live pipeline without a window, its poses recorded and streamed as they happen
(OSC, WebSocket, Lab Streaming Layer)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from ..errors import EXIT_ERROR, StudioError
from ..inference.options import PipelineOptions
from ..live.options import LSL_NAME
from .common import add_pipeline_arguments, open_pipeline, say


def add_live_parser(sub) -> None:
    live = sub.add_parser(
        "live", help="run the live pipeline without a window: poses recorded and streamed (OSC, WebSocket, LSL)",
        description="Estimate poses on a camera, a stream or a video played at its own pace, newest frame first (as "
                    "the app's live view does), and send every frame's poses to receivers as they happen. One status "
                    "line shows frames/s, persons, latency, dropped frames and the receivers; Ctrl-C ends the run "
                    "with a summary, recordings kept.")
    live.add_argument("source", help="a camera index (0), a stream URL (rtsp://…, http://…) or a video file")
    out = live.add_argument_group("recordings (written whole at the end, as exports are)")
    out.add_argument("--csv", type=Path, metavar="FILE", help="the keypoints table, with each frame's capture_time")
    out.add_argument("--json", type=Path, metavar="FILE", help="COCO-results JSON, with each frame's capture_time")
    streams = live.add_argument_group("streams (see the guide's live page for the messages)")
    streams.add_argument("--osc", metavar="HOST:PORT", help="OSC bundles over UDP, one per frame")
    streams.add_argument("--ws", metavar="[HOST:]PORT",
                         help="a WebSocket server; each client gets one JSON message per frame (host 127.0.0.1 "
                              "unless given; port 0: a free one, shown in the status)")
    streams.add_argument("--lsl", nargs="?", const=LSL_NAME, metavar="NAME",
                         help=f"a Lab Streaming Layer outlet (stream name; default {LSL_NAME})")
    streams.add_argument("--normalized", action="store_true",
                         help="stream coordinates in 0-1 of the frame instead of pixels")
    streams.add_argument("--predict", metavar="auto|MS",
                         help="send each tracked person's joints where they will be: moved ahead by the frame's "
                              "latency (auto) or MS milliseconds, by a constant-velocity Kalman filter per joint "
                              "(recordings keep the measured joints; off by default)")
    end = live.add_argument_group("when to end (default: at the source's end, or Ctrl-C)")
    end.add_argument("--max-frames", type=int, metavar="N", help="after this many frames")
    end.add_argument("--seconds", type=float, metavar="S", help="after this many seconds")
    add_pipeline_arguments(live, PipelineOptions.live())
    live.set_defaults(func=cmd_live)


def cmd_live(args: argparse.Namespace) -> int:
    from ..live.options import (
        StreamOptions,
        open_streams,
        stream_parts,
        stream_predictor,
    )
    from ..live.session import LiveLimits, LiveRun
    from ..live.sinks import StreamFormat, Streams
    from ..sources.live import open_live

    for flag, value in (("--max-frames", args.max_frames), ("--seconds", args.seconds)):
        if value is not None and value <= 0:
            raise StudioError(f"{flag} must be more than 0")
    source = open_live(args.source)
    try:
        _, _, pipeline, _ = open_pipeline(args, live=True)
        probe = source.read()  # the first frame: its size goes into the streams' descriptions
        if probe is None:
            raise StudioError(f"{source.name} gave no frame")
        height, width = probe.image.shape[:2]
        fmt = StreamFormat(pipeline.keypoints, width, height, args.normalized, stream_parts(pipeline))
        wanted = StreamOptions(args.osc, args.ws, args.lsl, args.normalized, args.predict)
        predict = stream_predictor(wanted)  # a bad value is refused before any stream opens
        streams = Streams(open_streams(wanted, fmt), predict)
    except BaseException:
        source.close()
        raise
    try:  # a recording that cannot be written (no permission, a folder gone) is refused before anything runs
        run = LiveRun(source, pipeline, streams, csv=args.csv, json=args.json,
                      limits=LiveLimits(args.max_frames, args.seconds), status=StatusLine(), first=probe)
    except BaseException:
        streams.close()
        source.close()
        raise
    say(f"live: {source.name} ({width}x{height}); streams: {streams.status() or 'none'}")
    previous = _stop_on_ctrl_c(run)
    try:
        summary = run.run()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        StatusLine.end()
    say(summary.describe())
    for path in summary.written:
        say(f"wrote {path}")
    if summary.failed:
        say(f"error: {summary.ended}")
        return EXIT_ERROR
    return 0


def _stop_on_ctrl_c(run):
    """Ctrl-C asks the run to end after the frame in hand (recordings kept, summary said); a second one interrupts."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        if run.stop_event.is_set():
            raise KeyboardInterrupt
        run.stop()

    return signal.signal(signal.SIGINT, handler)


class StatusLine:
    """One line on stderr, redrawn in place on a terminal; a new line each time elsewhere (a log file)."""

    shown = False

    def __call__(self, line: str) -> None:
        if sys.stderr.isatty():
            sys.stderr.write("\r" + line + "\033[K")
            StatusLine.shown = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    @staticmethod
    def end() -> None:
        if StatusLine.shown:
            sys.stderr.write("\n")
            StatusLine.shown = False
