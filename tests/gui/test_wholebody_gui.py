"""A whole-body (COCO-WholeBody 133) model in the app: picked like any model, its faces and hands without the landmark
models (the Whole body box says so), feet on the body, and every part in the joint picker, grouped."""
import numpy as np
from conftest import results_collector
from helpers import wholebody_w8

LOAD_TIMEOUT = 60_000


def test_a_wholebody_model_runs_in_the_app_with_its_parts_grouped_in_the_joint_picker(qtbot, window, videos,
                                                                                       tmp_path):
    box = window.panel.wholebody
    assert not box.built_in_note.isVisibleTo(box) and box.face_combo.isEnabled()
    path, _ = wholebody_w8(tmp_path)
    window.models.import_file(path)  # File ▸ Import model… then selects it
    qtbot.waitUntil(lambda: window.model_info.name == "hrnet_w8_coco_wholebody_256x192", timeout=LOAD_TIMEOUT)
    assert box.built_in_note.isVisibleTo(box) and not box.face_combo.isEnabled() and not box.hand_combo.isEnabled()
    seen = results_collector(window)
    window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=30_000)
    window.sources.set_playing(False)
    live = seen[-1]
    person = live.result.persons[0]
    assert live.keypoints.name == "coco23" and person.keypoints.shape == (23, 2)
    assert {part: found.keypoints.shape for part, found in person.parts.items()} == {
        "face": (68, 2), "left_hand": (21, 2), "right_hand": (21, 2)}
    plot = window.joint_plot
    combo = plot.joint_box
    headers = [combo.itemText(i) for i in range(combo.count()) if not combo.model().item(i).isEnabled()]
    assert headers == ["Body", "Feet", "Face", "Left hand", "Right hand"]
    assert combo.currentData() == ("body", 0)  # the first joint, not a title
    heel = combo.findText("  left_heel")
    assert combo.itemData(heel) == ("body", 19)
    combo.setCurrentIndex(combo.findText("  face_30"))  # the nose tip, from the model's face
    track = plot.person_box.currentData()
    qtbot.waitUntil(lambda: len(plot.series()[0]) >= 2, timeout=30_000)
    t, x, y = plot.series()
    last = next(p for live in reversed(seen) for p in live.result.persons if p.track_id == track)
    assert np.isfinite(x).all() and (x[-1], y[-1]) == tuple(last.parts["face"].keypoints[30])
    dialog = window.outputs.export_keypoints()  # gait events need feet: this model has them
    assert dialog.gait_check.isEnabled()
    dialog.reject()
