import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from helpers import read_csv, run_cli

from hrnet_studio.cli.main import main
from hrnet_studio.export.job import export_video
from hrnet_studio.inference.detect.detector import FullFrameDetector
from hrnet_studio.inference.options import PipelineOptions
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.inference.runtime.backends import TorchBackend
from hrnet_studio.models.checkpoints import load_pose_model
from hrnet_studio.models.hrnet import build_hrnet


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--help"])
    assert exit_.value.code == 0
    assert "--decoder" in capsys.readouterr().out


def test_export_csv_json_overlay_on_real_clip(capsys, tmp_path, videos, small_checkpoint_96x128, yolo_pose_weights):
    out = tmp_path / "poses.csv"
    code, _, err = run_cli(
        capsys, "export", videos / "two_people_basketball_gym_426x240.mp4", "-o", out, "--model", small_checkpoint_96x128,
        "--detector", yolo_pose_weights, "--json", tmp_path / "poses.json", "--video", tmp_path / "overlay.mp4",
        "--max-frames", 12, "--device", "cpu",
    )
    assert code == 0, err
    header, rows = read_csv(out)
    assert header[:9] == ["frame", "time_s", "time_flag", "person_id", "box_x1", "box_y1", "box_x2", "box_y2",
                          "box_score"]
    assert header[9:12] == ["nose_x", "nose_y", "nose_score"] and header[-1] == "right_ankle_score"
    assert len(header) == 9 + 17 * 3
    frames = [int(r[0]) for r in rows]
    assert sorted(set(frames)) == list(range(12)) and frames == sorted(frames)
    assert len(rows) == 24  # two people in each of the first 12 frames
    for r in rows:
        assert float(r[1]) == pytest.approx(int(r[0]) / 29.97, abs=1e-3)
        assert r[2] == "" and r[3] in ("1", "2")  # no timing problem in this clip; tracked IDs
        values = np.array(r[4:], dtype=float)
        assert np.isfinite(values).all()
        kx, ky = values[5::3], values[6::3]
        x1, y1, x2, y2 = values[:4]
        crop_w = max(x2 - x1, 0.75 * (y2 - y1)) * 1.25  # keypoints stay inside the padded 3:4 crop
        assert (np.abs(kx - (x1 + x2) / 2) <= crop_w / 2 + 1).all()
        assert (np.abs(ky - (y1 + y2) / 2) <= crop_w / 0.75 / 2 + 1).all()
    results = json.loads((tmp_path / "poses.json").read_text())
    assert len(results) == 24 and {r["image_id"] for r in results} == set(range(12))
    assert all(r["category_id"] == 1 and len(r["keypoints"]) == 51 for r in results)
    cap = cv2.VideoCapture(str(tmp_path / "overlay.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 426
    assert "wrote" in err and not list(tmp_path.glob(".*.part*"))


def test_every_frame_of_a_clip_is_exported(capsys, tmp_path, videos, small_checkpoint_96x128, yolo_pose_weights):
    out = tmp_path / "portrait.csv"
    code, _, err = run_cli(capsys, "export", videos / "single_person_basketball_portrait_1080x1920.mp4", "-o", out,
                           "--model", small_checkpoint_96x128, "--detector", yolo_pose_weights, "--smooth", "--flip")
    assert code == 0, err
    _, rows = read_csv(out)
    assert sorted({int(r[0]) for r in rows}) == list(range(40))


def make_blank_video(path, frames=6, size=(160, 120)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    for _ in range(frames):
        writer.write(np.full((size[1], size[0], 3), 30, np.uint8))
    writer.release()


def test_frames_with_nobody_still_appear(capsys, tmp_path, small_checkpoint_96x128, yolo_pose_weights):
    video = tmp_path / "empty_room.mp4"
    make_blank_video(video)
    out = tmp_path / "empty.csv"
    code, _, err = run_cli(capsys, "export", video, "-o", out, "--model", small_checkpoint_96x128,
                           "--detector", yolo_pose_weights, "--json", tmp_path / "empty.json")
    assert code == 0, err
    header, rows = read_csv(out)
    assert [r[0] for r in rows] == [str(i) for i in range(6)]
    assert all(r[2:] == [""] * (len(header) - 2) for r in rows)
    assert json.loads((tmp_path / "empty.json").read_text()) == []


@pytest.mark.parametrize("case", ["missing", "empty", "text"])
def test_bad_video_one_line_no_file(capsys, tmp_path, small_checkpoint_96x128, case):
    video = tmp_path / "clip.mp4"
    if case == "empty":
        video.write_bytes(b"")
    elif case == "text":
        video.write_text("not a video\n" * 100)
    out = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, "export", video, "-o", out, "--model", small_checkpoint_96x128, "--detector", "none")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "clip.mp4" in err
    assert not out.exists()


def test_truncated_video_exports_what_decodes(capsys, tmp_path, videos, small_checkpoint_96x128):
    data = (videos / "street_crowd_1280x720.avi").read_bytes()
    video = tmp_path / "cut.avi"
    video.write_bytes(data[: len(data) // 2])
    out = tmp_path / "cut.csv"
    code, _, err = run_cli(capsys, "export", video, "-o", out, "--model", small_checkpoint_96x128, "--detector", "none")
    assert code == 3
    _, rows = read_csv(out)
    n = len(rows)
    assert 0 < n < 205 and [int(r[0]) for r in rows] == list(range(n))
    assert f"after frame {n - 1} of 205" in err


def test_wrong_checkpoint_says_what_differs(capsys, tmp_path, videos):
    ckpt = tmp_path / "damaged.pth"
    state = build_hrnet("hrnet_w32", 17).state_dict()
    state["stage4.0.branches.3.0.conv1.weight"] = torch.zeros(1, 1, 3, 3)  # a tensor of the wrong shape
    del state["stage3.0.fuse_layers.1.0.0.0.weight"]  # and a missing one
    torch.save(state, ckpt)
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "-o", tmp_path / "o.csv",
                           "--model", ckpt, "--detector", "none")
    assert code == 2 and "does not fit hrnet_w32" in err
    assert "stage4.0.branches.3.0.conv1.weight" in err and "stage3.0.fuse_layers.1.0.0.0.weight" in err
    assert not (tmp_path / "o.csv").exists()


def test_corrupt_checkpoint(capsys, tmp_path, videos):
    ckpt = tmp_path / "broken.pth"
    ckpt.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "-o", tmp_path / "o.csv",
                           "--model", ckpt, "--detector", "none")
    assert code == 2 and "broken.pth is not a readable PyTorch checkpoint" in err


def test_missing_model_says_how_to_give_one(capsys, tmp_path, videos, monkeypatch):
    monkeypatch.setenv("HRNET_STUDIO_MODELS", str(tmp_path / "no-models"))
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "-o", tmp_path / "o.csv")
    assert code == 2
    assert "no pose model is installed yet: run `hrnet-studio models pull hrnet_w32_coco_256x192`" in err
    assert "`hrnet-studio models import FILE.pth`" in err and str(tmp_path / "no-models") in err
    assert not (tmp_path / "o.csv").exists()


def test_cancel_and_crash_leave_no_output(tmp_path, videos, small_checkpoint_96x128):
    model, spec = load_pose_model(small_checkpoint_96x128)
    pipeline = PosePipeline(TorchBackend(model, "cpu"), spec, FullFrameDetector(), PipelineOptions())
    out = tmp_path / "cancelled.csv"
    report = export_video(videos / "single_person_taichi_340x256.mp4", pipeline, out, progress=lambda d, t: d < 3)
    assert report.cancelled and report.frames == 3
    assert list(tmp_path.iterdir()) == []

    def crash(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_video(videos / "single_person_taichi_340x256.mp4", pipeline, out, progress=crash)
    assert list(tmp_path.iterdir()) == []


def test_no_traceback_from_the_installed_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hrnet_studio", "export", str(tmp_path / "nothing.mp4"), "--model", "x.pth"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: video not found: {tmp_path / 'nothing.mp4'}"


def test_flip_and_decoders_change_results_consistently(videos, small_checkpoint_96x128):
    model, spec = load_pose_model(small_checkpoint_96x128)
    backend = TorchBackend(model, "cpu")
    frame = cv2.VideoCapture(str(videos / "single_person_taichi_340x256.mp4")).read()[1]
    results = {}
    for decoder in ("argmax", "official", "dark"):
        for flip in (False, True):
            pipe = PosePipeline(backend, spec, FullFrameDetector(), PipelineOptions(decoder=decoder, flip_test=flip))
            results[decoder, flip] = pipe.process(frame).persons[0]
    argmax, official = results["argmax", False], results["official", False]
    shift = np.abs(official.keypoints - argmax.keypoints)
    # The full-frame box is 340 px wide, padded ×1.25 and mapped onto 48 heatmap columns.
    quarter_heatmap_px = 340 * 1.25 / spec.heatmap_size[0] / 4
    assert shift.max() <= quarter_heatmap_px * 1.001
    np.testing.assert_array_equal(official.scores, argmax.scores)
    assert not np.array_equal(results["dark", True].scores, results["dark", False].scores)
    assert all(p.keypoints.shape == (17, 2) for p in results.values())


def test_a_video_path_alone_opens_the_app(monkeypatch, videos):
    import hrnet_studio.cli.main as cli

    opened = []
    monkeypatch.setattr(cli, "cmd_gui", lambda args: opened.append(getattr(args, "source", None)) or 0)
    clip = videos / "single_person_taichi_340x256.mp4"
    assert cli.main([str(clip)]) == 0 and opened == [clip]
    assert cli.main([]) == 0 and len(opened) == 2  # no command: the app, with nothing open
    assert set(cli.COMMANDS) == set(cli.build_parser()._subparsers._group_actions[0].choices)


def test_detector_every_nth_frame_and_its_size_from_the_cli(capsys, tmp_path, videos, small_checkpoint_96x128,
                                                            yolo_pose_weights):
    video = videos / "two_people_basketball_gym_426x240.mp4"
    out = tmp_path / "followed.csv"
    code, _, err = run_cli(capsys, "export", video, "-o", out, "--model", small_checkpoint_96x128, "--detector",
                           yolo_pose_weights, "--det-every", "5", "--det-size", "320", "--max-frames", "12")
    assert code == 0, err
    _, rows = read_csv(out)
    assert sorted({int(r[0]) for r in rows}) == list(range(12))
    for bad, says in ((("--det-every", "-1"), "N must be 1 or more (0 = auto), got -1"),
                      (("--det-size", "300"), "detector input size must be a multiple of 32 from 64 to 1280")):
        code, _, err = run_cli(capsys, "export", video, "-o", tmp_path / "bad.csv", "--model", small_checkpoint_96x128,
                               "--detector", "none", *bad)
        assert code != 0 and says in err and err.count("\n") == 1 and "Traceback" not in err
        assert not (tmp_path / "bad.csv").exists()


def test_phone_video_times_and_gaps_reach_the_csv(capsys, tmp_path, small_checkpoint_96x128):
    from helpers import VFR_TIMES_MS, write_vfr_video

    video = write_vfr_video(tmp_path / "phone.mp4", VFR_TIMES_MS, size=(192, 256))
    out, results = tmp_path / "phone.csv", tmp_path / "phone.json"
    code, _, err = run_cli(capsys, "export", video, "-o", out, "--json", results, "--model", small_checkpoint_96x128,
                           "--detector", "none", "--device", "cpu", "--backend", "torch")
    assert code == 0, err
    header, rows = read_csv(out)
    assert [round(float(r[1]) * 1000) for r in rows] == VFR_TIMES_MS
    assert [int(r[0]) for r in rows if r[2]] == [6, 10] and {r[2] for r in rows if r[2]} == {"gap"}
    assert "note: timestamps: 2 gap(s) (dropped frames?) and 0 repeated time(s)" in err
    streamed = results.read_text()
    parsed = json.loads(streamed)  # written piece by piece, read back as one list
    assert len(parsed) == len(VFR_TIMES_MS) and streamed == json.dumps(parsed)
