"""Every job and thread can stop: closing the window during each kind of job ends it within a bound and leaves no
half-written file; a thread that outlives its wait is never destroyed while it runs; a recording whose writer fails
ends at once with a message; a file or folder the system refuses is a message, not a traceback.
(Closing the window during a training run: ``test_training_stop.py``.)"""
from __future__ import annotations

import hashlib
import json
import shutil
import threading

import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QProgressDialog

from hrnet_studio.atomic_writer import WriteError
from hrnet_studio.export.overlay_video import OverlayVideoExporter
from hrnet_studio.gui.common import shutdown
from hrnet_studio.gui.live.recorder import OverlayRecorder

GYM = "two_people_basketball_gym_426x240.mp4"


def failing_writes(monkeypatch, after: int) -> None:
    """Every overlay write after the first ``after`` fails, as on a full disk."""
    real = OverlayVideoExporter.write_frame

    def write_frame(self, frame):
        if self.frames >= after:
            raise WriteError(self.path, "no space left on device")
        real(self, frame)

    monkeypatch.setattr(OverlayVideoExporter, "write_frame", write_frame)


def test_a_failing_recorder_never_blocks_and_says_why(qtbot, tmp_path, monkeypatch):
    failing_writes(monkeypatch, after=2)
    recorder = OverlayRecorder(tmp_path / "rec.mp4", 30.0, (64, 48), depth=4)
    image = QImage(64, 48, QImage.Format.Format_RGB888)
    image.fill(0)
    with qtbot.waitSignal(recorder.signals.failed, timeout=30_000) as failed:
        for _ in range(200):  # far more than the queue holds: add never waits
            recorder.add(image)
    assert "no space left on device" in failed.args[0] and recorder.written == 2
    finished = threading.Event()
    errors = []

    def finish():
        try:
            recorder.finish()
        except Exception as exc:  # noqa: BLE001 — what finish says is the test
            errors.append(str(exc))
        finished.set()

    threading.Thread(target=finish, daemon=True).start()
    assert finished.wait(120), "finish() hung on a recorder whose writer had failed"
    assert errors and "no space left on device" in errors[0]
    assert list(tmp_path.iterdir()) == []  # neither the recording nor its part file


def test_a_recording_that_fails_in_the_app_ends_at_once_with_a_message(qtbot, window, videos, tmp_path, monkeypatch):
    failing_writes(monkeypatch, after=3)
    window.sources.open_path(videos / GYM)
    qtbot.waitUntil(lambda: window.view.image is not None, timeout=30_000)
    qtbot.keyClick(window, Qt.Key.Key_R)  # Record overlay video
    assert window.record_action.isChecked()
    qtbot.waitUntil(lambda: not window.record_action.isChecked(), timeout=60_000)
    assert window.outputs.recorder is None
    assert any("the recording stopped and was not saved" in e and "no space left on device" in e
               for e in window.errors)
    assert not list((tmp_path / "shots").glob("*.mp4")) and not list((tmp_path / "shots").glob(".*"))


class Stubborn(QThread):
    """A job that does not stop when asked until ``release`` is set."""

    def __init__(self):
        super().__init__()
        self.setObjectName("stubborn")
        self.release = threading.Event()
        self.asked = False

    def cancel(self) -> None:
        self.asked = True

    def run(self) -> None:
        self.release.wait(120)


def test_a_thread_that_outlives_its_wait_is_kept_not_destroyed(qtbot, monkeypatch):
    monkeypatch.setattr(shutdown, "STOP_WAIT_MS", 50)
    thread = Stubborn()
    thread.start()
    assert not shutdown.stop_thread(thread) and thread.asked
    assert shutdown.left_running() == ["stubborn"] and thread.parent() is None
    del thread  # the caller lets go: the thread is still referenced, so Qt does not destroy it while it runs
    kept = shutdown._left[0]
    kept.release.set()
    qtbot.waitUntil(lambda: shutdown.left_running() == [], timeout=30_000)
    assert shutdown.stop_thread(kept)  # ended: nothing to wait for


def test_closing_the_window_during_a_job_that_will_not_stop_returns(qtbot, window, monkeypatch):
    monkeypatch.setattr(shutdown, "STOP_WAIT_MS", 50)
    stubborn = Stubborn()
    stubborn.start()
    window.outputs.export_job = stubborn
    window.close()
    assert not window.isVisible() and shutdown.left_running() == ["stubborn"]
    stubborn.release.set()
    qtbot.waitUntil(lambda: shutdown.left_running() == [], timeout=30_000)


@pytest.fixture
def served_model(file_server, small_checkpoint, tmp_path, monkeypatch):
    """A zoo whose one model is served slowly from this machine: a download that is still running when asked."""
    from local_http import Behaviour

    blob = small_checkpoint.read_bytes()
    file_server.files["slow.pth"] = blob
    file_server.behaviour["slow.pth"] = Behaviour(stall_s=1.0)
    zoo = tmp_path / "zoo.json"
    zoo.write_text(json.dumps({"models": [
        {"name": "hrnet_w8_slow_256x192", "kind": "pose", "title": "W8", "arch": "hrnet_w8", "input_size": [192, 256],
         "keypoints": "coco17", "size_bytes": len(blob),
         "sources": [{"url": file_server.url("slow.pth"), "sha256": hashlib.sha256(blob).hexdigest()}]}]}))
    monkeypatch.setenv("HRNET_STUDIO_ZOO", str(zoo))
    return "hrnet_w8_slow_256x192"


def start(kind: str, window, qtbot, videos, tmp_path, request):
    """Start a job of ``kind`` the way the app does, and return it once it is running."""
    video = videos / GYM
    if kind == "export":
        job = window.outputs.start_export(tmp_path / "gym.csv", None, tmp_path / "gym.mp4")
        qtbot.waitUntil(lambda: window.outputs.export_dialog.value() >= 2, timeout=60_000)
    elif kind == "suggestions":
        job = window.review.start_suggestions()
        qtbot.waitUntil(lambda: window.review.panel.progress.value() >= 2, timeout=60_000)
    elif kind == "quantize":
        window.quantize_flow.start(sources=[video])
        job = window.quantize_flow.job
        dialog = window.findChild(QProgressDialog, "quantizeProgress")
        qtbot.waitUntil(lambda: dialog.value() >= 1, timeout=120_000)  # calibrating (the export before it is one call)
    elif kind == "batch":
        footage = tmp_path / "footage"
        footage.mkdir()
        shutil.copy(video, footage / GYM)
        dialog = window.outputs.open_batch_export()
        dialog.add_inputs([footage])
        dialog.out_edit.setText(str(tmp_path / "out"))
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.job is not None and dialog.table.item(0, 1).text() not in ("", "0%"),
                        timeout=60_000)
        job = dialog.job
    elif kind == "import":
        copy = tmp_path / "pose_hrnet_w8_256x192.pth"
        shutil.copy(request.getfixturevalue("small_checkpoint"), copy)
        job = window.models.import_file(copy)
    elif kind == "download":
        job = window.models.download(request.getfixturevalue("served_model"))
    elif kind == "recording":
        qtbot.keyClick(window, Qt.Key.Key_R)
        recorder = window.outputs.recorder
        qtbot.waitUntil(lambda: recorder.written >= 3, timeout=30_000)
        return recorder
    return job


@pytest.mark.parametrize("kind", ["export", "suggestions", "quantize", "batch", "import", "download", "recording"])
def test_closing_the_window_stops_each_kind_of_job(qtbot, window, videos, tmp_path, request, kind):
    clips = tmp_path / "clips"  # a copy: review suggestions are saved beside the video, not in the shared assets
    clips.mkdir()
    shutil.copy(videos / GYM, clips / GYM)
    window.sources.open_path(clips / GYM)
    qtbot.waitUntil(lambda: window.view.image is not None, timeout=30_000)
    if kind != "recording":
        window.sources.set_playing(False)
    job = start(kind, window, qtbot, clips, tmp_path, request)
    window.close()
    assert shutdown.left_running() == []
    if kind == "recording":
        saved = list((tmp_path / "shots").glob("*.mp4"))
        assert len(saved) == 1 and job.written >= 3  # the recording is kept, whole
    else:
        assert job.isFinished(), kind
    hidden = [p for p in tmp_path.rglob(".*") if p.is_file() and "user-models" not in p.parts]
    assert hidden == [], hidden  # no half-written output anywhere (a download's part is kept to resume)
    assert window.worker_thread.isFinished()


def test_a_folder_the_system_refuses_is_a_message(qtbot, window, tmp_path, monkeypatch):
    from hrnet_studio.sources import live as live_sources

    folder = tmp_path / "locked"
    folder.mkdir()

    def refuse(self, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(live_sources.ImageFolderSource, "__init__", refuse)
    assert not window.sources.open_path(folder)  # File ▸ Open image folder…, Open recent, a dropped folder
    assert window.errors[-1] == f"cannot open {folder}: permission denied"


def test_an_error_no_slot_caught_is_a_message_in_the_window(qtbot, window, capsys):
    from hrnet_studio.gui.app import report_in

    report = report_in(window)
    report(PermissionError, PermissionError(13, "Permission denied", "/mnt/share/clip.mp4"), None)
    assert window.errors[-1] == "that action failed: /mnt/share/clip.mp4: permission denied"
    assert capsys.readouterr().err == ""  # the user's own trouble: no traceback
    try:
        raise ValueError("a bug")
    except ValueError as exc:
        report(ValueError, exc, exc.__traceback__)
    assert window.errors[-1].startswith("unexpected error (ValueError): a bug")
    assert "Traceback" in capsys.readouterr().err  # kept for the bug report
