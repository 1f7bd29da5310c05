"""The fine-tune wizard: data → base model → settings → training (own process, live curves) → finish.

The finished model is registered by the training process; the wizard tells the main window its name, which
selects it when the user ticks "use it now".
"""
from __future__ import annotations

import math
import re
import time

import numpy as np
import pyqtgraph as pg
import yaml
from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ...atomic_writer import make_folder, write_text
from ...errors import StudioError
from ...models.registry import ModelRegistry
from ...paths import runs_dir
from .data_page import DataPage
from .pages import BaseModelPage, SettingsPage
from .training_process import TrainingProcess

METRIC_LABELS = {"coco_ap": "COCO AP", "pck@0.2": "PCK@0.2 (%)", "mpii_pckh": "PCKh@0.5 (%)"}
PLOT_SCALE = {"coco_ap": 100.0}  # AP is plotted in percent, beside the PCK curves
PROGRESS_LINE = re.compile(r"\d+%\|")  # a progress bar redraw: shown by the bar, not in the log
METRIC_COLOURS = {"coco_ap": "#e69f00", "pck@0.2": "#56b4e9", "mpii_pckh": "#009e73"}


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingCurves(QWidget):
    """Loss per step and per epoch (train and validation), and the validation metrics per epoch."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget(title="loss")
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.addLegend(offset=(5, 5))
        self.metric_plot = pg.PlotWidget(title="validation")
        self.metric_plot.setLabel("bottom", "epoch")
        self.metric_plot.addLegend(offset=(5, 5))
        for plot in (self.loss_plot, self.metric_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMinimumHeight(160)
            layout.addWidget(plot)
        self.step_curve = self.loss_plot.plot(pen=pg.mkPen("#6a6a78", width=1), name="step")
        self.train_curve = self.loss_plot.plot(pen=pg.mkPen("#ffffff", width=2), symbol="o", symbolSize=5,
                                               name="train")
        self.val_curve = self.loss_plot.plot(pen=pg.mkPen("#cc79a7", width=2), symbol="o", symbolSize=5,
                                             name="validation")
        self.step_curve.setDownsampling(auto=True, method="mean")
        self.step_curve.setClipToView(True)
        self.metric_curves: dict[str, pg.PlotDataItem] = {}
        self.redraw = QTimer(self, singleShot=True, interval=250)
        self.redraw.timeout.connect(self._draw_steps)
        self.clear()

    def clear(self) -> None:
        self.steps: list[tuple[float, float]] = []
        self.epochs: dict[int, dict] = {}
        for curve in (self.step_curve, self.train_curve, self.val_curve, *self.metric_curves.values()):
            curve.setData([], [])

    def add_step(self, epoch: int, step: int, steps_per_epoch: int, loss: float) -> None:
        """Steps arrive by the hundred on a fast GPU; the curve is redrawn at most a few times a second."""
        self.steps.append((epoch + (step + 1) / max(steps_per_epoch, 1), loss))
        if not self.redraw.isActive():
            self.redraw.start()

    def _draw_steps(self) -> None:
        if self.steps:
            x, y = zip(*self.steps)
            self.step_curve.setData(np.array(x), np.array(y))

    def add_epoch(self, event: dict) -> None:
        self.epochs[int(event["epoch"])] = event
        epochs = sorted(self.epochs)
        self.train_curve.setData(epochs, [self.epochs[e]["train_loss"] for e in epochs])
        with_val = [e for e in epochs if "val_loss" in self.epochs[e]]
        self.val_curve.setData(with_val, [self.epochs[e]["val_loss"] for e in with_val])
        for key, label in METRIC_LABELS.items():
            points = [(e, self.epochs[e][key] * PLOT_SCALE.get(key, 1.0)) for e in epochs
                      if isinstance(self.epochs[e].get(key), float) and not math.isnan(self.epochs[e][key])]
            if not points:
                continue
            if key not in self.metric_curves:
                name = f"{label} ×100" if key in PLOT_SCALE else label
                self.metric_curves[key] = self.metric_plot.plot(pen=pg.mkPen(METRIC_COLOURS[key], width=2),
                                                                symbol="o", symbolSize=5, name=name)
            self.metric_curves[key].setData(*map(list, zip(*points)))


class TrainingPage(QWizardPage):
    """Runs the recipe in a child process; shows progress, ETA and curves; stops and resumes."""

    def __init__(self, settings_page: SettingsPage):
        super().__init__()
        self.setTitle("Training")
        self.settings_page = settings_page
        self.process: TrainingProcess | None = None
        self.state = "idle"  # idle | running | stopping | stopped | failed | done
        self.recipe_file = None
        self.registered: str | None = None
        self.result: dict = {}
        self.total_epochs = 0
        self.steps_per_epoch = 1
        self.steps_done = 0
        self.session_start: tuple[float, int] | None = None  # (time, steps done) at this process's first step
        self.started_at = 0.0
        self.progress = QProgressBar(objectName="trainProgress")
        self.status_label = QLabel(objectName="trainStatus", wordWrap=True)
        self.eta_label = QLabel(objectName="etaLabel")
        self.curves = TrainingCurves()
        self.log_box = QPlainTextEdit(objectName="trainLog", readOnly=True, maximumBlockCount=500)
        self.log_box.setMaximumHeight(110)
        self.stop_button = QPushButton("Stop", objectName="stopButton")
        self.resume_button = QPushButton("Resume", objectName="resumeButton")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        buttons = QHBoxLayout()
        buttons.addWidget(self.eta_label, 1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.resume_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.log_box)
        self._set_state("idle")

    def initializePage(self) -> None:  # noqa: N802
        recipe = self.settings_page.recipe()
        run_dir = runs_dir() / recipe.name
        self.recipe_file = run_dir / "recipe.yaml"
        try:
            make_folder(run_dir)
            write_text(self.recipe_file, yaml.safe_dump(recipe.to_dict(), sort_keys=False))
        except StudioError as exc:
            self.status_label.setText(f"Training cannot start: {exc}.")
            self._set_state("failed")
            return
        self.total_epochs = recipe.epochs
        self.batch_size = recipe.batch_size
        self.gpus = self.settings_page.gpus()
        self.process = TrainingProcess(run_dir, self)
        self.process.event.connect(self.on_event)
        self.process.output.connect(self._log_line)
        self.process.finished.connect(self.on_finished)
        self.start(resume=False)

    # ----- control ---------------------------------------------------------------------------------
    def start(self, resume: bool) -> None:
        if not resume:
            self.curves.clear()
            self.steps_done = 0
        self.session_start = None
        self.started_at = time.time()  # a resumed run replays older steps: they do not count for the ETA
        self.progress.setRange(0, 0)  # busy until the first event tells the number of steps
        self.status_label.setText("resuming from the last finished epoch…" if resume else "starting…")
        self._set_state("running")
        self.process.start(self.recipe_file, resume=resume, gpus=self.gpus)

    def stop(self) -> None:
        if self.state == "running":
            self._set_state("stopping")
            self.status_label.setText("stopping after the current step; the last finished epoch is kept…")
            self.process.stop()

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.stop_button.setEnabled(state == "running")
        resumable = self.process is not None and (self.process.run_dir / "last.pth").is_file()
        self.resume_button.setEnabled(state in ("stopped", "failed") and resumable)
        self.completeChanged.emit()

    # ----- what the process reports ----------------------------------------------------------------
    def _log_line(self, line: str) -> None:
        if not PROGRESS_LINE.search(line):
            self.log_box.appendPlainText(line)

    def on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "start":
            persons = int(event.get("train_persons", 0))
            recipe = event.get("recipe", {})
            cap = int(recipe.get("max_train_batches") or 0)
            self.steps_per_epoch = max(1, math.ceil(persons / max(self.batch_size * self.gpus, 1)))
            if cap:
                self.steps_per_epoch = min(self.steps_per_epoch, cap)
            self.status_label.setText(f"training on {persons} persons with {event.get('device')}")
        elif kind == "loaded":
            reinit = event.get("reinitialised") or []
            self.log_box.appendPlainText(f"loaded {event.get('loaded')} tensors of the base model"
                                         + (f"; re-initialised {', '.join(reinit)}" if reinit else ""))
        elif kind == "resume":
            self.steps_done = int(event.get("epoch", 0)) * self.steps_per_epoch
        elif kind == "step":
            epoch, step = int(event["epoch"]), int(event["step"])
            self.steps_done = epoch * self.steps_per_epoch + step + 1
            self.curves.add_step(epoch, step, self.steps_per_epoch, float(event["loss"]))
            if self.session_start is None and float(event["time"]) >= self.started_at:
                self.session_start = (float(event["time"]), self.steps_done)
            self._show_progress(float(event["time"]))
        elif kind == "epoch":
            self.curves.add_epoch(event)
            self.steps_done = int(event["epoch"]) * self.steps_per_epoch
            metrics = ", ".join(f"{METRIC_LABELS.get(k, k)} {event[k]:.3f}" for k in ("val_loss", *METRIC_LABELS)
                                if isinstance(event.get(k), float))
            self.status_label.setText(f"epoch {event['epoch']}/{self.total_epochs}: train loss "
                                      f"{event['train_loss']:.6f}" + (f", {metrics}" if metrics else ""))
            self._show_progress(float(event["time"]))
        elif kind == "done":
            self.registered = event.get("registered")
            self.result = event

    def _show_progress(self, now: float) -> None:
        total = self.total_epochs * self.steps_per_epoch
        self.progress.setRange(0, total)
        self.progress.setValue(min(self.steps_done, total))
        if self.session_start is None:
            return
        started, first = self.session_start
        done = self.steps_done - first
        if done > 0 and now > started:
            eta = (now - started) / done * (total - self.steps_done)
            self.eta_label.setText(f"about {format_duration(eta)} left")

    def on_finished(self, state: str, message: str) -> None:
        if state == "done" and self.registered:
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.eta_label.setText("")
            self.status_label.setText(f"Finished: {message}.")
        elif state == "done":
            state, message = "failed", "training finished but no model was registered"
        if state != "done":
            self.progress.setRange(0, 1)
            self.eta_label.setText("")
            self.status_label.setText(("Stopped: " if state == "stopped" else "Training failed: ") + message)
        self._set_state(state)

    def isComplete(self) -> bool:  # noqa: N802
        return self.state == "done"


class FinishPage(QWizardPage):
    def __init__(self, training: TrainingPage):
        super().__init__()
        self.setTitle("Done")
        self.training = training
        self.summary = QLabel(objectName="finishSummary", wordWrap=True)
        self.use_now = QCheckBox("Use it now in the main window", objectName="useNowCheck", checked=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.use_now)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802
        t = self.training
        metric = t.result.get("metric", "")
        best = t.result.get("best_metric")
        shown = f"{-best:.6f}" if metric == "val_loss" and best is not None else (f"{best:.4f}" if best is not None else "n/a")
        self.summary.setText(f"{t.registered} is registered in your model folder and listed in the model picker.\n"
                             f"Best {METRIC_LABELS.get(metric, metric)}: {shown}.\n"
                             f"Run folder (checkpoints, log, recipe): {t.process.run_dir}")


class FineTuneWizard(QWizard):
    """Non-modal: the app keeps running while a model trains."""

    model_ready = Signal(str, bool)  # registered name, "use it now"

    def __init__(self, registry: ModelRegistry, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("fineTuneWizard")
        self.setWindowTitle("Fine-tune a model")
        self.resize(820, 640)
        self.data_page = DataPage(settings)
        self.base_page = BaseModelPage(registry, self.data_page)
        self.settings_page = SettingsPage(registry, self.data_page, self.base_page)
        self.training_page = TrainingPage(self.settings_page)
        self.finish_page = FinishPage(self.training_page)
        for page in (self.data_page, self.base_page, self.settings_page, self.training_page, self.finish_page):
            self.addPage(page)

    def accept(self) -> None:
        if self.training_page.registered:
            self.model_ready.emit(self.training_page.registered, self.finish_page.use_now.isChecked())
        super().accept()

    def reject(self) -> None:
        """Closing while training asks first; stopping keeps the last finished epoch for a later resume."""
        page = self.training_page
        if page.is_running():
            answer = QMessageBox.question(self, "Fine-tune a model", "Training is running. Stop it? The last "
                                          "finished epoch is kept and the run can be resumed with "
                                          f"`hrnet-studio train {page.recipe_file} --resume`.")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.shutdown()
        super().reject()

    def shutdown(self) -> None:
        """The app is closing: stop a running training (resumable) without asking."""
        if self.training_page.is_running():
            self.training_page.stop()  # the page shows "stopping"; the process is stopped or killed here
            self.training_page.process.stop_and_wait()
        self.data_page.cleanup_jobs()
