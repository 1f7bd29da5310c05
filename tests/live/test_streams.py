"""Poses streamed as they happen, to real receivers on this machine: a python-osc server, websockets clients and a
pylsl inlet, each checked against the CSV the same run recorded (frames, persons, joints, capture times).

Lab Streaming Layer here stays on this machine: discovery on the loopback only, IPv4, quiet. liblsl reads its
configuration once, when first used, so it is set before pylsl is imported. (liblsl has no setting for the address
its outlets' data sockets bind to; with discovery confined to the machine no other host finds them.)"""
import atexit
import csv
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

_lsl = Path(tempfile.mkdtemp(prefix="hrnet-studio-lsl-"))
atexit.register(shutil.rmtree, _lsl, ignore_errors=True)
(_lsl / "lsl_api.cfg").write_text("[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n"
                                  "ListenAddress = 127.0.0.1\n[log]\nlevel = -2\n")
os.environ["LSLAPICFG"] = str(_lsl / "lsl_api.cfg")

import numpy as np
import pytest
from helpers import read_csv

from hrnet_studio.export.table import read_table
from hrnet_studio.inference.factory import build_pipeline
from hrnet_studio.inference.options import PipelineChoice, PipelineOptions
from hrnet_studio.live.options import stream_parts
from hrnet_studio.live.session import LiveLimits, LiveRun
from hrnet_studio.live.sinks import StreamFormat, Streams
from hrnet_studio.sources.live import open_live

osc_server = pytest.importorskip("pythonosc.osc_server", reason="the stream extra: pip install 'hrnet-studio[stream]'")
pytest.importorskip("websockets", reason="the stream extra: pip install 'hrnet-studio[stream]'")
pylsl = pytest.importorskip("pylsl", reason="the stream extra: pip install 'hrnet-studio[stream]'")
from pythonosc.dispatcher import Dispatcher
from websockets.sync.client import connect

from hrnet_studio.live.lsl import LslSink
from hrnet_studio.live.osc import OscSink
from hrnet_studio.live.websocket import WebSocketSink

CLIP = "single_person_taichi_340x256.mp4"
FRAMES = 20


class OscReceiver:
    """A python-osc server on 127.0.0.1 (a free port) that keeps every message, in its own thread."""

    def __init__(self):
        self.messages = []
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(lambda address, *args: self.messages.append((address, args)))
        self.server = osc_server.ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class WsReceiver(threading.Thread):
    """A websockets client that keeps every message until the server closes, or leaves after ``leave_after``."""

    def __init__(self, port, leave_after=None):
        super().__init__(daemon=True)
        self.port, self.leave_after = port, leave_after
        self.messages, self.connected = [], threading.Event()

    def run(self):
        from websockets.exceptions import ConnectionClosed

        with connect(f"ws://127.0.0.1:{self.port}") as ws:
            self.connected.set()
            try:
                for text in ws:
                    self.messages.append(json.loads(text))
                    if self.leave_after and len(self.messages) >= self.leave_after:
                        return
            except ConnectionClosed:
                pass


class KeptOpen:
    """A sink the run does not close: the test reads what its receiver holds first (an LSL inlet whose outlet is gone
    tries to reconnect instead of handing over what it holds)."""

    def __init__(self, sink):
        self.sink, self.label = sink, sink.label

    def send(self, result, sent_time):
        self.sink.send(result, sent_time)

    def state(self):
        return self.sink.state()

    def close(self):
        pass


@pytest.fixture
def pipeline(small_checkpoint_96x128):
    choice = PipelineChoice(model=str(small_checkpoint_96x128), detector="none", device="cpu", backend="torch")
    pipeline, _ = build_pipeline(choice, PipelineOptions.live(), say=lambda line: None)
    return pipeline


def test_every_stream_sends_what_the_recording_holds(pipeline, videos, tmp_path):
    source = open_live(videos / CLIP)
    first = source.read()
    fmt = StreamFormat(pipeline.keypoints, first.image.shape[1], first.image.shape[0])
    osc = OscReceiver()
    sinks = [OscSink("127.0.0.1", osc.port, fmt), WebSocketSink("127.0.0.1", 0, fmt), LslSink("pose-test", fmt)]
    web, lsl = sinks[1], sinks[2]
    staying, leaving = WsReceiver(web.port), WsReceiver(web.port, leave_after=3)  # one leaves mid-run
    for client in (staying, leaving):
        client.start()
        assert client.connected.wait(10)
    inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", "pose-test", timeout=10)[0])
    inlet.open_stream(timeout=10)
    assert lsl._outlet.wait_for_consumers(10)
    lines = []
    streams = Streams([sinks[0], sinks[1], KeptOpen(lsl)])
    run = LiveRun(source, pipeline, streams, csv=tmp_path / "live.csv", limits=LiveLimits(max_frames=FRAMES),
                  status=lines.append, first=first)
    summary = run.run()
    staying.join(10)
    leaving.join(10)
    osc.stop()
    assert summary.frames == FRAMES and summary.ended == f"{FRAMES} frames" and not summary.failed
    assert len(summary.latency_ms) == FRAMES and all(ms >= 0 for ms in summary.latency_ms)

    layout, rows = read_table(tmp_path / "live.csv", pipeline.keypoints)
    assert layout.captured and len({r.frame for r in rows}) == FRAMES
    recorded = {(r.frame, r.person_id): r for r in rows}
    captures = [r.capture_time for r in rows]
    assert np.all(np.diff(captures) > 0)  # one person a frame here: capture times rise row by row

    # WebSocket: the hello, then one message per frame sent while connected (a slow client loses frames, counted)
    hello, *frames = staying.messages
    assert hello["type"] == "hello" and hello["names"] == list(pipeline.keypoints.names)
    assert hello["width"] == 340 and [list(e) for e in pipeline.keypoints.edges] == hello["skeleton"]
    assert len(frames) >= FRAMES // 2 and all(m["type"] == "frame" for m in frames)
    assert np.all(np.diff([m["capture_time"] for m in frames]) > 0)
    for message in frames:
        for person in message["persons"]:
            row = recorded[(message["frame"], person["id"])]
            np.testing.assert_allclose(np.array(person["keypoints"])[:, :2], row.xy, atol=0.006)
            np.testing.assert_allclose(message["capture_time"], row.capture_time, atol=1e-6)
            assert message["sent_time"] >= message["capture_time"]
    assert len(leaving.messages) == 3  # it left; the run went on

    # OSC: one bundle per frame; the joints by name, the box, the frame's times
    frame_messages = [args for address, args in osc.messages if address == "/pose/frame"]
    assert [int(a[0]) for a in frame_messages] == sorted({r.frame for r in rows})
    for index, capture, sent, persons in frame_messages:
        assert persons == 1 and sent >= capture
        assert capture == pytest.approx(recorded[(index, 1)].capture_time, abs=1e-6)
    nose = [args for address, args in osc.messages if address == "/pose/person/1/nose"]
    np.testing.assert_allclose(nose, [[*recorded[(i, 1)].xy[0], recorded[(i, 1)].scores[0]]
                                      for i, *_ in frame_messages], atol=0.006)

    # LSL: one sample per person, stamped with the capture time on LSL's clock; channel 0 the person ID
    samples, stamps = inlet.pull_chunk(timeout=5, max_samples=1000)
    inlet.close_stream()
    lsl.close()
    assert len(samples) == len(rows)
    np.testing.assert_allclose(stamps, captures, atol=1e-3)
    np.testing.assert_allclose(np.array(samples)[:, 6:8], [r.xy[0] for r in rows], atol=0.01)  # the nose
    channels = inlet.info().desc().child("channels")
    assert channels.first_child().child_value("label") == "person_id"
    assert channels.last_child().child_value("label") == "right_ankle_score"
    assert lines and "frames/s" in lines[-1] and "latency" in lines[-1] and "WebSocket" in lines[-1]


def test_a_stream_that_fails_is_retried_and_never_stops_the_run(pipeline, videos, tmp_path):
    class Unplugged:
        label = "OSC 192.0.2.1:9000"  # a receiver gone: every send fails

        def send(self, result, sent_time):
            raise OSError(101, "Network is unreachable")

        def state(self):
            return "sending"

        def close(self):
            pass

    streams = Streams([Unplugged()])
    source = open_live(videos / CLIP)
    summary = LiveRun(source, pipeline, streams, csv=tmp_path / "p.csv", limits=LiveLimits(max_frames=5)).run()
    assert summary.frames == 5 and streams.health[id(streams.sinks[0])].failed == 5
    assert streams.status() == "OSC 192.0.2.1:9000 retrying: [Errno 101] Network is unreachable"
    header, rows = read_csv(tmp_path / "p.csv")
    assert len(rows) == 5 and header[-1] == "capture_time"


def test_faces_and_hands_go_to_every_stream_and_beside_the_recording(small_checkpoint_96x128, landmark_files, videos,
                                                                    tmp_path, models_home):
    choice = PipelineChoice(model=str(small_checkpoint_96x128), detector="none", device="cpu", backend="torch",
                            face_model=str(landmark_files["face"]), hand_model=str(landmark_files["hand"]))
    pipeline, _ = build_pipeline(choice, PipelineOptions.live(), say=lambda line: None, live=True)
    source = open_live(videos / CLIP)
    first = source.read()
    fmt = StreamFormat(pipeline.keypoints, 340, 256, parts=stream_parts(pipeline))
    osc = OscReceiver()
    web = WebSocketSink("127.0.0.1", 0, fmt)
    client = WsReceiver(web.port)
    client.start()
    assert client.connected.wait(10)
    run = LiveRun(source, pipeline, Streams([OscSink("127.0.0.1", osc.port, fmt), web]), csv=tmp_path / "live.csv",
                  limits=LiveLimits(max_frames=4), first=first)
    assert run.run().frames == 4
    client.join(10)
    osc.stop()

    parts = {(int(r["frame"]), int(r["person_id"])): r for r in csv.DictReader((tmp_path / "live.wholebody.csv").open())}
    assert len(parts) == 4  # one person a frame, beside the body rows
    hello, *frames = client.messages
    assert list(hello["parts"]) == ["face", "left_hand", "right_hand"] and len(hello["parts"]["face"]["names"]) == 68
    seen = 0
    for message in frames:
        for person in message["persons"]:
            row = parts[(message["frame"], person["id"])]
            assert sorted(person["parts"]) == sorted(p for p in hello["parts"] if row[f"{p}_box_x1"] != "")
            for part, found in person["parts"].items():
                labels = [f"face_{i}" for i in range(68)] if part == "face" else \
                    [f"{part}_{n}" for n in hello["parts"][part]["names"]]
                np.testing.assert_allclose(np.array(found["keypoints"])[:, :2],
                                           [[float(row[f"{lb}_x"]), float(row[f"{lb}_y"])] for lb in labels], atol=0.006)
                seen += 1
    assert seen >= 2  # some parts were seen (the random body model's joints are sure enough for some)
    face_points = [address for address, _ in osc.messages if address.startswith("/pose/person/1/face/")]
    hand_wrists = [address for address, _ in osc.messages if address == "/pose/person/1/left_hand/wrist"]
    assert len(face_points) == 68 * sum(row["face_box_x1"] != "" for row in parts.values())
    assert len(hand_wrists) == sum(row["left_hand_box_x1"] != "" for row in parts.values())


def test_with_prediction_the_streams_get_each_joint_where_it_will_be_and_the_recording_what_was_measured():
    from hrnet_studio.inference.prediction import PredictAhead
    from hrnet_studio.inference.results import FrameResult, PersonPose

    class Kept:
        label = "kept"

        def __init__(self):
            self.results = []

        def send(self, result, sent_time):
            self.results.append(result)

        def state(self):
            return ""

        def close(self):
            pass

    sink = Kept()
    streams = Streams([sink], PredictAhead(0.1))  # 100 ms ahead
    start = np.tile([[100.0, 200.0]], (17, 1))
    measured = []
    for i in range(30):  # a person walking right at 300 px/s, 30 frames/s; one joint unsure
        scores = np.full(17, 0.9, np.float32)
        scores[5] = 0.05
        person = PersonPose(np.array([80, 100, 200, 400], np.float32), 0.9,
                            (start + [300.0 * i / 30, 0]).astype(np.float32), scores, track_id=3)
        measured.append(person.keypoints.copy())
        streams.send(FrameResult(i, i / 30, [person], capture_time=1000 + i / 30))
    sent = sink.results[-1].persons[0]
    np.testing.assert_allclose(sent.keypoints[0], measured[-1][0] + [30, 0], atol=1.5)  # 300 px/s × 0.1 s ahead
    np.testing.assert_array_equal(sent.keypoints[5], measured[-1][5])  # unsure: as measured
    assert sent.track_id == 3
    untracked = PersonPose(np.array([0, 0, 10, 10], np.float32), 0.9, measured[0], np.ones(17, np.float32))
    streams.send(FrameResult(30, 1.0, [untracked], capture_time=1001.0))
    np.testing.assert_array_equal(sink.results[-1].persons[0].keypoints, measured[0])  # no track: as measured
