"""A failed write is an error, never a file that looks complete.

Two ways in: a real tiny filesystem that fills up (a 64 KiB tmpfs, where the test may mount one), and an
``OSError(ENOSPC)`` injected at the atomic writer's flush, which every writer passes through and which
always runs.
"""
import errno
import subprocess
from pathlib import Path

import pytest
import torch

from hrnet_studio import atomic_writer
from hrnet_studio.atomic_writer import WriteError, copy_file, torch_save, write_text
from hrnet_studio.cli.main import main
from hrnet_studio.export.overlay_video import OverlayVideoExporter

VIDEO = "single_person_taichi_340x256.mp4"


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def visible_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def disk_full(monkeypatch):
    """Every flush to disk through the atomic writer fails as a full disk does."""

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_writer, "flush_to_disk", full)


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 64 KiB filesystem (tmpfs); skipped where this process may not mount one."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root and mount rights): {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


# ----- the writer itself ----------------------------------------------------------------------------
def test_a_failed_write_leaves_the_previous_file_and_no_part(tmp_path, disk_full):
    target = tmp_path / "model.pth"
    target.write_bytes(b"the previous, complete file")
    with pytest.raises(WriteError, match=f"cannot write {target}: no space left on device"):
        torch_save({"w": torch.zeros(4)}, target)
    with pytest.raises(WriteError, match="no space left on device"):
        write_text(tmp_path / "notes.txt", "hello")
    with pytest.raises(WriteError, match="no space left on device"):
        copy_file(target, tmp_path / "copy.pth")
    assert target.read_bytes() == b"the previous, complete file"
    assert visible_files(tmp_path) == ["model.pth"]  # no part files, nothing half-written


def test_torch_save_on_a_full_filesystem_names_the_cause(tiny_fs):
    with pytest.raises(WriteError, match="no space left on device"):
        torch_save({"w": torch.zeros(100_000)}, tiny_fs / "big.pth")
    assert visible_files(tiny_fs) == []


def test_a_video_writer_that_drops_frames_is_caught(tmp_path):
    import numpy as np

    exporter = OverlayVideoExporter(tmp_path / "overlay.mp4", 25.0, (64, 48))

    class Dropping:  # an encoder that silently stores only every other frame
        def __init__(self, writer):
            self.writer, self.calls = writer, 0

        def write(self, frame):
            self.calls += 1
            if self.calls % 2:
                self.writer.write(frame)

        def release(self):
            self.writer.release()

    exporter._writer = Dropping(exporter._writer)
    for _ in range(10):
        exporter.write_frame(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(WriteError, match="the encoder stored 5 of 10 frames"):
        exporter.commit()
    assert visible_files(tmp_path) == []


# ----- the export, as a user runs it ------------------------------------------------------------------
def test_export_to_a_full_disk_fails_and_leaves_no_video(capsys, tiny_fs, videos, small_checkpoint_96x128, tmp_path):
    # 720p: far more than 64 KiB even in H.264
    code, _, err = run_cli(capsys, "export", videos / "street_crowd_1280x720.avi", "-o", tmp_path / "poses.csv",
                           "--video", tiny_fs / "overlay.mp4", "--model", small_checkpoint_96x128, "--detector", "none",
                           "--max-frames", 40, "--device", "cpu")
    assert code == 2
    last = [line for line in err.splitlines() if line.strip()][-1]
    assert last.startswith(f"error: cannot write {tiny_fs / 'overlay.mp4'}: ") and "wrote" not in err
    assert visible_files(tiny_fs) == [] and not (tmp_path / "poses.csv").exists()


@pytest.mark.parametrize("output", ["csv", "json", "video"])
def test_export_with_an_injected_enospc(capsys, disk_full, videos, small_checkpoint_96x128, tmp_path, output):
    target = tmp_path / {"csv": "p.csv", "json": "p.json", "video": "p.mp4"}[output]
    extra = {"csv": [], "json": ["--json", target], "video": ["--video", target]}[output]
    csv_target = target if output == "csv" else tmp_path / "side.csv"
    code, _, err = run_cli(capsys, "export", videos / VIDEO, "-o", csv_target, *extra, "--model", small_checkpoint_96x128,
                           "--detector", "none", "--max-frames", 3, "--device", "cpu")
    assert code == 2 and "no space left on device" in err and "Traceback" not in err
    assert visible_files(tmp_path) == [], visible_files(tmp_path)


# ----- models, datasets, training ------------------------------------------------------------------------
def test_model_import_and_onnx_export_with_a_full_disk(capsys, models_home, disk_full, small_checkpoint_96x128):
    code, _, err = run_cli(capsys, "models", "import", small_checkpoint_96x128, "--name", "w8")
    assert code == 2 and "error: cannot write" in err and "no space left on device" in err
    assert not models_home.exists() or visible_files(models_home) == []


def test_onnx_export_with_a_full_disk(capsys, tmp_path, small_checkpoint_96x128, disk_full):
    code, _, err = run_cli(capsys, "models", "export-onnx", small_checkpoint_96x128, "-o", tmp_path / "w8.onnx")
    assert code == 2 and f"cannot write {tmp_path / 'w8.onnx'}: no space left on device" in err
    assert visible_files(tmp_path) == []


def test_label_dataset_on_a_full_filesystem(capsys, tiny_fs, videos, yolo_pose_weights):
    code, _, err = run_cli(capsys, "label", videos / VIDEO, "--teacher", yolo_pose_weights, "-o", tiny_fs / "set",
                           "--every", 1, "--max-frames", 20, "--device", "cpu")
    assert code == 2 and "error: cannot write" in err and "no space left on device" in err
    assert not (tiny_fs / "set" / "annotations.json").exists()
    assert not any(name.endswith(".part") for name in visible_files(tiny_fs))


def test_training_that_cannot_write_its_checkpoint_stops_with_the_previous_one(capsys, assets, tmp_path, monkeypatch,
                                                                             models_home):
    from helpers import tiny_recipe

    from hrnet_studio.training import trainer as trainer_module

    recipe = tiny_recipe(assets, tmp_path, epochs=3)
    run = tmp_path / "runs" / "tiny"
    saves = []
    real_save = trainer_module.torch_save

    def save_then_fill_up(obj, path):
        saves.append(Path(path).name)
        if len(saves) > 1:  # the first epoch's checkpoint is written; then the disk is full
            monkeypatch.setattr(atomic_writer, "flush_to_disk",
                                lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
        return real_save(obj, path)

    monkeypatch.setattr(trainer_module, "torch_save", save_then_fill_up)
    recipe_file = tmp_path / "recipe.yaml"
    import yaml

    recipe_file.write_text(yaml.safe_dump(recipe.to_dict()))
    code, _, err = run_cli(capsys, "train", recipe_file)
    assert code == 2 and f"error: cannot write {run / 'last.pth'}: no space left on device" in err
    state = torch.load(run / "last.pth", weights_only=True)
    assert state["epoch"] == 1  # the last checkpoint that was written whole, intact
    assert not any(name.endswith(".part") for name in visible_files(run))


def test_a_download_onto_a_full_filesystem_is_a_write_error_not_a_network_retry(file_server, tiny_fs):
    import os

    from hrnet_studio.models.download import download, part_path

    payload = os.urandom(200_000)
    file_server.files["model.pth"] = payload
    with pytest.raises(WriteError, match=f"cannot write {tiny_fs / 'model.pth'}: no space left on device"):
        download(file_server.url("model.pth"), tiny_fs / "model.pth", None)
    assert len(file_server.requests) == 1  # not retried as if the connection had broken
    assert visible_files(tiny_fs) == [part_path(tiny_fs / "model.pth").name]  # hidden, kept to resume


# ----- the app: screenshots and recordings -------------------------------------------------------------------
def test_the_app_reports_a_screenshot_and_a_recording_it_could_not_write(qtbot, window, videos, tmp_path,
                                                                         monkeypatch):
    from conftest import results_collector

    seen = results_collector(window)
    window.sources.open_path(videos / VIDEO)
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)
    window.record_action.trigger()
    recorder = window.outputs.recorder
    qtbot.waitUntil(lambda: recorder.written >= 3, timeout=30_000)
    disk = {"full": True}
    real_flush = atomic_writer.flush_to_disk

    def flush(fd):
        if disk["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_flush(fd)

    monkeypatch.setattr(atomic_writer, "flush_to_disk", flush)
    window.record_action.trigger()
    assert window.errors[-1].startswith("the recording was not saved: cannot write ")
    assert window.errors[-1].endswith(": no space left on device") and not window.record_action.isChecked()
    window.sources.set_playing(False)
    assert window.outputs.save_screenshot() is None
    assert window.errors[-1].startswith("cannot write ") and window.errors[-1].endswith("no space left on device")
    shots = tmp_path / "shots"
    assert not shots.exists() or visible_files(shots) == []
    disk["full"] = False  # room again: the app carries on
    assert window.outputs.save_screenshot().is_file()


def test_overlay_videos_are_h264_that_browsers_play_and_mp4v_only_as_a_noted_fallback(tmp_path, monkeypatch):
    import av
    import numpy as np

    from hrnet_studio.export import overlay_video as video_writer

    def write(path, size, **kw):
        exporter = OverlayVideoExporter(path, 30.0, size, **kw)
        for i in range(12):
            exporter.write_frame(np.full((size[1], size[0], 3), 20 * i, np.uint8))
        exporter.commit()
        return exporter

    made = write(tmp_path / "overlay.mp4", (96, 64))
    assert made.codec == "h264" and made.note is None
    with av.open(str(tmp_path / "overlay.mp4")) as video:
        stream = video.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in video.decode(stream)) == 12
    assert (tmp_path / "overlay.mp4").read_bytes()[4:8] == b"ftyp" and b"moov" in (tmp_path / "overlay.mp4").read_bytes()[:4096]

    odd = write(tmp_path / "odd.mp4", (95, 63))  # yuv420p needs even sizes: one edge pixel is repeated
    assert odd.codec == "h264" and video_writer.video_frame_count(tmp_path / "odd.mp4") == 12

    def no_h264(*args, **kwargs):
        raise av.FFmpegError(0, "Encoder not found")

    monkeypatch.setattr(video_writer._H264Writer, "__init__", no_h264)
    fallback = write(tmp_path / "fallback.mp4", (96, 64))
    assert fallback.codec == "mp4v" and fallback.note.startswith("H.264 is not available here (")
    assert "\n" not in fallback.note and video_writer.video_frame_count(tmp_path / "fallback.mp4") == 12
    assert visible_files(tmp_path) == ["fallback.mp4", "odd.mp4", "overlay.mp4"]
