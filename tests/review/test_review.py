"""Review and correct: the review file, frame edits with undo/redo, identity fixes, suggestions, the training set
written from corrections, and exports that use them."""
import csv
import json
import shutil

import cv2
import numpy as np
import pytest

from hrnet_studio.errors import StudioError
from hrnet_studio.export.job import export_video
from hrnet_studio.inference.detect.detector import Detections
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.inference.results import FrameResult, PersonPose
from hrnet_studio.review.editing import FrameEditor
from hrnet_studio.review.review_file import NOT_LABELLED, OCCLUDED, VISIBLE, Review
from hrnet_studio.review.suggest import FrameCheck, scan, suggest
from hrnet_studio.review.training_set import add_to_training_set
from hrnet_studio.skeletons import COCO_17, MPII_16
from hrnet_studio.training.datasets.coco import CocoKeypoints

CLIP = "two_people_basketball_gym_426x240.mp4"


def pose(x0: float, track: int, score: float = 0.9) -> PersonPose:
    kps = np.stack([np.full(17, x0) + np.arange(17), np.linspace(20, 200, 17)], axis=1).astype(np.float32)
    return PersonPose(np.array([x0 - 10, 10, x0 + 40, 210], np.float32), 0.8, kps, np.full(17, score, np.float32),
                      track)


def test_edits_are_saved_at_once_undone_redone_and_read_back(tmp_path):
    video = tmp_path / "clip.mp4"
    review = Review.open(video, COCO_17)
    editor = FrameEditor(review, 7, [pose(50, 1), pose(200, 2)])
    assert not editor.is_corrected and not review.path.exists()
    editor.move_joint(0, 3, 61.5, 80.25)
    assert editor.is_corrected and review.path == tmp_path / "clip.mp4.review.json" and review.path.is_file()
    assert editor.cycle_visibility(0, 5) == OCCLUDED and editor.cycle_visibility(0, 5) == NOT_LABELLED
    editor.delete_person(1)
    added = editor.add_person(np.array([300, 220, 260, 20]), pose(270, -1), 17)
    assert len(editor.persons) == 2 and editor.persons[added].added
    assert editor.persons[added].bbox.tolist() == [260, 20, 300, 220] and editor.persons[added].track_id == 3

    again = Review.open(video, COCO_17).frame(7)  # what was saved
    assert [p.track_id for p in again.persons] == [1, 3]
    first = again.persons[0]
    assert first.keypoints[3].tolist() == [61.5, 80.25] and first.corrected[3] and not first.corrected[4]
    assert first.visible[5] == NOT_LABELLED and first.visible[0] == VISIBLE

    for _ in range(5):  # move, flag twice, delete, add
        assert editor.undo()
    assert not editor.undo() and not editor.is_corrected  # back to the prediction: the frame is not corrected
    assert Review.open(video, COCO_17).frame(7) is None
    assert editor.redo() and editor.persons[0].keypoints[3].tolist() == [61.5, 80.25]
    editor.move_joint(1, 0, 1, 1)  # a new edit drops what could have been redone
    assert not editor.can_redo


def test_identity_fixes_rename_tracks_from_their_frame_on(tmp_path):
    review = Review.open(tmp_path / "clip.mp4", COCO_17)
    FrameEditor(review, 10, [pose(50, 1), pose(200, 2)]).swap_ids(1, 2)
    FrameEditor(review, 20, [pose(50, 2), pose(200, 1), pose(300, 5)]).merge_ids(5, 1)

    def ids(frame_index, tracks):
        result = FrameResult(frame_index, 0.0, [pose(50 * t, t) for t in tracks])
        return [p.track_id for p in review.apply(result).persons]

    assert ids(5, [1, 2, 5]) == [1, 2, 5]
    assert ids(15, [1, 2, 5]) == [2, 1, 5]
    assert ids(25, [1, 2, 5]) == [2, 1, 1]  # the merge names tracks as shown after the swap
    reopened = Review.open(tmp_path / "clip.mp4", COCO_17)
    assert [(f.kind, f.a, f.b, f.from_frame) for f in reopened.fixes] == [("swap", 1, 2, 10), ("merge", 5, 1, 20)]
    assert [p.track_id for p in reopened.frame(10).persons] == [2, 1]


def test_a_review_of_another_keypoint_set_or_a_broken_file_is_one_line(tmp_path):
    video = tmp_path / "clip.mp4"
    FrameEditor(Review.open(video, COCO_17), 0, [pose(50, 1)]).move_joint(0, 0, 5, 5)
    with pytest.raises(StudioError, match="made for another keypoint set"):
        Review.open(video, MPII_16)
    Review.path_for(video).write_text('{"keypoints": ' + json.dumps(list(COCO_17.names)) +
                                      ', "frames": [{"frame": 1, "persons": [{"bbox": [1, 2]}]}]}')
    with pytest.raises(StudioError, match="malformed entry"):
        Review.open(video, COCO_17)
    Review.path_for(video).write_text("{not json")
    with pytest.raises(StudioError, match="unreadable"):
        Review.open(video, COCO_17)


def checks_with_trouble(n: int = 120) -> list[FrameCheck]:
    checks = []
    for i in range(n):
        persons = [pose(50, 1), pose(200, 2)]
        flip = [0.01, 0.01]
        if 28 <= i <= 34:  # one bad moment: a jump, its neighbours nearly as bad
            persons[0].keypoints[:, 0] += 40 if i == 30 else 25
        if i == 70:
            persons[1].scores[:] = 0.1
            flip = [0.01, 0.3]
        if i >= 100:
            persons = persons[:1]  # track 2 ends at 100
        checks.append(FrameCheck(i, persons, flip[:len(persons)]))
    checks.append(FrameCheck(n, [], []))  # nobody: never suggested
    return checks


def test_suggestions_name_their_reasons_and_spread_over_the_video():
    found = suggest(checks_with_trouble(), count=6)
    frames = [s.frame_index for s in found]
    assert len(found) == 6 and 120 not in frames
    assert min(abs(a - b) for a in frames for b in frames if a != b) >= 120 // 12  # spread, not ten neighbours
    by_frame = {s.frame_index: s for s in found}
    assert 70 in by_frame and {"low confidence", "flip disagreement"} <= set(by_frame[70].reasons)
    assert 100 in by_frame and "track change" in by_frame[100].reasons
    assert any(28 <= f <= 34 and "jump" in by_frame[f].reasons for f in frames)
    assert sum(28 <= f <= 34 for f in frames) == 1
    assert found == sorted(found, key=lambda s: -s.score)


class BoxDetector:
    name = "boxes"

    def detect(self, frame_bgr):
        return Detections(np.array([[40, 30, 160, 220], [220, 30, 340, 220]], np.float32), np.array([0.9, 0.8]))


def test_scan_measures_every_frame_with_the_flip_disagreement(small_checkpoint_96x128, videos):
    from hrnet_studio.inference.runtime.model_loading import open_pose_model
    from hrnet_studio.sources.live import open_source

    loaded = open_pose_model(str(small_checkpoint_96x128), backend="torch", device="cpu")
    pipeline = PosePipeline(loaded.backend, loaded.spec, BoxDetector())
    source = open_source(videos / CLIP)
    frames = [source.read() for _ in range(6)]
    source.close()
    checks = scan(pipeline, frames)
    assert [c.frame_index for c in checks] == list(range(6))
    assert all(len(c.persons) == 2 and len(c.flip_gap) == 2 for c in checks)
    gaps = np.array([c.flip_gap for c in checks])
    assert np.isfinite(gaps).all() and (gaps > 0).all()  # a random-init model does not agree with its mirror
    stopped = scan(pipeline, frames, progress=lambda done: done < 3)
    assert len(stopped) == 3


def test_corrected_frames_become_a_training_set_without_duplicates(tmp_path, videos):
    video = tmp_path / CLIP
    shutil.copyfile(videos / CLIP, video)
    review = Review.open(video, COCO_17)
    with pytest.raises(StudioError, match="no corrected frame"):
        add_to_training_set(review, video, tmp_path / "set")
    for index in (3, 9):
        editor = FrameEditor(review, index, [pose(80, 1), pose(260, 2)])
        editor.move_joint(0, 0, 85.0, 22.0)
        editor.cycle_visibility(1, 4)  # occluded
        editor.cycle_visibility(1, 5)
        editor.cycle_visibility(1, 5)  # not labelled
    report = add_to_training_set(review, video, tmp_path / "set")
    assert (report.frames_added, report.frames_replaced, report.persons, report.total_images) == (2, 0, 4, 2)
    FrameEditor(review, 9, []).move_joint(0, 1, 90.0, 30.0)
    FrameEditor(review, 12, [pose(80, 1)]).move_joint(0, 1, 90.0, 30.0)
    report = add_to_training_set(review, video, tmp_path / "set")
    assert (report.frames_added, report.frames_replaced, report.total_images) == (1, 2, 3)

    data = json.loads(report.annotation_file.read_text())
    assert sorted(im["frame_index"] for im in data["images"]) == [3, 9, 12]
    assert len({im["id"] for im in data["images"]}) == 3 and len(data["annotations"]) == 5
    frame9 = next(im for im in data["images"] if im["frame_index"] == 9)
    second = [a for a in data["annotations"] if a["image_id"] == frame9["id"]][1]
    assert second["keypoints"][4 * 3 + 2] == OCCLUDED and second["keypoints"][5 * 3:5 * 3 + 3] == [0, 0, 0]
    coco = CocoKeypoints(report.annotation_file, tmp_path / "set" / "images")  # what the trainer reads
    assert len(coco.gt_records(0.75)) == 5
    assert (tmp_path / "set" / "images" / frame9["file_name"]).is_file()
    with pytest.raises(StudioError, match="another keypoint set"):
        add_to_training_set(_mpii_review(tmp_path, video), video, tmp_path / "set")


def _mpii_review(tmp_path, video):
    review = Review.open(video, MPII_16, path=tmp_path / "mpii.review.json")
    FrameEditor(review, 1, []).add_person(np.array([10, 10, 100, 200]), None, 16)
    return review


def test_export_uses_the_corrections_and_says_which_joints_were_corrected(tmp_path, small_checkpoint_96x128, videos):
    from hrnet_studio.inference.runtime.model_loading import open_pose_model

    loaded = open_pose_model(str(small_checkpoint_96x128), backend="torch", device="cpu")
    pipeline = PosePipeline(loaded.backend, loaded.spec, BoxDetector())
    review = Review.open(tmp_path / CLIP, COCO_17)
    first = pipeline.estimate(np.zeros((240, 426, 3), np.uint8), BoxDetector().detect(None))
    for p, track in zip(first, (1, 2)):
        p.track_id = track
    FrameEditor(review, 2, first).move_joint(1, 9, 300.0, 111.0)
    out = tmp_path / "poses.csv"
    export_video(videos / CLIP, pipeline, out, max_frames=4, review=review)
    with out.open() as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    assert header[-1] == "corrected"
    col = header.index("left_wrist_x")
    corrected = [r for r in rows if r[0] == "2"]
    assert [r[-1] for r in corrected] == ["", "left_wrist"]
    assert (float(corrected[1][col]), float(corrected[1][col + 1])) == (300.0, 111.0)
    assert all(r[-1] == "" for r in rows if r[0] != "2")



def test_the_command_line_export_finds_the_review_beside_the_video(capsys, tmp_path, videos, small_checkpoint_96x128,
                                                                     yolo_pose_weights):
    from hrnet_studio.cli.main import main

    footage = tmp_path / "footage"
    footage.mkdir()
    video = footage / CLIP
    shutil.copyfile(videos / CLIP, video)
    editor = FrameEditor(Review.open(video, COCO_17), 1, [])
    editor.add_person(np.array([10.0, 20.0, 90.0, 200.0]), pose(40, -1), 17)
    common = ["--model", small_checkpoint_96x128, "--detector", yolo_pose_weights, "--max-frames", 3, "--device", "cpu"]

    def export(*args):
        code = main([str(a) for a in ["export", *args, *common]])
        return code, capsys.readouterr().err

    code, err = export(video, "-o", tmp_path / "one.csv")
    assert code == 0 and "using the corrections in " + CLIP + ".review.json" in err
    with (tmp_path / "one.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0][-1] == "corrected"
    frame1 = [r for r in rows[1:] if r[0] == "1"]
    assert len(frame1) == 1 and frame1[0][-1].split("|")[:2] == ["nose", "left_eye"]  # the drawn person only
    code, err = export(video, "-o", tmp_path / "raw.csv", "--no-review")
    with (tmp_path / "raw.csv").open() as f:
        assert code == 0 and next(csv.reader(f))[-1] == "right_ankle_score"
    code, err = export(footage, "-o", tmp_path / "batch")
    with (tmp_path / "batch" / (video.stem + ".csv")).open() as f:
        assert code == 0 and next(csv.reader(f))[-1] == "corrected"
    code, err = export(footage, "-o", tmp_path / "batch2", "--review", Review.path_for(video))
    assert code != 0 and "--review names one video's corrections" in err


def test_corrections_are_drawn_distinctly():
    from hrnet_studio.review.marks import draw_review_marks
    from hrnet_studio.review.review_file import ReviewedFrame

    review = Review("unused.json", "clip.mp4", COCO_17)
    editor = FrameEditor(review, 0, [pose(100, 1), pose(250, 2)], save=False)
    editor.move_joint(0, 4, 120.0, 100.0)
    editor.cycle_visibility(1, 8)  # occluded
    plain = np.zeros((240, 426, 3), np.uint8)
    draw_review_marks(plain, ReviewedFrame(0, [p for p in editor.persons]))
    size = 3  # a square of ±3 px around the corrected joint at (120, 100), its inside left alone
    assert (plain[100 - size, 118:123] > 200).all() and (plain[100 + size, 118:123] > 200).all()
    assert (plain[98:103, 120 - size] > 200).all() and (plain[100, 119:122] == 0).all()
    x, y = editor.persons[1].keypoints[8].astype(int)
    ring = plain[y - 12:y + 13, x - 12:x + 13]
    assert (ring[12, 12 + 5] > 150).all() and (ring[12 - 5, 12] > 150).all()  # a ring of radius 5
    assert (plain[y, x] == 0).all()  # hollow
    assert (plain[6:12, 6:40] == (60, 160, 60)).all(axis=-1).any()  # the "corrected" tag
    untouched = editor.persons[1].keypoints[0].astype(int)
    assert (plain[untouched[1] - 3:untouched[1] + 4, untouched[0] - 3:untouched[0] + 4] == 0).all()


def test_the_review_command_suggests_frames_and_adds_corrections_to_a_set(capsys, tmp_path, videos, small_checkpoint_96x128,
                                                                            yolo_pose_weights):
    from hrnet_studio.cli.main import main

    folder = tmp_path / "frames"  # an image folder: twelve frames of the gym clip
    folder.mkdir()
    source = cv2.VideoCapture(str(videos / CLIP))
    for i in range(12):
        ok, image = source.read()
        assert ok and cv2.imwrite(str(folder / f"{i:03d}.jpg"), image)

    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = run("review", "suggest", folder, "--count", 3, "--model", small_checkpoint_96x128,
                         "--detector", yolo_pose_weights, "--device", "cpu")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 and all(line.startswith("frame ") for line in lines)
    review = Review.load(Review.path_for(folder))
    assert [f"frame {s.frame_index}: {', '.join(s.reasons)}" for s in review.suggestions] == lines
    assert "3 frames suggested from 12 scanned" in err

    code, _, err = run("review", "add", folder, tmp_path / "set")
    assert code != 0 and "no corrected frame in this review yet" in err
    FrameEditor(review, review.suggestions[0].frame_index, [pose(80, 1)]).move_joint(0, 2, 50.0, 60.0)
    code, _, err = run("review", "add", folder, tmp_path / "set")
    assert code == 0 and "added 1 new and 0 updated frame(s), 1 person(s)" in err
    data = json.loads((tmp_path / "set" / "annotations.json").read_text())
    assert data["images"][0]["frame_index"] == review.suggestions[0].frame_index
    code, _, err = run("review", "add", tmp_path / "missing.mp4", tmp_path / "set")
    assert code != 0 and err.count("\n") == 1 and "not found" in err
    code, _, err = run("review", "add", folder, tmp_path / "set", "--review", tmp_path / "none.json")
    assert code != 0 and "review file not found" in err


def test_a_frame_with_a_left_right_swap_is_suggested_with_that_reason():
    from hrnet_studio.review.suggest import mark_swaps

    checks = checks_with_trouble()
    legs = [13, 14, 15, 16]
    swapped = checks[50].persons[0]
    swapped.keypoints[legs] = swapped.keypoints[[14, 13, 16, 15]]
    mark_swaps(checks, COCO_17)
    assert [(c.frame_index, p.track_id) for c in checks for p in c.persons if p.swapped is not None] == [(50, 1)]
    by_frame = {s.frame_index: s for s in suggest(checks, count=6)}
    assert 50 in by_frame and "left/right swap" in by_frame[50].reasons
