"""Teacher auto-labelling of the shared videos into a COCO dataset that the loaders accept."""
import json

import pytest

from hrnet_studio.cli.main import main
from hrnet_studio.skeletons import COCO_17
from hrnet_studio.training.datasets.coco import CocoKeypoints


def test_label_with_an_ultralytics_pose_teacher(capsys, videos, yolo_pose_weights, tmp_path):
    out = tmp_path / "dataset"
    code = main(["label", str(videos / "single_person_taichi_340x256.mp4"),
                 str(videos / "two_people_basketball_gym_426x240.mp4"), "--teacher", str(yolo_pose_weights),
                 "-o", str(out), "--every", "30", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    data = json.loads((out / "annotations.json").read_text())
    assert len(data["images"]) == 20  # 10 + 10 frames
    assert {img["video"] for img in data["images"]} == {"single_person_taichi_340x256.mp4",
                                                        "two_people_basketball_gym_426x240.mp4"}
    assert len(data["annotations"]) >= 20  # at least one person per taichi frame, two in the gym
    for ann in data["annotations"]:
        assert len(ann["keypoints"]) == 51 and ann["num_keypoints"] >= 8
        assert ann["num_keypoints"] == sum(v > 0 for v in ann["keypoints"][2::3])
    dataset = CocoKeypoints(out / "annotations.json", out / "images")  # the loader accepts what we wrote
    assert dataset.keypoints is COCO_17 and dataset.missing_images() == []
    assert len(dataset.gt_records(0.75)) == len(data["annotations"])
    assert "labelled" in err and "frames with yolo11n-pose.pt" in err


def test_unsure_people_are_dropped(videos, yolo_pose_weights, tmp_path):
    from hrnet_studio.training.label import (
        LabelOptions,
        UltralyticsPoseTeacher,
        label_videos,
    )

    teacher = UltralyticsPoseTeacher(yolo_pose_weights)
    strict = label_videos([videos / "two_people_basketball_gym_426x240.mp4"], teacher, tmp_path / "strict",
                          LabelOptions(every=60, min_box_score=0.999))
    assert strict.persons == 0 and strict.dropped > 0 and strict.images == 5


def test_label_with_an_hrnet_teacher(capsys, videos, small_checkpoint, tmp_path, models_home):
    out = tmp_path / "hrnet"
    code = main(["label", str(videos / "single_person_taichi_340x256.mp4"), "--teacher", str(small_checkpoint),
                 "--detector", "none", "-o", str(out), "--every", "100", "--kpt-thr", "0", "--min-keypoints", "1",
                 "--min-score", "0", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "annotations.json").read_text())
    assert len(data["images"]) == 3 and len(data["annotations"]) == 3


def test_label_refuses_bad_inputs(capsys, tmp_path, videos, assets):
    bad = tmp_path / "bad.mp4"
    bad.write_text("x")
    assert main(["label", str(bad), "--teacher", "x.pt", "-o", str(tmp_path / "o")]) == 2
    assert "not a video OpenCV can decode" in capsys.readouterr().err
    assert main(["label", str(videos / "single_person_taichi_340x256.mp4"), "--teacher",
                 str(tmp_path / "missing.pt"), "-o", str(tmp_path / "o")]) == 2
    assert "teacher not found" in capsys.readouterr().err


@pytest.mark.parametrize("every", [0])
def test_every_must_be_positive(videos, yolo_pose_weights, tmp_path, every):
    from hrnet_studio.errors import StudioError
    from hrnet_studio.training.label import (
        LabelOptions,
        UltralyticsPoseTeacher,
        label_videos,
    )

    with pytest.raises(StudioError, match="--every must be at least 1"):
        label_videos([videos / "single_person_taichi_340x256.mp4"], UltralyticsPoseTeacher(yolo_pose_weights),
                     tmp_path, LabelOptions(every=every))
