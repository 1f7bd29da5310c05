"""From corrections to a model: the reviewed video's corrected frames added to a training set, and the fine-tune
wizard opened on that set."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from ...errors import StudioError, user_message
from ...paths import review_sets_dir
from ...review.training_set import add_to_training_set
from ..finetune.data_page import remember_review_set
from ..window_part import WindowPart


class ReviewSetFlow(WindowPart):
    """The Review panel's "Add corrected frames to a training set…" and "Fine-tune on it…"."""

    def __init__(self, window, control) -> None:
        super().__init__(window)
        self.control = control
        self.last: Path | None = None  # the set written last, for the wizard
        control.panel.add_button.clicked.connect(lambda: self.add())
        control.panel.finetune_button.clicked.connect(self.finetune)

    def add(self, folder: Path | None = None) -> Path | None:
        """Add every corrected frame to a COCO training set: ``folder``, or one the user picks (by default the video's
        own folder under the review sets folder). Returns the folder, or None (cancelled, or said why not)."""
        review, path = self.control.review, self.control.source_path()
        if review is None or path is None:
            self.window.show_error("open the reviewed video first")
            return None
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Training set folder",
                                                      str(review_sets_dir() / path.stem))
            if not chosen:
                return None
            folder = Path(chosen)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            report = add_to_training_set(review, path, folder)
        except StudioError as exc:
            self.window.show_error(str(exc))
            return None
        except Exception as exc:  # never a traceback: say what broke
            self.window.show_error(user_message(exc, "adding to the training set"))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        remember_review_set(self.window.settings, folder)
        self.last = folder
        panel = self.control.panel
        panel.status_label.setText(
            f"Added {report.frames_added} new and {report.frames_replaced} updated frame(s), {report.persons} "
            f"person(s), to {folder} ({report.total_images} images in the set).")
        panel.finetune_button.setEnabled(True)
        return folder

    def finetune(self):
        """Open the fine-tune wizard on the training set just written."""
        wizard = self.window.open_finetune_wizard()
        if self.last is not None:
            wizard.data_page.use_review_set(self.last)
        return wizard
