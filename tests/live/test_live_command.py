"""``hrnet-studio live`` as a user runs it: recordings with capture times, a summary, one-line refusals, a clean stop."""
import json
import socket
import sys
import threading

import pytest
from helpers import read_csv, run_cli

from hrnet_studio.inference.factory import build_pipeline
from hrnet_studio.inference.options import PipelineChoice, PipelineOptions
from hrnet_studio.live.session import LiveRun
from hrnet_studio.live.sinks import Streams
from hrnet_studio.sources.live import open_live

CLIP = "single_person_taichi_340x256.mp4"


def live(capsys, videos, model, *extra):
    return run_cli(capsys, "live", videos / CLIP, "--model", model, "--detector", "none", "--device", "cpu",
                   "--backend", "torch", *extra)


def test_live_records_with_capture_times_and_ends_with_a_summary(capsys, videos, small_checkpoint_96x128, tmp_path,
                                                                 models_home):
    out, entries = tmp_path / "live.csv", tmp_path / "live.json"
    code, _, err = live(capsys, videos, small_checkpoint_96x128, "--csv", out, "--json", entries, "--max-frames", 8)
    assert code == 0, err
    assert f"live: {CLIP} (played at its own pace) (340x256); streams: none" in err
    assert "8 frames in" in err and "latency median" in err and "(8 frames)" in err and "Traceback" not in err
    assert f"wrote {out}" in err and f"wrote {entries}" in err
    header, rows = read_csv(out)
    assert header[-1] == "capture_time" and len(rows) == 8
    times = [float(r[-1]) for r in rows]
    assert times == sorted(times) and len(set(times)) == 8
    assert [round(e["capture_time"], 6) for e in json.loads(entries.read_text())] == times


def test_stream_settings_that_cannot_work_are_one_line(capsys, videos, small_checkpoint_96x128, tmp_path,
                                                       models_home, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = live(capsys, videos, small_checkpoint_96x128, "--ws", port, "--csv", tmp_path / "a.csv")
    assert code != 0 and f"error: WebSocket port {port} on 127.0.0.1 is in use" in err and "Traceback" not in err
    assert not (tmp_path / "a.csv").exists()
    code, _, err = live(capsys, videos, small_checkpoint_96x128, "--osc", "somewhere")
    assert code != 0 and "'somewhere' is not HOST:PORT or PORT (e.g. 127.0.0.1:9000)" in err
    monkeypatch.setitem(sys.modules, "pythonosc.udp_client", None)  # as if the stream extra were not installed
    code, _, err = live(capsys, videos, small_checkpoint_96x128, "--osc", "127.0.0.1:9000")
    assert code != 0 and "--osc needs python-osc, an optional part: pip install 'hrnet-studio[stream]'" in err
    code, _, err = run_cli(capsys, "live", tmp_path, "--model", small_checkpoint_96x128, "--detector", "none")
    assert code != 0 and "is a folder: live reads a camera, a stream or a video file" in err
    code, _, err = live(capsys, videos, small_checkpoint_96x128, "--seconds", 0)
    assert code != 0 and "--seconds must be more than 0" in err
    for value, message in (("soon", "predict: expected auto or milliseconds (e.g. 100), got 'soon'"),
                           ("5000", "predict: milliseconds must be from 0 to 1000, got 5000")):
        code, _, err = live(capsys, videos, small_checkpoint_96x128, "--predict", value, "--ws", 0)
        assert code != 0 and message in err and "Traceback" not in err
    code, _, err = live(capsys, videos, small_checkpoint_96x128, "--csv", tmp_path / "gone" / "a.csv", "--ws", 0)
    assert code != 0 and f"error: output folder does not exist: {tmp_path / 'gone'}" in err  # the server closed


def test_a_stop_request_ends_the_run_after_the_frame_in_hand_with_its_recording(videos, small_checkpoint_96x128,
                                                                                 tmp_path):
    """What Ctrl-C does in ``live``: the run stops between frames; the recording holds every frame processed."""
    choice = PipelineChoice(model=str(small_checkpoint_96x128), detector="none", device="cpu", backend="torch")
    pipeline, _ = build_pipeline(choice, PipelineOptions.live(), say=lambda line: None)
    going = threading.Event()
    run = LiveRun(open_live(videos / CLIP), pipeline, Streams([]), csv=tmp_path / "s.csv",
                  status=lambda line: going.set())
    stopper = threading.Thread(target=lambda: going.wait(60) and run.stop())
    stopper.start()
    summary = run.run()
    stopper.join()
    assert summary.ended == "stopped" and not summary.failed and summary.frames >= 1
    _, rows = read_csv(tmp_path / "s.csv")
    assert len(rows) == summary.frames


UNREACHABLE = "rtsp://127.0.0.1:9/none"  # the discard port: nothing answers there


@pytest.mark.parametrize("spec, message", [("7", "camera 7 cannot be opened"),
                                           (UNREACHABLE, f"stream {UNREACHABLE} cannot be opened")])
def test_a_camera_or_stream_that_cannot_be_opened_is_one_line(capsys, spec, message, small_checkpoint_96x128):
    code, _, err = run_cli(capsys, "live", spec, "--model", small_checkpoint_96x128, "--detector", "none")
    assert code != 0 and message in err and "Traceback" not in err
