"""Review, correct, fine-tune, driven through the real window: suggestions, mouse drags on the view, shortcuts,
undo/redo, identity fixes, the review file read again, the training set, and the wizard training on it."""
import json
import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from hrnet_studio.review.review_file import OCCLUDED, Review

TRAIN_TIMEOUT = 240_000

CLIP = "two_people_basketball_gym_426x240.mp4"


@pytest.fixture
def short_clip(tmp_path, videos):
    """The first 24 frames of a shared two-person clip, in a folder of its own (its review file goes beside it)."""
    source = cv2.VideoCapture(str(videos / CLIP))
    path = tmp_path / "clip" / "gym.avi"
    path.parent.mkdir()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (426, 240))
    for _ in range(24):
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    return path


def point(view, x, y) -> QPoint:
    return view.to_widget(x, y).toPoint()


def drag(qtbot, view, start, end) -> None:
    a, b = point(view, *start), point(view, *end)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
    for t in (0.3, 0.7, 1.0):
        mid = QPoint(round(a.x() + (b.x() - a.x()) * t), round(a.y() + (b.y() - a.y()) * t))
        qtbot.mouseMove(view, mid)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)


def wait_frame(qtbot, window, index) -> None:
    qtbot.waitUntil(lambda: window.latest is not None and window.latest.frame.index == index, timeout=30_000)


def test_review_correct_and_fine_tune_on_the_corrections(qtbot, app_window, short_clip, tmp_path, monkeypatch):
    window = app_window
    view, control, panel = window.view, window.review, window.review.panel
    window.resize(1280, 800)
    assert window.sources.open_path(short_clip)
    wait_frame(qtbot, window, 0)
    window.sources.set_playing(False)

    panel.suggest_button.click()
    qtbot.waitUntil(lambda: panel.suggestion_list.count() > 0, timeout=120_000)
    frames = [panel.suggestion_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(panel.suggestion_list.count())]
    assert len(frames) <= 10 and len(set(frames)) == len(frames)
    assert json.loads(Review.path_for(short_clip).read_text())["suggestions"]  # kept in the review file

    target = sorted(frames)[0]
    panel.suggestion_list.itemClicked.emit(panel.suggestion_list.item(frames.index(target)))
    wait_frame(qtbot, window, target)
    qtbot.keyClick(window, Qt.Key.Key_E)  # correct this frame
    assert control.editor is not None and view.editing and panel.edit_button.isChecked()
    editor = control.editor
    assert len(editor.persons) == 2

    # drag a joint with the mouse
    joint = int(np.argmax(editor.persons[0].scores))
    start = editor.persons[0].keypoints[joint].copy()
    end = start + np.array([14.0, -9.0])
    drag(qtbot, view, start, end)
    moved = editor.persons[0].keypoints[joint]
    assert np.abs(moved - end).max() < 1.5 / view.scale() + 0.5 and editor.persons[0].corrected[joint]
    saved = Review.open(short_clip, window.latest.keypoints).frame(target)
    assert np.allclose(saved.persons[0].keypoints[joint], moved, atol=0.01)  # written at once

    qtbot.keyClick(window, Qt.Key.Key_V)  # the selected joint: occluded
    assert editor.persons[0].visible[joint] == OCCLUDED

    # draw a box for a missed person: its joints are estimated for that box
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert panel.box_button.isChecked()
    drag(qtbot, view, (5, 120), (60, 235))
    assert len(editor.persons) == 3 and editor.persons[2].added and not panel.box_button.isChecked()
    added = editor.persons[2]
    assert (added.bbox[[0, 2]].min() >= 0 and added.keypoints[:, 0].min() > -40 and added.keypoints[:, 0].max() < 110)
    new_id = added.track_id
    assert new_id not in {p.track_id for p in editor.persons[:2]}

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(editor.persons) == 2
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(editor.persons) == 3

    # swap the two tracked people from this frame on
    ids = [p.track_id for p in editor.persons[:2]]
    panel.id_a.setCurrentIndex(panel.id_a.findData(ids[0]))
    panel.id_b.setCurrentIndex(panel.id_b.findData(ids[1]))
    panel.swap_button.click()
    assert [p.track_id for p in editor.persons[:2]] == ids[::-1]

    qtbot.keyClick(window, Qt.Key.Key_E)  # done with this frame
    assert control.editor is None and not view.editing

    # later frames follow the swap; the corrected frame is shown as corrected when it comes round again
    later = min(target + 3, 23)
    window.sources.seek(later)
    wait_frame(qtbot, window, later)
    assert view.decorate is None and sorted(p.track_id for p in view.persons) == sorted(ids)
    window.sources.seek(target)
    wait_frame(qtbot, window, target)
    assert view.decorate is not None and len(view.persons) == 3

    # the review is read again when the video is opened again
    window.sources.open_path(short_clip)
    wait_frame(qtbot, window, 0)
    window.sources.set_playing(False)
    window.sources.seek(target)
    wait_frame(qtbot, window, target)
    assert control.review.frame(target) is not None and view.decorate is not None

    # a second corrected frame, then both go to a training set
    window.sources.seek(target + 1)
    wait_frame(qtbot, window, target + 1)
    qtbot.keyClick(window, Qt.Key.Key_E)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)  # the first person's next joint is selected
    qtbot.keyClick(window, Qt.Key.Key_V)
    qtbot.keyClick(window, Qt.Key.Key_E)
    assert sorted(control.review.frames) == [target, target + 1]

    dataset = tmp_path / "my-corrections"
    monkeypatch.setattr("hrnet_studio.gui.review.training_set_flow.QFileDialog.getExistingDirectory",
                        lambda *a, **k: str(dataset))
    panel.add_button.click()
    data = json.loads((dataset / "annotations.json").read_text())
    assert sorted(im["frame_index"] for im in data["images"]) == [target, target + 1]
    assert "Added 2 new" in panel.status_label.text() and panel.finetune_button.isEnabled()

    # the wizard opens on that set and trains on it; the result is selectable at once
    panel.finetune_button.click()
    wizard = window.finetune_wizard
    page = wizard.data_page
    assert page.annotation_edit.text() == str(dataset / "annotations.json")
    assert page.review_combo.findData(str(dataset.resolve())) >= 0
    qtbot.waitUntil(lambda: page.isComplete(), timeout=30_000)
    wizard.next()
    wizard.next()
    settings = wizard.settings_page
    settings.name_edit.setText("gym-corrected")
    settings.epochs_spin.setValue(1)
    settings.batch_spin.setValue(4)
    settings.input_combo.setCurrentText("96×128")
    settings.device_combo.setCurrentText("cpu")
    wizard.next()
    training = wizard.training_page
    qtbot.waitUntil(lambda: training.state in ("stopped", "failed", "done"), timeout=TRAIN_TIMEOUT)
    assert training.state == "done", training.status_label.text()
    wizard.next()
    wizard.accept()
    qtbot.waitUntil(lambda: window.model_info is not None and window.model_info.name == "gym-corrected",
                    timeout=60_000)


def test_a_broken_review_file_is_one_message_and_the_video_still_plays(qtbot, app_window, short_clip):
    Review.path_for(short_clip).write_text("{broken")
    assert app_window.sources.open_path(short_clip)
    qtbot.waitUntil(lambda: any("review file" in e and "unreadable" in e for e in app_window.errors), timeout=30_000)
    qtbot.waitUntil(lambda: app_window.latest is not None and app_window.latest.frame.index >= 2, timeout=30_000)
    assert app_window.review.review is None
    assert len([e for e in app_window.errors if "review file" in e]) == 1  # said once, not every frame
    shutil.rmtree(short_clip.parent)


def test_a_review_file_that_cannot_be_saved_is_said_and_the_correction_kept(qtbot, app_window, short_clip,
                                                                           monkeypatch):
    from hrnet_studio.atomic_writer import WriteError

    window = app_window
    assert window.sources.open_path(short_clip)
    wait_frame(qtbot, window, 0)
    window.sources.set_playing(False)
    qtbot.waitUntil(lambda: window.latest is not None and len(window.latest.result.persons) > 0, timeout=30_000)
    qtbot.keyClick(window, Qt.Key.Key_E)

    def full_disk(self):
        raise WriteError(self.path, "No space left on device")

    monkeypatch.setattr(Review, "save", full_disk)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert any("No space left on device" in e for e in window.errors)
    assert window.review.editor.persons[0].corrected[0]  # the edit is kept in this session
    assert not Review.path_for(short_clip).exists()


def test_review_files_can_live_in_a_chosen_folder(qtbot, app_window, short_clip, tmp_path, monkeypatch):
    window = app_window
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    monkeypatch.setattr("hrnet_studio.gui.review.control.QFileDialog.getExistingDirectory", lambda *a, **k: str(reviews))
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Review")
    next(a for a in menu.actions() if a.text().startswith("&Keep review files in")).trigger()
    assert window.sources.open_path(short_clip)
    wait_frame(qtbot, window, 0)
    window.sources.set_playing(False)
    qtbot.waitUntil(lambda: window.latest is not None and len(window.latest.result.persons) > 0, timeout=30_000)
    qtbot.keyClick(window, Qt.Key.Key_E)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert (reviews / (short_clip.name + ".review.json")).is_file()
    assert not Review.path_for(short_clip).exists()
