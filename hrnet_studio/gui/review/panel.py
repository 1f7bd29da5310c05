"""The Review dock's widgets: suggestions, the editing switches, identity fixes, undo/redo and the training set.

Only widgets live here; ``review_control.ReviewControl`` gives them their behaviour."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...review.review_file import SUGGESTIONS

SHORTCUTS = ("E correct this frame · B draw a missed person · drag a joint to move it · V visible/occluded/"
             "not labelled · [ ] previous/next joint · Del delete the selected person · N / Shift+N next/previous "
             "suggestion · Ctrl+Z / Ctrl+Shift+Z undo/redo")


class ReviewPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("reviewPanel")
        layout = QVBoxLayout(self)

        find = QGroupBox("Frames to look at")
        find_layout = QVBoxLayout(find)
        row = QHBoxLayout()
        self.suggest_button = QPushButton("Suggest frames to review", objectName="suggestButton")
        self.count_spin = QSpinBox(objectName="suggestCount", minimum=1, maximum=200, value=SUGGESTIONS)
        self.count_spin.setToolTip("how many frames to suggest, spread over the video")
        row.addWidget(self.suggest_button, 1)
        row.addWidget(self.count_spin)
        find_layout.addLayout(row)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar(objectName="suggestProgress", visible=False)
        self.cancel_button = QPushButton("Cancel", objectName="suggestCancel", visible=False)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        find_layout.addLayout(progress_row)
        self.suggestion_list = QListWidget(objectName="suggestionList")
        self.suggestion_list.setMinimumHeight(120)
        find_layout.addWidget(self.suggestion_list, 1)
        layout.addWidget(find, 1)

        edit = QGroupBox("Correct")
        grid = QGridLayout(edit)
        self.edit_button = QPushButton("Correct this frame (E)", objectName="editButton", checkable=True)
        self.box_button = QPushButton("Draw a missed person (B)", objectName="boxButton", checkable=True)
        self.visibility_button = QPushButton("Visible / occluded (V)", objectName="visibilityButton")
        self.delete_button = QPushButton("Delete person (Del)", objectName="deletePersonButton")
        self.undo_button = QPushButton("Undo", objectName="undoButton")
        self.redo_button = QPushButton("Redo", objectName="redoButton")
        for i, button in enumerate((self.edit_button, self.box_button, self.visibility_button, self.delete_button,
                                    self.undo_button, self.redo_button)):
            grid.addWidget(button, i // 2, i % 2)
        self.id_a = QComboBox(objectName="idA")
        self.id_b = QComboBox(objectName="idB")
        self.swap_button = QPushButton("Swap IDs from here", objectName="swapButton")
        self.merge_button = QPushButton("Merge first into second from here", objectName="mergeButton")
        ids = QHBoxLayout()
        ids.addWidget(QLabel("IDs"))
        ids.addWidget(self.id_a)
        ids.addWidget(self.id_b)
        grid.addLayout(ids, 3, 0, 1, 2)
        grid.addWidget(self.swap_button, 4, 0)
        grid.addWidget(self.merge_button, 4, 1)
        layout.addWidget(edit)

        self.add_button = QPushButton("Add corrected frames to a training set…", objectName="addToSetButton")
        self.finetune_button = QPushButton("Fine-tune on it…", objectName="finetuneOnSetButton", enabled=False)
        layout.addWidget(self.add_button)
        layout.addWidget(self.finetune_button)
        self.status_label = QLabel("Open a video to review it.", objectName="reviewStatus", wordWrap=True)
        self.status_label.setMinimumHeight(self.status_label.fontMetrics().lineSpacing() * 3)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.status_label)
        help_label = QLabel("Shortcuts: hover here, or see the Review menu", wordWrap=True, toolTip=SHORTCUTS)
        help_label.setStyleSheet("color: gray")
        layout.addWidget(help_label)

    def set_ids(self, ids: list[int]) -> None:
        """The track IDs of the frame being corrected, for the swap and merge boxes."""
        for combo, pick in ((self.id_a, 0), (self.id_b, 1)):
            combo.clear()
            for track_id in ids:
                combo.addItem(f"#{track_id}", track_id)
            combo.setCurrentIndex(min(pick, combo.count() - 1))
