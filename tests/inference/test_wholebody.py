"""The whole-body stage: part boxes from body keypoints, landmarks mapped back into them, and face and hand
landmarks through the CLI's export (random-init HRNetV2 models: geometry and plumbing, not accuracy)."""
import csv
import json

import numpy as np
import pytest

from hrnet_studio.errors import StudioError
from hrnet_studio.inference.wholebody import (
    BODY_MIN_SCORE,
    LandmarkModel,
    PartBoxes,
    WholeBodyStage,
)
from hrnet_studio.models.spec import PoseModelSpec
from hrnet_studio.skeletons import COCO_17, FACE_68, HAND_21, MPII_16


def coco_person(**moved):
    xy = np.zeros((17, 2), np.float32)
    named = {"nose": (100, 50), "left_eye": (105, 45), "right_eye": (95, 45), "left_ear": (112, 50),
             "right_ear": (88, 50), "left_elbow": (130, 100), "left_wrist": (130, 140), "right_elbow": (70, 100),
             "right_wrist": (40, 100)}
    named.update(moved)
    for name, point in named.items():
        xy[COCO_17.names.index(name)] = point
    return xy, np.ones(17, np.float32)


def test_part_boxes_follow_the_body_keypoints():
    boxes = PartBoxes(COCO_17)
    xy, scores = coco_person()
    face = boxes.box("face", xy, scores)
    side = max(24 * 1.1, 10 * 2.5, 24 * 1.1)  # points' spread, eye distance ×2.5, ear distance ×1.1
    np.testing.assert_allclose(face, [100 - side / 2, 48 - side / 2, 100 + side / 2, 48 + side / 2], atol=1e-4)
    # past the wrist along the forearm: centre wrist + 0.35 · forearm, side 0.8 · forearm
    np.testing.assert_allclose(boxes.box("left_hand", xy, scores), [114, 138, 146, 170], atol=1e-4)
    np.testing.assert_allclose(boxes.box("right_hand", xy, scores), [17.5, 88, 41.5, 112], atol=1e-4)
    scores[COCO_17.names.index("left_wrist")] = BODY_MIN_SCORE / 2  # a wrist not seen: no hand box
    assert boxes.box("left_hand", xy, scores) is None
    scores[:5] = 0  # no face points
    assert boxes.box("face", xy, scores) is None

    mpii = PartBoxes(MPII_16)
    xy = np.zeros((16, 2), np.float32)
    xy[MPII_16.names.index("head_top")], xy[MPII_16.names.index("upper_neck")] = (50, 10), (50, 50)
    np.testing.assert_allclose(mpii.box("face", xy, np.ones(16, np.float32)), [32, 12, 68, 48], atol=1e-4)


class PeakBackend:
    """Heatmaps with one peak at a known heatmap pixel for every landmark."""

    device_name, device_type = "CPU", "cpu"

    def __init__(self, k, peak):
        self.k, self.peak = k, peak

    def infer(self, batch):
        n, _, h, w = batch.shape
        ys, xs = np.mgrid[0:h // 4, 0:w // 4]
        g = np.exp(-((xs - self.peak[0]) ** 2 + (ys - self.peak[1]) ** 2) / 8).astype(np.float32)
        return np.broadcast_to(g, (n, self.k, h // 4, w // 4)).copy()


def test_landmarks_come_back_in_frame_pixels_inside_their_box():
    spec = PoseModelSpec("hrnetv2_w18", 21, (256, 256), HAND_21)
    model = LandmarkModel(PeakBackend(21, (32, 32)), spec)  # the centre of a 64×64 heatmap
    boxes = np.array([[10, 20, 50, 60], [100, 40, 180, 120]], np.float32)
    coords, scores = model.estimate(np.zeros((200, 300, 3), np.uint8), boxes, decoder="official")
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    np.testing.assert_allclose(coords, np.broadcast_to(centres[:, None], coords.shape), atol=0.01)
    assert coords.shape == (2, 21, 2) and scores.shape == (2, 21) and np.all(scores > 0.9)


def test_the_stage_refuses_a_model_of_the_wrong_kind():
    def landmark(kps):
        return LandmarkModel(PeakBackend(kps.num_joints, (0, 0)), PoseModelSpec("x", kps.num_joints, (256, 256), kps),
                             kps.name)

    with pytest.raises(StudioError, match="coco17 is a body model"):
        WholeBodyStage(COCO_17, face=landmark(COCO_17))
    with pytest.raises(StudioError, match="hand model, not a face model"):
        WholeBodyStage(COCO_17, face=landmark(HAND_21))
    with pytest.raises(StudioError, match="face model, not a hand model"):
        WholeBodyStage(COCO_17, hands=landmark(FACE_68))
    stage = WholeBodyStage(COCO_17, face=landmark(FACE_68), hands=landmark(HAND_21))
    assert list(stage.part_sets) == ["face", "left_hand", "right_hand"]


def test_whole_body_export_writes_landmarks_beside_the_body(videos, assets, small_checkpoint_96x128, landmark_files,
                                                            tmp_path, models_home, capsys):
    from hrnet_studio.cli.main import main

    out = tmp_path / "gym.poses.csv"
    code = main(["export", str(videos / "two_people_basketball_gym_426x240.mp4"), "--model", str(small_checkpoint_96x128),
                 "--detector", str(assets / "models" / "yolo11n-pose.pt"), "--face-model", str(landmark_files["face"]),
                 "--hand-model", str(landmark_files["hand"]), "--max-frames", "2", "-o", str(out), "--json",
                 "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "whole body: face" in err and "hands" in err
    body = list(csv.DictReader(out.open()))
    parts = list(csv.DictReader((tmp_path / "gym.wholebody.csv").open()))
    assert len(parts) == len(body) >= 2
    boxes = PartBoxes(COCO_17)
    estimated = 0
    for b, p in zip(body, parts):
        assert (b["frame"], b["person_id"]) == (p["frame"], p["person_id"])
        xy = np.array([[float(b[f"{n}_x"]), float(b[f"{n}_y"])] for n in COCO_17.names], np.float32)
        scores = np.array([float(b[f"{n}_score"]) for n in COCO_17.names], np.float32)
        for part, labels in (("face", [f"face_{i}" for i in range(68)]),
                             ("left_hand", [f"left_hand_{n}" for n in HAND_21.names])):
            expected = boxes.box(part, xy, scores)
            if expected is None:
                assert p[f"{part}_box_x1"] == ""
                continue
            box = np.array([float(p[f"{part}_box_{c}"]) for c in ("x1", "y1", "x2", "y2")])
            np.testing.assert_allclose(box, expected, atol=0.05)  # the box the body CSV's keypoints give
            points = np.array([[float(p[f"{label}_x"]), float(p[f"{label}_y"])] for label in labels])
            centre, reach = (box[:2] + box[2:]) / 2, (box[2] - box[0]) * 1.25 / 2 + 1  # the padded crop
            assert np.all(np.abs(points - centre) <= reach)
            estimated += 1
    assert estimated >= 2
    entries = json.loads((tmp_path / "gym.poses.json").read_text())
    with_face = [e for e in entries if "face_kpts" in e]
    assert with_face and all(len(e["face_kpts"]) == 68 * 3 and len(e["face_box"]) == 4 for e in with_face)


def test_whole_body_from_the_settings_panel(qtbot, window, landmark_files, videos, tmp_path):
    from PySide6.QtCore import QSettings, Qt

    for name in ("face", "hand"):  # File ▸ Import model…: a landmark model goes to the Whole body pickers
        job = window.models.import_file(landmark_files[name])
        qtbot.waitUntil(job.isFinished, timeout=30_000)
    box = window.panel.wholebody  # each picker: off, ours, 2 to download (each import refreshes them when it is done)
    qtbot.waitUntil(lambda: box.face_combo.count() == box.hand_combo.count() == 4, timeout=10_000)
    assert window.panel.model_combo.currentData() == "w8"  # the body model stays
    assert window.panel.model_combo.findData("face_hrnetv2_w8_128x128") == -1  # not a body model
    assert box.face_model is None and box.hand_model is None  # off by default
    for combo in (box.face_combo, box.hand_combo):
        combo.setFocus()
        qtbot.keyClick(combo, Qt.Key.Key_Down)  # off → the installed model, as a user picks it
    assert (box.face_model, box.hand_model) == ("face_hrnetv2_w8_128x128", "hand_hrnetv2_w8_128x128")
    qtbot.waitUntil(lambda: window.worker.pipeline is not None and window.worker.pipeline.wholebody is not None
                    and window.worker.pipeline.wholebody.hands is not None, timeout=60_000)
    seen = []
    window.worker.resultReady.connect(lambda live: seen.append(live))
    window.review.choose_folder(tmp_path)  # a review file (below) goes here, not beside the shared clip
    window.sources.open_path(videos / "single_person_basketball_portrait_1080x1920.mp4")  # 40 frames
    qtbot.waitUntil(lambda: any(p.parts for live in seen for p in live.result.persons), timeout=60_000)
    qtbot.mouseClick(window.player.play_button, Qt.MouseButton.LeftButton)  # pause
    qtbot.wait(300)
    for _ in range(20):  # step to a frame whose persons have landmarks
        if any(p.parts for p in window.view.persons):
            break
        count = len(seen)
        qtbot.mouseClick(window.player.step_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(seen) == count + 1, timeout=10_000)
    landmarks = sum(len(part.scores) for p in window.view.persons for part in p.parts.values())
    drawn = window.view.joints_drawn
    box.threshold_slider.setFocus()
    qtbot.keyClick(box.threshold_slider, Qt.Key.Key_End)  # landmark threshold 1.0: no landmark drawn
    assert window.panel.overlay_options().part_threshold == 1.0
    qtbot.waitUntil(lambda: window.view.joints_drawn < drawn, timeout=5000)
    assert landmarks and drawn - window.view.joints_drawn <= landmarks  # only landmarks went

    # correct the frame: a hand shown on it follows the wrist dragged with the mouse, as it does in the exports
    hand_of = {p.track_id: sorted({"left_hand", "right_hand"} & set(p.parts)) for p in window.view.persons}
    track, part = next((t, parts[0]) for t, parts in hand_of.items() if parts)
    before = next(p for p in window.view.persons if p.track_id == track).parts[part].bbox.copy()
    wrist = COCO_17.names.index(part.replace("_hand", "_wrist"))
    qtbot.keyClick(window, Qt.Key.Key_E)  # correct this frame
    start = next(p for p in window.review.editor.persons if p.track_id == track).keypoints[wrist]
    a, b = (window.view.to_widget(*xy).toPoint() for xy in (start, start + np.array([0.0, 120.0])))
    qtbot.mousePress(window.view, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(window.view, b)
    qtbot.mouseRelease(window.view, Qt.MouseButton.LeftButton, pos=b)
    qtbot.keyClick(window, Qt.Key.Key_E)  # done: the corrected frame is shown as corrected
    shown = next(p for p in window.view.persons if p.track_id == track)
    assert shown.corrected is not None and shown.corrected[wrist]
    expected = window.worker.pipeline.wholebody.boxes.box(part, shown.keypoints, shown.scores)
    np.testing.assert_allclose(shown.parts[part].bbox, expected, atol=0.01)
    assert not np.allclose(shown.parts[part].bbox, before)

    dialog = window.outputs.export_keypoints()
    out = tmp_path / "portrait.poses.csv"
    dialog.csv_edit.setText(str(out))
    dialog.accept()
    qtbot.waitUntil(lambda: window.outputs.export_job is not None and window.outputs.export_job.isFinished(),
                    timeout=120_000)
    rows = list(csv.DictReader((tmp_path / "portrait.wholebody.csv").open()))
    assert len(rows) == len(list(csv.DictReader(out.open()))) and any(r["right_hand_wrist_x"] for r in rows)
    window.save_settings()
    settings = QSettings(window.settings.fileName(), QSettings.Format.IniFormat)
    assert settings.value("faceModel") == "face_hrnetv2_w8_128x128" and settings.value("partThreshold", type=int) == 100


# ----- face and hand metrics (mmpose's definitions) ---------------------------------------------------------------
def test_landmark_metrics_follow_mmposes_definitions():
    from hrnet_studio.training.evaluate import (
        landmark_auc,
        landmark_epe,
        landmark_nme,
        landmark_pck,
    )

    gt = np.zeros((2, 68, 2))
    gt[0, 45], gt[1, 45] = (10, 0), (20, 0)  # outer eye corners 10 and 20 px apart
    preds = gt.copy()
    preds[0, 5] += (3, 4)  # 5 px off in the first face, 0.5 of its eye distance
    vis = np.ones((2, 68))
    assert landmark_nme(preds, gt, vis, (36, 45)) == pytest.approx(0.5 / 136)  # over all 136 labelled points
    vis[1] = 0  # only the first face labelled
    assert landmark_nme(preds, gt, vis, (36, 45)) == pytest.approx(0.5 / 68)

    hands = np.zeros((2, 21, 2))
    guess = hands.copy()
    guess[:, :, 0] = 15  # every point 15 px off
    guess[1, 0, 0] = 0
    vis = np.ones((2, 21))
    vis[1, 1:] = 0  # the second hand: only its wrist labelled
    size = np.array([100.0, 100.0])
    # per point, then averaged over points: the wrist is right in one hand of two, every other point wrong
    assert landmark_pck(guess, hands, vis, size, 0.1) == pytest.approx(0.5 / 21)
    assert landmark_pck(guess, hands, vis, size, 0.16) == pytest.approx(1.0)
    assert landmark_epe(guess, hands, vis) == pytest.approx(15 * 21 / 22)
    # 15 px of 30: under the thresholds 0.55 … 0.95 (9 of 20); the exact wrist under all but 0
    only_wrong = np.ones((2, 21))
    only_wrong[1] = 0
    assert landmark_auc(guess, hands, only_wrong) == pytest.approx(9 / 20)
    assert landmark_auc(hands, hands, only_wrong) == pytest.approx(19 / 20)  # threshold 0 counts nothing


def landmark_file(path, assets, kps, jitter):
    """A COCO-format file of ``kps`` landmarks on the sample's images: each person box holds a grid of points."""
    sample = json.loads((assets / "data" / "coco_sample" / "annotations" / "test_coco.json").read_text())
    rng = np.random.default_rng(0)
    annotations = []
    for ann in sample["annotations"][:6]:
        x, y, w, h = ann["bbox"]
        pts = np.stack([x + rng.uniform(0.2, 0.8, kps.num_joints) * w, y + rng.uniform(0.2, 0.8, kps.num_joints) * h],
                       axis=1)
        if jitter:
            pts[36], pts[45] = (x + 0.3 * w, y + 0.4 * h), (x + 0.7 * w, y + 0.4 * h)
        annotations.append({**ann, "keypoints": np.concatenate([pts, np.full((kps.num_joints, 1), 2)], 1)
                            .reshape(-1).round(2).tolist(), "num_keypoints": kps.num_joints})
    images = {a["image_id"] for a in annotations}
    path.write_text(json.dumps({"images": [i for i in sample["images"] if i["id"] in images],
                                "annotations": annotations,
                                "categories": [{"id": 1, "name": kps.name, "keypoints": list(kps.names),
                                                "skeleton": []}]}))
    return path


@pytest.mark.parametrize("part", ["hand", "face"])
def test_eval_reports_mmposes_landmark_metrics(part, assets, landmark_files, tmp_path, models_home, capsys):
    from hrnet_studio.cli.main import main

    kps = HAND_21 if part == "hand" else FACE_68
    annotations = landmark_file(tmp_path / f"{part}.json", assets, kps, jitter=part == "face")
    code = main(["eval", str(annotations), str(assets / "data" / "coco_sample" / "images"), "--model",
                 str(landmark_files[part]), "--device", "cpu", "--no-flip", "--results", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    values = {line.split()[0]: float(line.split()[1]) for line in out.splitlines() if line.strip()}
    if part == "face":
        assert list(values) == ["nme"] and 0 < values["nme"] < 10
    else:
        assert list(values) == ["pck@0.2", "auc", "epe"]
        assert 0 <= values["pck@0.2"] <= 1 and 0 <= values["auc"] <= 1 and values["epe"] > 0
    assert len(json.loads((tmp_path / "r.json").read_text())) >= 1


def test_a_corrected_frame_gets_the_hands_of_its_corrected_joints(tmp_path, small_checkpoint_96x128, landmark_files, videos):
    from hrnet_studio.export.job import export_video
    from hrnet_studio.inference.detect.detector import Detections
    from hrnet_studio.inference.pipeline import PosePipeline
    from hrnet_studio.inference.runtime.model_loading import open_pose_model
    from hrnet_studio.review.editing import FrameEditor
    from hrnet_studio.review.review_file import Review

    class TwoBoxes:
        name = "boxes"

        def detect(self, frame_bgr):
            return Detections(np.array([[40, 30, 160, 220], [220, 30, 340, 220]], np.float32), np.array([0.9, 0.8]))

    body = open_pose_model(str(small_checkpoint_96x128), backend="torch", device="cpu")
    hands = open_pose_model(str(landmark_files["hand"]), backend="torch", device="cpu")
    stage = WholeBodyStage(body.spec.keypoints, hands=LandmarkModel(hands.backend, hands.spec, "hand"))
    pipeline = PosePipeline(body.backend, body.spec, TwoBoxes(), wholebody=stage)
    clip = "two_people_basketball_gym_426x240.mp4"
    review = Review.open(tmp_path / clip, COCO_17)
    first = pipeline.estimate(np.zeros((240, 426, 3), np.uint8), TwoBoxes().detect(None))
    for p, track in zip(first, (1, 2)):
        p.track_id = track
    editor = FrameEditor(review, 2, first)
    elbow, wrist = COCO_17.names.index("left_elbow"), COCO_17.names.index("left_wrist")
    editor.move_joint(1, elbow, 300.0, 100.0)
    editor.move_joint(1, wrist, 300.0, 140.0)  # the forearm points down: the hand box lies below the wrist
    out = tmp_path / "gym.poses.csv"
    export_video(videos / clip, pipeline, out, max_frames=3, review=review)
    rows = [r for r in csv.DictReader((tmp_path / "gym.wholebody.csv").open()) if r["frame"] == "2"]
    person = next(r for r in rows if r["person_id"] == "2")
    box = [float(person[f"left_hand_box_{c}"]) for c in ("x1", "y1", "x2", "y2")]
    np.testing.assert_allclose(box, [284, 138, 316, 170], atol=0.01)  # centre (300, 154), side 32
