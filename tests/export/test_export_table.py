"""The export table has one definition: written by the exporter, read by name by analysis, review and batch —
and every combination of a reviewed video, an analysis output and a batch export works."""
from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from hrnet_studio.batch.export import run_batch
from hrnet_studio.batch.local import InProcessRunner
from hrnet_studio.batch.task import VideoTask
from hrnet_studio.errors import StudioError
from hrnet_studio.export.analysis.tracks import read_export
from hrnet_studio.export.job import export_video
from hrnet_studio.export.options import FilterOptions
from hrnet_studio.export.table import TableLayout, TableRow, read_table
from hrnet_studio.inference.detect.detector import Detections
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.review.editing import FrameEditor
from hrnet_studio.review.review_file import Review
from hrnet_studio.skeletons import COCO_17

CLIP = "two_people_basketball_gym_426x240.mp4"
FRAMES = 6
ANALYSIS = {  # each analysis option as the batch task and the export call spell it
    "angles": dict(angles=True),
    "fill-gaps": dict(filters=FilterOptions(max_gap_s=0.2, threshold=0.0)),
    "filter": dict(filters=FilterOptions("butterworth", cutoff_hz=3)),
    "trc": dict(trc=True),
    "mot": dict(mot=True),
    "c3d": dict(c3d=True),
}


class BoxDetector:
    name = "boxes"

    def detect(self, frame_bgr):
        return Detections(np.array([[40, 30, 160, 220], [220, 30, 340, 220]], np.float32), np.array([0.9, 0.8]))


def row(frame: int, person: int | None = None, k: int = 17, **marks) -> TableRow:
    if person is None:
        return TableRow(frame, frame / 30, "")
    xy = np.stack([np.arange(k) + 100.0 * person, np.arange(k) + 0.5], 1)
    return TableRow(frame, frame / 30, "gap" if frame == 2 else "", person, np.array([1.0, 2, 30, 40]), 0.9, xy,
                    np.full(k, 0.75), **marks)


def test_rows_are_read_by_column_name_whatever_the_order_or_extra_columns(tmp_path):
    layout = TableLayout(COCO_17, corrected=True)
    corrected = np.zeros(17, bool)
    corrected[[9, 16]] = True
    written = [row(0), row(1, 3, corrected=corrected)]
    header = layout.header
    order = list(reversed(range(len(header))))  # every column moved, one added in the middle
    path = tmp_path / "shuffled.csv"
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([header[i] for i in order[:5]] + ["notes"] + [header[i] for i in order[5:]])
        for r in written:
            cells = layout.cells(r)
            out.writerow([cells[i] for i in order[:5]] + ["a note"] + [cells[i] for i in order[5:]])
    read_layout, rows = read_table(path, COCO_17)
    assert read_layout == layout and [r.person_id for r in rows] == [None, 3]
    np.testing.assert_array_equal(rows[1].xy, written[1].xy)
    np.testing.assert_array_equal(rows[1].scores, written[1].scores)
    assert rows[1].corrected.tolist() == corrected.tolist() and not rows[1].filled.any()
    assert rows[1].time_flag == "" and rows[1].box.tolist() == [1.0, 2, 30, 40]


def test_a_csv_that_is_not_this_models_table_is_refused_in_one_line(tmp_path):
    from hrnet_studio.skeletons import MPII_16

    path = tmp_path / "mpii.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerow(TableLayout(MPII_16).header)
    with pytest.raises(StudioError, match=r"mpii.csv is not a keypoints CSV of this .* no column nose_x") as e:
        read_table(path, COCO_17)
    assert "\n" not in str(e.value)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(TableLayout(COCO_17).header)
        out.writerow(["0", "0.0", "", "1", "x"])
    with pytest.raises(StudioError, match="mpii.csv, line 2: "):
        read_table(path, COCO_17)


@pytest.fixture(scope="module")
def pipeline(small_checkpoint_96x128):
    from hrnet_studio.inference.runtime.model_loading import open_pose_model

    loaded = open_pose_model(str(small_checkpoint_96x128), backend="torch", device="cpu")
    return PosePipeline(loaded.backend, loaded.spec, BoxDetector())


@pytest.fixture(scope="module")
def footage(tmp_path_factory, videos, pipeline):
    """The gym clip in a folder of its own, and the same clip reviewed (a joint of person 2 moved at frame 2)."""
    folder = tmp_path_factory.mktemp("footage")
    plain, reviewed = folder / "plain" / CLIP, folder / "reviewed" / CLIP
    for video in (plain, reviewed):
        video.parent.mkdir()
        shutil.copyfile(videos / CLIP, video)
    pipeline.reset()
    first = pipeline.estimate(np.zeros((240, 426, 3), np.uint8), BoxDetector().detect(None))
    for p, track in zip(first, (1, 2)):
        p.track_id = track
    FrameEditor(Review.open(reviewed, COCO_17), 2, first).move_joint(1, 9, 300.0, 111.0)
    return {False: plain, True: reviewed}


@pytest.mark.parametrize("option", list(ANALYSIS))
@pytest.mark.parametrize("reviewed", [False, True], ids=["raw", "reviewed"])
@pytest.mark.parametrize("batch", [False, True], ids=["one-video", "batch"])
def test_every_analysis_option_works_on_reviewed_videos_alone_and_in_a_batch(tmp_path, pipeline, footage, option,
                                                                               reviewed, batch):
    video = footage[reviewed]
    task = VideoTask(video, "clip", tmp_path, max_frames=FRAMES, **ANALYSIS[option])
    if batch:
        summary = run_batch([task], {"case": option}, tmp_path, InProcessRunner(pipeline), lambda *a: None)
        assert [r.status for r in summary.done] == ["done"], [r.error for r in summary.failed]
    else:
        review = Review.find(video, COCO_17) if reviewed else None
        export_video(video, pipeline, task.outputs()["csv"], max_frames=FRAMES, analysis=task.analysis(),
                     review=review)
    layout, rows = read_table(tmp_path / "clip.csv", COCO_17)
    assert layout.corrected == reviewed and layout.filled == (option in ("fill-gaps", "filter"))
    assert sorted({r.frame for r in rows}) == list(range(FRAMES))
    marked = {(r.frame, r.person_id): layout.names_cell(r.corrected) for r in rows if reviewed}
    assert marked.get((2, 2)) == ("left_wrist" if reviewed else None) and marked.get((2, 1)) in ("", None)
    if option in ("angles", "trc", "mot", "c3d"):  # the CSV itself is the raw one: the corrected joint is where it was put
        person2 = next(r for r in rows if (r.frame, r.person_id) == (2, 2))
        assert (tuple(person2.xy[9]) == (300.0, 111.0)) == reviewed
    tracks = read_export(tmp_path / "clip.csv", COCO_17).tracks
    assert sorted(tracks) == [1, 2] and all(len(t.frames) == FRAMES for t in tracks.values())
    if option == "angles":
        with open(tmp_path / "clip.angles.csv", newline="") as f:
            angles = list(csv.DictReader(f))
        assert len(angles) == 2 * FRAMES and {a["person_id"] for a in angles} == {"1", "2"}
    if option == "trc":
        assert sorted(p.name for p in tmp_path.glob("*.trc")) == ["clip.person1.trc", "clip.person2.trc"]
    if option == "mot":
        assert sorted(p.name for p in tmp_path.glob("*.mot")) == ["clip.person1.mot", "clip.person2.mot"]
        assert (tmp_path / "clip.person2.mot").read_text().split("\n")[2] == f"nRows={FRAMES}"
    if option == "c3d":
        import ezc3d

        assert sorted(p.name for p in tmp_path.glob("*.c3d")) == ["clip.person1.c3d", "clip.person2.c3d"]
        assert ezc3d.c3d(str(tmp_path / "clip.person1.c3d"))["data"]["points"].shape == (4, 17, FRAMES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no part file left behind


def test_the_command_line_exports_a_reviewed_video_with_every_analysis_output(capsys, tmp_path, footage,
                                                                              small_checkpoint_96x128,
                                                                              yolo_pose_weights):
    """The user's command, as typed: a video with its review file beside it, angles, gaps and a filter."""
    from hrnet_studio.cli.main import main

    out = tmp_path / "gym.csv"
    code = main([str(a) for a in ("export", footage[True], "-o", out, "--model", small_checkpoint_96x128,
                                  "--detector", yolo_pose_weights, "--max-frames", FRAMES, "--device", "cpu",
                                  "--angles", "--fill-gaps", 0.1, "--filter", "butterworth", "--cutoff", 3, "--trc")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "using the corrections in" in err and "unexpected" not in err
    layout, rows = read_table(out, COCO_17)
    assert layout.corrected and layout.filled and len({r.frame for r in rows}) == FRAMES
    assert (tmp_path / "gym.angles.csv").is_file() and list(tmp_path.glob("gym.person*.trc"))


def test_the_apps_export_dialog_exports_a_reviewed_video_with_angles_and_a_filter(qtbot, window, videos, tmp_path):
    """File ▸ Export keypoints… on a video with corrections beside it, with joint angles and a Butterworth filter."""
    from PySide6.QtCore import QPoint, Qt

    from hrnet_studio.inference.results import PersonPose

    video = tmp_path / "clip" / "portrait.mp4"  # 40 frames: a quick export
    video.parent.mkdir()
    shutil.copyfile(videos / "single_person_basketball_portrait_1080x1920.mp4", video)
    kps = np.stack([np.linspace(60, 140, 17), np.linspace(40, 200, 17)], axis=1).astype(np.float32)
    FrameEditor(Review.open(video, COCO_17), 1, []).add_person(
        np.array([50.0, 30.0, 150.0, 210.0]), PersonPose(np.array([50, 30, 150, 210], np.float32), 0.8, kps,
                                                         np.full(17, 0.9, np.float32), -1), 17)
    assert window.sources.open_path(video)
    window.sources.set_playing(False)
    dialog = window.outputs.export_keypoints()
    out = tmp_path / "reviewed.csv"
    dialog.csv_edit.setText(str(out))
    qtbot.mouseClick(dialog.angles_check, Qt.MouseButton.LeftButton, pos=dialog.angles_check.rect().topLeft() + QPoint(6, 6))
    dialog.angles_edit.setText(str(tmp_path / "reviewed.angles.csv"))
    qtbot.mouseClick(dialog.mot_check, Qt.MouseButton.LeftButton, pos=dialog.mot_check.rect().topLeft() + QPoint(6, 6))
    dialog.mot_edit.setText(str(tmp_path / "reviewed.mot"))
    dialog.analysis_box.filter_combo.setFocus()
    qtbot.keyClick(dialog.analysis_box.filter_combo, Qt.Key.Key_Down)  # none → Butterworth
    dialog.accept()  # the Export button
    qtbot.waitUntil(lambda: window.outputs.export_job is not None and window.outputs.export_job.isFinished(),
                    timeout=300_000)
    qtbot.waitUntil(lambda: "exported" in window.statusBar().currentMessage(), timeout=5000)
    assert not [e for e in window.errors if "failed" in e], window.errors
    layout, rows = read_table(out, COCO_17)
    assert layout.corrected and layout.filled
    drawn = [r for r in rows if r.frame == 1 and r.corrected is not None and r.corrected.all()]
    assert len(drawn) == 1  # the person drawn by hand, every joint marked as corrected
    assert (tmp_path / "reviewed.angles.csv").is_file()
    assert sorted(p.name for p in tmp_path.glob("reviewed.person*.mot"))  # the MOT row of the dialog, one per person
