"""Review and correct in the window: suggestions to step through, a paused frame corrected with mouse and keyboard,
the corrections kept in the video's review file and shown on every later visit, and the corrected frames added to a
training set the fine-tune wizard opens."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QListWidgetItem, QMenu

from ...errors import StudioError, user_message
from ...inference.detect.detector import Detections
from ...inference.results import PersonPose
from ...review.editing import VISIBILITY_WORDS, FrameEditor
from ...review.marks import draw_review_marks
from ...review.review_file import Review
from ...review.suggest import suggest
from ..common.jobs import SuggestJob
from ..window_part import WindowPart
from .corrected_parts import CorrectedParts
from .panel import ReviewPanel
from .training_set_flow import ReviewSetFlow

FOLDER_KEY = "review/folder"  # settings: where review files go ("" beside each video)
HIT_RADIUS = 12  # widget pixels around a joint that pick it up
MIN_BOX = 8  # frame pixels: a smaller drawn box is taken for a slip of the mouse


class ReviewControl(WindowPart):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.panel = ReviewPanel()
        self.review: Review | None = None
        self.editor: FrameEditor | None = None
        self.job: SuggestJob | None = None
        self.known_ids: set[int] = set()
        self._failed_for: tuple | None = None  # the source and keypoints whose review could not be read
        self._drag: tuple[int, int, np.ndarray] | None = None
        self._box_start: tuple[float, float] | None = None
        self.corrected_parts = CorrectedParts(window.show_error)  # faces and hands on corrected frames
        p = self.panel
        p.suggest_button.clicked.connect(self.start_suggestions)
        p.cancel_button.clicked.connect(lambda: self.job.cancel() if self.job else None)
        p.suggestion_list.itemActivated.connect(self._go_to_item)
        p.suggestion_list.itemClicked.connect(self._go_to_item)
        p.edit_button.clicked.connect(lambda checked: self.start_editing() if checked else self.stop_editing())
        p.box_button.toggled.connect(lambda _: self._refresh())
        p.visibility_button.clicked.connect(self.cycle_visibility)
        p.delete_button.clicked.connect(self.delete_selected)
        p.undo_button.clicked.connect(self.undo)
        p.redo_button.clicked.connect(self.redo)
        p.swap_button.clicked.connect(lambda: self._fix_ids("swap"))
        p.merge_button.clicked.connect(lambda: self._fix_ids("merge"))
        self.sets = ReviewSetFlow(window, self)
        view = window.view
        view.pressed.connect(self._pressed)
        view.dragged.connect(self._dragged)
        view.released.connect(self._released)
        self._refresh()

    def build_menu(self, menu: QMenu) -> None:
        w = self.window
        self.edit_action = w._action(menu, "&Correct this frame", self.toggle_editing, "E")
        self.box_action = w._action(menu, "Draw a &missed person", self.panel.box_button.toggle, "B")
        self.visibility_action = w._action(menu, "Toggle &visibility", self.cycle_visibility, "V")
        w._action(menu, "Next joint", lambda: self._step_joint(1), "]")
        w._action(menu, "Previous joint", lambda: self._step_joint(-1), "[")
        self.delete_action = w._action(menu, "&Delete person", self.delete_selected, Qt.Key.Key_Delete)
        menu.addSeparator()
        w._action(menu, "&Next suggestion", lambda: self.go_to_suggestion(1), "N")
        w._action(menu, "&Previous suggestion", lambda: self.go_to_suggestion(-1), "Shift+N")
        w._action(menu, "&Suggest frames to review", self.start_suggestions)
        menu.addSeparator()
        w._action(menu, "&Undo correction", self.undo, "Ctrl+Z")
        w._action(menu, "&Redo correction", self.redo, "Ctrl+Shift+Z")
        menu.addSeparator()
        w._action(menu, "&Add corrected frames to a training set…", lambda: self.sets.add())
        w._action(menu, "&Keep review files in…", self.choose_folder)

    def folder(self) -> Path | None:
        """Where review files go: a folder the user chose, or None for beside each video."""
        chosen = self.window.settings.value(FOLDER_KEY, "", str)
        return Path(chosen) if chosen else None

    def choose_folder(self, folder: Path | None = None) -> None:
        """Keep review files in ``folder`` (asked for when not given; cancelling keeps them beside the videos)."""
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Keep review files in (cancel: beside each video)",
                                                      str(self.folder() or Path.home()))
            folder = Path(chosen) if chosen else None
        self.window.settings.setValue(FOLDER_KEY, str(folder) if folder else "")
        self._failed_for = None
        self._set_review(None)  # opened again, from the new place, with the next frame

    # ----- the review of the open source ------------------------------------------------------------------
    def source_path(self) -> Path | None:
        source = self.window.source
        return Path(source.path) if source is not None and not source.is_live and hasattr(source, "path") else None

    def shown_persons(self, live) -> list[PersonPose]:
        """The persons to draw for a result: the frame being corrected, a corrected frame (with its marks), or the
        prediction with the identity fixes applied."""
        self._ensure_review(live.keypoints)
        view = self.window.view
        if self.editor is not None:
            if live.frame.index == self.editor.frame_index and self.review is not None:
                view.decorate = self._edit_marks
                return [p.to_pose() for p in self.editor.persons]
            self.stop_editing(redraw=False)
        view.decorate = None
        if self.review is None:
            return live.result.persons
        persons = self.review.apply(live.result).persons
        reviewed = self.review.frame(live.frame.index)
        if reviewed is None:
            return persons
        view.decorate = lambda canvas: draw_review_marks(canvas, reviewed)
        return self.corrected_parts.follow(self.window.worker.pipeline, live.frame.image, live.frame.index, persons)

    def _ensure_review(self, keypoints) -> None:
        path = self.source_path()
        if path is None:
            self._set_review(None)
            return
        folder = self.folder()
        if self.review is not None and self.review.video == path.name and self.review.keypoints == keypoints \
                and self.review.path == Review.path_for(path, folder):
            return
        if self._failed_for == (path, keypoints):
            return
        try:
            review = Review.open(path, keypoints, folder)
        except StudioError as exc:
            self._failed_for = (path, keypoints)
            self._set_review(None)
            self.window.show_error(str(exc))
            return
        self._set_review(review)

    def _set_review(self, review: Review | None) -> None:
        if review is self.review:
            return
        self.stop_editing(redraw=False)
        self.review, self.known_ids = review, set()
        self._fill_suggestions()
        self._refresh()

    def for_export(self) -> Review | None:
        """The open video's review when it holds corrections, for an export of that video (read now if no frame has
        been shown yet: an export right after opening the video uses the corrections too)."""
        pipeline = self.window.worker.pipeline
        if pipeline is not None:
            self._ensure_review(pipeline.keypoints)
        review = self.review
        return review if review is not None and (review.frames or review.fixes) else None

    # ----- suggestions --------------------------------------------------------------------------------------
    def start_suggestions(self) -> SuggestJob | None:
        path = self.source_path()
        if path is None or self.review is None or self.window.model_info is None:
            self.window.show_error("open a video (or an image folder) with a pose model loaded to review it")
            return None
        if self.job is not None and self.job.isRunning():
            return self.job
        self.window.sources.set_playing(False)
        job = self.job = SuggestJob(path, self.window.current_choice(), self.window.panel.options())
        p = self.panel
        p.progress.setRange(0, max(self.window.source.frame_count, 0))
        p.progress.setValue(0)
        p.progress.setVisible(True)
        p.cancel_button.setVisible(True)
        p.suggest_button.setEnabled(False)
        job.progress.connect(lambda done, total: (p.progress.setMaximum(total), p.progress.setValue(done)))
        job.done.connect(self._suggested)
        job.failed.connect(self.window.show_error)
        job.finished.connect(self._job_ended)
        job.start()
        return job

    def _suggested(self, checks) -> None:
        if self.review is None:
            return
        self.known_ids = {p.track_id for c in checks for p in c.persons if p.track_id >= 0}
        self.review.suggestions = suggest(checks, self.panel.count_spin.value())
        self._save()
        self._fill_suggestions()
        self.window.statusBar().showMessage(
            f"{len(self.review.suggestions)} frames suggested from {len(checks)} scanned: N steps through them", 15000)

    def _job_ended(self) -> None:
        p = self.panel
        p.progress.setVisible(False)
        p.cancel_button.setVisible(False)
        p.suggest_button.setEnabled(True)

    def _fill_suggestions(self) -> None:
        box = self.panel.suggestion_list
        box.clear()
        for s in self.review.suggestions if self.review else []:
            done = " ✓" if self.review.frame(s.frame_index) is not None else ""
            item = QListWidgetItem(f"frame {s.frame_index}: {', '.join(s.reasons)}{done}")
            item.setData(Qt.ItemDataRole.UserRole, s.frame_index)
            box.addItem(item)

    def _go_to_item(self, item: QListWidgetItem) -> None:
        self.go_to_frame(int(item.data(Qt.ItemDataRole.UserRole)))

    def go_to_frame(self, index: int) -> None:
        self.window.sources.set_playing(False)
        self.window.sources.seek(index)

    def go_to_suggestion(self, step: int) -> None:
        """The next (``step`` 1) or previous (−1) suggested frame after or before the one shown, in video order."""
        if self.review is None or not self.review.suggestions:
            return
        current = self.window.latest.frame.index if self.window.latest is not None else -1
        frames = sorted(s.frame_index for s in self.review.suggestions)
        ahead = [f for f in frames if f > current] if step > 0 else [f for f in frames if f < current][::-1]
        if ahead:
            self.go_to_frame(ahead[0])

    # ----- editing ------------------------------------------------------------------------------------------
    def toggle_editing(self) -> None:
        self.stop_editing() if self.editor is not None else self.start_editing()

    def start_editing(self) -> bool:
        """Correct the frame on screen (playback pauses); False with a message when there is none to correct."""
        live = self.window.latest
        if self.review is None or live is None or self.source_path() is None:
            self.window.show_error("pause on a frame of a video or an image folder to correct it")
            self._refresh()
            return False
        self.window.sources.set_playing(False)
        shown = self.review.apply(live.result).persons
        self.editor = FrameEditor(self.review, live.frame.index, shown, known_ids=self.known_ids)
        self.window.view.editing = True
        self._redraw()
        return True

    def stop_editing(self, redraw: bool = True) -> None:
        if self.editor is None:
            return
        self.editor = None
        self._drag = self._box_start = None
        view = self.window.view
        view.editing, view.rubber_band = False, None
        self.panel.box_button.setChecked(False)
        self._fill_suggestions()
        if redraw and self.window.latest is not None:
            live = self.window.latest
            view.show_frame(live.frame.image, self.shown_persons(live), live.keypoints)
        self._refresh()

    def _edit_marks(self, canvas: np.ndarray) -> None:
        if self.editor is not None:
            draw_review_marks(canvas, self.editor.frame, self.editor.selected, editing=True)

    def _redraw(self) -> None:
        view = self.window.view
        if self.editor is not None:
            view.persons = [p.to_pose() for p in self.editor.persons]
            view.decorate = self._edit_marks
            view.redraw()
        self._refresh()

    def _pressed(self, x: float, y: float) -> None:
        editor = self.editor
        if editor is None:
            return
        if self.panel.box_button.isChecked():
            self._box_start = (x, y)
            self.window.view.rubber_band = (x, y, x, y)
            return
        hit = editor.joint_at(x, y, HIT_RADIUS / self.window.view.scale())
        if hit is not None:
            editor.select(*hit)
            self._drag = (*hit, editor.persons[hit[0]].keypoints[hit[1]].copy())
        elif (person := editor.person_at(x, y)) is not None:
            editor.select(person, editor.selected[1] if editor.selected else 0)
        self._redraw()

    def _dragged(self, x: float, y: float) -> None:
        if self._box_start is not None:
            self.window.view.rubber_band = (*self._box_start, x, y)
            self.window.view.update()
        elif self._drag is not None and self.editor is not None:
            person, joint, _ = self._drag
            self.editor.persons[person].keypoints[joint] = (x, y)  # shown while dragging; one undo step on release
            self._redraw()

    def _released(self, x: float, y: float) -> None:
        editor = self.editor
        if editor is None:
            return
        if self._box_start is not None:
            x0, y0 = self._box_start
            self._box_start, self.window.view.rubber_band = None, None
            self.panel.box_button.setChecked(False)
            if abs(x - x0) >= MIN_BOX and abs(y - y0) >= MIN_BOX:
                box = np.array([min(x0, x), min(y0, y), max(x0, x), max(y0, y)])
                estimated = self._estimate(box)
                self._do(lambda: editor.add_person(box, estimated, self.review.keypoints.num_joints))
        elif self._drag is not None:
            person, joint, start = self._drag
            self._drag = None
            editor.persons[person].keypoints[joint] = start
            if np.hypot(x - start[0], y - start[1]) > 0.5:
                self._do(lambda: editor.move_joint(person, joint, x, y))
        self._redraw()

    def _estimate(self, box: np.ndarray) -> PersonPose | None:
        """The model's joints for a drawn box (the worker's pipeline, on the paused frame; it is idle)."""
        pipeline, live = self.window.worker.pipeline, self.window.latest
        if pipeline is None or live is None:
            return None
        found = Detections(box[None].astype(np.float32), np.ones(1, np.float32))
        try:
            return pipeline.estimate(live.frame.image, found)[0]
        except Exception as exc:  # the person is added without joints; the user places them
            self.window.show_error(user_message(exc, "estimating the drawn person"))
            return None

    def cycle_visibility(self) -> None:
        if self.editor is not None and (flag := self._do(self.editor.cycle_visibility)) is not None:
            person, joint = self.editor.selected
            name = self.review.keypoints.names[joint]
            self.window.statusBar().showMessage(f"#{self.editor.persons[person].track_id} {name}: "
                                                f"{VISIBILITY_WORDS[flag]}", 5000)
            self._redraw()

    def _step_joint(self, step: int) -> None:
        if self.editor is not None:
            self.editor.step_joint(step)
            person, joint = self.editor.selected or (0, 0)
            if self.editor.selected is not None:
                self.window.statusBar().showMessage(
                    f"#{self.editor.persons[person].track_id} {self.review.keypoints.names[joint]}", 5000)
            self._redraw()

    def delete_selected(self) -> None:
        if self.editor is not None and self.editor.selected is not None:
            self._do(lambda: self.editor.delete_person(self.editor.selected[0]))
            self._redraw()

    def _fix_ids(self, kind: str) -> None:
        if self.editor is None and not self.start_editing():
            return
        a, b = self.panel.id_a.currentData(), self.panel.id_b.currentData()
        if a is None or b is None or a == b:
            self.window.show_error("pick two different IDs")
            return
        self._do(lambda: (self.editor.swap_ids if kind == "swap" else self.editor.merge_ids)(a, b))
        self._redraw()

    def undo(self) -> None:
        if self.editor is not None and self._do(self.editor.undo):
            self._redraw()

    def redo(self) -> None:
        if self.editor is not None and self._do(self.editor.redo):
            self._redraw()

    def _do(self, edit):
        """Run an edit; the review file failing to save (a full disk) is a message, and the edit stays in memory."""
        try:
            return edit()
        except StudioError as exc:
            self.window.show_error(f"{exc} — the correction is kept in this session only until saving works")
            return None

    def _save(self) -> None:
        try:
            self.review.save()
        except StudioError as exc:  # a full disk: said, and the corrections stay in memory
            self.window.show_error(str(exc))

    # ----- the panel's state --------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        p, editor = self.panel, self.editor
        editing = editor is not None
        p.edit_button.setChecked(editing)
        for widget in (p.box_button, p.visibility_button, p.delete_button):
            widget.setEnabled(editing)
        p.undo_button.setEnabled(editing and editor.can_undo)
        p.redo_button.setEnabled(editing and editor.can_redo)
        p.add_button.setEnabled(self.review is not None and bool(self.review.frames))
        if editing:
            ids = sorted({person.track_id for person in editor.persons})
            if [p.id_a.itemData(i) for i in range(p.id_a.count())] != ids:
                p.set_ids(ids)
        if self.review is None:
            p.status_label.setText("Open a video or an image folder to review it.")
        elif editing:
            p.status_label.setText(f"Correcting frame {editor.frame_index}: drag a joint, or draw a box (B). "
                                   f"Saved to {self.review.path.name} after every change.")
        elif self.sets.last is None:
            p.status_label.setText(f"{len(self.review.frames)} frame(s) corrected, {len(self.review.fixes)} identity "
                                   f"fix(es) — {self.review.path.name}")
