"""Exporting the open video from the app, and cancelling an export."""
import csv

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton

PORTRAIT = "single_person_basketball_portrait_1080x1920.mp4"  # 40 frames: keeps exports quick


def test_export_from_the_gui(qtbot, window, videos, tmp_path):
    assert window.sources.open_path(videos / PORTRAIT)
    window.sources.set_playing(False)
    dialog = window.outputs.export_keypoints()
    assert dialog.csv_edit.text().endswith("single_person_basketball_portrait_1080x1920.poses.csv")
    out = tmp_path / "gui.csv"
    dialog.csv_edit.setText(str(out))
    dialog.json_check.setChecked(True)
    dialog.json_edit.setText(str(tmp_path / "gui.json"))
    qtbot.mouseClick(dialog.angles_check, Qt.MouseButton.LeftButton, pos=dialog.angles_check.rect().topLeft() + QPoint(6, 6))
    dialog.angles_edit.setText(str(tmp_path / "gui.angles.csv"))
    assert dialog.fix_swaps_check.isChecked()  # angles are asked for: left/right swaps are repaired first
    box = dialog.analysis_box
    box.filter_combo.setFocus()
    qtbot.keyClick(box.filter_combo, Qt.Key.Key_Down)  # none → Butterworth, as a user picks it
    assert box.filter_combo.currentData() == "butterworth" and box.cutoff_spin.isEnabled()
    dialog.accept()  # the Export button
    outputs = window.outputs
    qtbot.waitUntil(lambda: outputs.export_job is not None and outputs.export_job.isFinished(), timeout=120_000)
    qtbot.waitUntil(lambda: "exported" in window.statusBar().currentMessage(), timeout=5000)
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:4] == ["frame", "time_s", "time_flag", "person_id"] and rows[0][-1] == "filled"  # smoothed
    assert rows[0][-2] == "fixed" and outputs.export_job.request.fix_swaps is True
    assert sorted({int(r[0]) for r in rows[1:]}) == list(range(40))
    assert (tmp_path / "gui.json").exists() and (tmp_path / "gui.angles.csv").exists()
    assert "exported 40 frames" in window.statusBar().currentMessage()
    # The panel's "auto" detection schedule follows the machine's timing; an export detects every frame.
    assert window.panel.det_every_combo.currentData() == 0 and outputs.export_job.request.options.det_every == 1


def test_cancel_export_leaves_no_file(qtbot, window, videos, tmp_path):
    window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    window.sources.set_playing(False)
    out = tmp_path / "cancelled.csv"
    job = window.outputs.start_export(out, None, tmp_path / "cancelled.mp4")
    qtbot.waitUntil(lambda: window.outputs.export_dialog.value() >= 2, timeout=60_000)
    cancel = next(b for b in window.outputs.export_dialog.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(job.isFinished, timeout=60_000)
    qtbot.waitUntil(lambda: "export cancelled" in window.statusBar().currentMessage(), timeout=5000)
    assert list(tmp_path.glob("cancelled*")) == [] and list(tmp_path.glob(".cancelled*")) == []
    assert "export cancelled" in window.statusBar().currentMessage()


def test_swap_repair_follows_the_analysis_outputs_until_the_user_sets_it(qtbot, window, videos):
    assert window.sources.open_path(videos / PORTRAIT)
    window.sources.set_playing(False)
    dialog = window.outputs.export_keypoints()

    def click(check):
        qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=check.rect().topLeft() + QPoint(6, 6))

    assert not dialog.fix_swaps_check.isChecked()  # the CSV alone: swaps are reported, the keypoints left as found
    assert not dialog.gait_check.isEnabled() and "need foot keypoints" in dialog.gait_check.toolTip()  # COCO-17
    click(dialog.trc_check)
    assert dialog.fix_swaps_check.isChecked()
    click(dialog.fix_swaps_check)  # the user says no
    click(dialog.angles_check)
    assert not dialog.fix_swaps_check.isChecked() and dialog.fix_swaps is False
    dialog.reject()
