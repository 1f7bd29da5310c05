"""File ▸ Batch export… driven as a user drives it: videos in, an output folder typed, outputs ticked, Start
clicked; the table follows each video, and the dialog reopened on the same folder knows what is done."""
import shutil

from PySide6.QtCore import QPoint, Qt

from hrnet_studio.batch.manifest import Manifest
from hrnet_studio.gui.export.batch_dialog import BatchExportDialog

CLIPS = ("single_person_basketball_portrait_1080x1920.mp4", "two_people_portrait_1080x1920.mp4")  # 40 frames each


def click(qtbot, widget):
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().topLeft() + QPoint(6, 6))


def test_batch_export_from_the_app(qtbot, window, videos, tmp_path):
    footage = tmp_path / "footage"
    footage.mkdir()
    for name in CLIPS:
        shutil.copy(videos / name, footage / name)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.outputs.batch_dialog
    assert isinstance(dialog, BatchExportDialog) and dialog.isVisible()
    dialog.add_inputs([footage])  # what Add folder… adds
    assert dialog.table.rowCount() == 2 and dialog.table.item(0, 0).text() == CLIPS[0][:-4]
    out = tmp_path / "poses"
    dialog.out_edit.setFocus()
    qtbot.keyClicks(dialog.out_edit, str(out))
    click(qtbot, dialog.json_check)
    click(qtbot, dialog.angles_check)
    assert dialog.json_check.isChecked() and dialog.angles_check.isChecked()
    click(qtbot, dialog.start_button)
    qtbot.waitUntil(lambda: dialog.job is not None and dialog.job.isFinished(), timeout=240_000)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=5000)
    assert [dialog.table.item(r, 2).text() for r in range(2)] == ["done", "done"]
    assert dialog.summary_label.text().startswith("2 done (80 frames), 0 skipped")
    for name in CLIPS:
        for suffix in (".csv", ".json", ".angles.csv"):
            assert (out / (name[:-4] + suffix)).is_file()
    assert {r.status for r in Manifest(out).last.values()} == {"done"}
    dialog.close()

    again = BatchExportDialog(window, window.settings)  # reopened later: inputs, folder, outputs, statuses are back
    qtbot.addWidget(again)
    again.show()
    assert again.out_edit.text() == str(out) and again.inputs.count() == 1
    assert again.json_check.isChecked() and again.angles_check.isChecked() and not again.trc_check.isChecked()
    assert [again.table.item(r, 2).text() for r in range(2)] == ["done", "done"]
    click(qtbot, again.start_button)  # the same batch again: nothing left to do
    qtbot.waitUntil(lambda: again.job is not None and again.job.isFinished(), timeout=120_000)
    qtbot.waitUntil(lambda: again.start_button.isEnabled(), timeout=5000)
    assert again.summary_label.text().startswith("0 done (0 frames), 2 skipped")


def test_batch_dialog_says_what_is_missing(qtbot, window, tmp_path):
    dialog = window.outputs.open_batch_export()
    click(qtbot, dialog.start_button)
    assert dialog.summary_label.text() == "add videos or folders first" and dialog.job is None
    dialog.add_inputs([tmp_path / "nothing_here.mp4"])
    assert "video not found" in dialog.summary_label.text()
