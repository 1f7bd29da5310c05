"""The fine-tune wizard's first three pages: the data, the base model, and the training settings."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from ...errors import user_message
from ...inference.options import parse_input_size
from ...models.registry import ModelRecord, ModelRegistry
from ...paths import recipes_dir, runs_dir
from ...training.recipe import Recipe, load_recipe
from .data_page import DataPage

if TYPE_CHECKING:  # PyTorch: imported when a plan is made, not when the app starts
    from ...training.finetune import FinetunePlan

SCRATCH_ARCHS = {  # what the wizard offers to train from scratch
    "hrnet_w18": "HRNet-W18", "hrnet_w32": "HRNet-W32", "hrnet_w48": "HRNet-W48",
    "hrnetv2_w18": "HRNetV2-W18 (landmarks: faces, hands, a lab's marker set)",
    "litehrnet_18": "Lite-HRNet-18 (light, for CPUs)", "litehrnet_30": "Lite-HRNet-30 (light, for CPUs)",
}
INPUT_SIZES = ("192×256", "288×384", "256×256", "96×128")
ENCODING_LABELS = {  # training targets (inference/codec/heatmap_codec.py), as the wizard names them
    "official": "official (rounded peaks, as the official HRNet)",
    "unbiased": "unbiased (sub-pixel peaks, DARK)",
    "udp": "UDP (unbiased data processing)",
}
WIZARD_ENCODING = "official"  # the default for new fine-tunes (benchmarks/teacher_finetune.py --encodings)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


def parse_size(text: str) -> tuple[int, int] | None:
    """``192×256`` / ``192x256`` → (width, height); None for what ``parse_input_size`` refuses."""
    try:
        return parse_input_size(text)
    except ValueError:
        return None


class BaseModelPage(QWizardPage):
    """An installed model to start from (or a new network), and what a different keypoint set re-initialises."""

    def __init__(self, registry: ModelRegistry, data: DataPage):
        super().__init__()
        self.setTitle("Base model")
        self.setSubTitle("Fine-tuning starts from an installed model; zoo models are downloaded from the main "
                         "window's model picker first.")
        self.registry, self.data = registry, data
        self.plan: FinetunePlan | None = None
        self.model_list = QListWidget(objectName="baseList")
        self.plan_label = QLabel(objectName="planLabel", wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.model_list, 1)
        layout.addWidget(self.plan_label)
        self.model_list.currentItemChanged.connect(self._selected)

    def initializePage(self) -> None:  # noqa: N802
        joints = self.data.report.keypoints.num_joints
        self.model_list.clear()
        preferred = None
        for record in self.registry.records():
            if record.kind != "pose" or not record.usable or record.format != "pth":
                continue
            item = QListWidgetItem(f"{record.name}  ({record.arch or 'HRNet'}, {record.num_joints or '?'} keypoints"
                                   + (f", {record.input_size[0]}×{record.input_size[1]}" if record.input_size else "")
                                   + ")")
            item.setData(Qt.ItemDataRole.UserRole, record)
            self.model_list.addItem(item)
            if preferred is None and record.num_joints == joints:
                preferred = item
        for arch, title in SCRATCH_ARCHS.items():
            item = QListWidgetItem(f"new {title} from scratch (needs a large dataset)")
            item.setData(Qt.ItemDataRole.UserRole, arch)
            self.model_list.addItem(item)
        self.model_list.setCurrentItem(preferred or self.model_list.item(0))

    def base(self) -> ModelRecord | str | None:
        """The chosen record, or an architecture name for a network trained from scratch."""
        item = self.model_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _selected(self) -> None:
        base = self.base()
        self.plan = None
        keypoints = self.data.report.keypoints
        if isinstance(base, ModelRecord):
            from ...models.checkpoints import read_state_dict
            from ...training.finetune import plan_finetune

            try:
                self.plan = plan_finetune(read_state_dict(base.path), keypoints.num_joints)
            except Exception as exc:  # a checkpoint that cannot be read is shown, not raised
                self.plan_label.setText(user_message(exc, f"reading {base.name}"))
                self.completeChanged.emit()
                return
            text = f"Starts from {base.name} ({self.plan.arch}): {self.plan.describe()}."
            names = base.metadata.keypoints.get("names") if base.metadata and base.metadata.keypoints else None
            if not self.plan.reinitialised and names and list(names) != list(keypoints.names):
                text += (" The keypoint count is the same but the names differ: the last layer is kept, so check "
                         "that your keypoints are in the model's order.")
            self.plan_label.setText(text)
        elif base is not None:
            self.plan_label.setText(f"A new {base} with {keypoints.num_joints} keypoints, every layer initialised "
                                    "at random: expect to need thousands of labelled persons.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        base = self.base()
        return isinstance(base, str) or (isinstance(base, ModelRecord) and self.plan is not None)


class SettingsPage(QWizardPage):
    """Recipe preset, epochs, batch, learning rate, input size, device and the new model's name."""

    def __init__(self, registry: ModelRegistry, data: DataPage, base: BaseModelPage):
        super().__init__()
        self.setTitle("Training settings")
        self.setSubTitle("Start from a preset; training runs in its own process and can be stopped and resumed.")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Train")
        self.registry, self.data, self.base_page = registry, data, base
        self.preset_problem: str | None = None
        self.preset_combo = QComboBox(objectName="presetCombo")
        self.epochs_spin = QSpinBox(objectName="epochsSpin", minimum=1, maximum=1000)
        self.batch_spin = QSpinBox(objectName="batchSpin", minimum=1, maximum=1024)
        self.lr_spin = QDoubleSpinBox(objectName="lrSpin", decimals=6, minimum=1e-6, maximum=1.0, singleStep=1e-4)
        self.input_combo = QComboBox(objectName="inputCombo", editable=True)
        self.input_combo.addItems(INPUT_SIZES)
        self.device_combo = QComboBox(objectName="deviceCombo")
        self.gpus_spin = QSpinBox(objectName="gpusSpin", minimum=1, maximum=1)
        self.name_edit = QLineEdit(objectName="nameEdit")
        self.encoding_combo = QComboBox(objectName="encodingCombo")
        for key, label in ENCODING_LABELS.items():
            self.encoding_combo.addItem(label, key)
        self.encoding_combo.setCurrentIndex(self.encoding_combo.findData(WIZARD_ENCODING))
        self.encoding_combo.setToolTip("How joint positions become training targets; the model remembers it and is "
                                       "decoded to match")
        self.status_label = QLabel(objectName="settingsStatus", wordWrap=True)
        form = QFormLayout(self)
        form.addRow("Preset", self.preset_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Input size (w×h)", self.input_combo)
        form.addRow("Training targets", self.encoding_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("GPUs", self.gpus_spin)
        form.addRow("Model name", self.name_edit)
        form.addRow(self.status_label)
        self._fill_devices()
        self.preset_combo.currentIndexChanged.connect(self._apply_preset)
        self.name_edit.textChanged.connect(self.completeChanged)
        self.input_combo.currentTextChanged.connect(self.completeChanged)

    def _fill_devices(self) -> None:
        import torch

        self.device_combo.addItems(["auto", "cpu"])
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus:
            self.device_combo.addItem("cuda")
        self.gpus_spin.setMaximum(max(gpus, 1))
        self.gpus_spin.setEnabled(gpus > 1)
        self.gpus_spin.setToolTip("several GPUs train with torchrun (DistributedDataParallel)" if gpus > 1
                                  else "one device on this machine")

    def initializePage(self) -> None:  # noqa: N802
        report = self.data.report
        base = self.base_page.base()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for path in sorted(recipes_dir().glob("*.yaml")):
            self.preset_combo.addItem(path.stem, str(path))
        fine_tune = isinstance(base, ModelRecord)
        wanted = "finetune_quick" if fine_tune else ("mpii_w32_256x256" if report.format == "mpii"
                                                     else "coco_w32_256x192")
        self.preset_combo.setCurrentIndex(max(self.preset_combo.findText(wanted), 0))
        self.preset_combo.blockSignals(False)
        self._apply_preset()
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", report.annotation_file.stem).strip("-") or "model"
        arch = self.base_page.plan.arch if fine_tune else base
        self.name_edit.setText(self._unique_name(f"{stem}-{arch.replace('hrnet_', '')}"))

    def _apply_preset(self) -> None:
        path = self.preset_combo.currentData()
        if not path:
            return
        try:
            recipe = load_recipe(path)
        except Exception as exc:  # a broken preset file is reported, the others stay usable
            self.preset_problem = user_message(exc, f"reading {Path(path).name}")
            self.completeChanged.emit()
            return
        self.preset_problem = None
        self.epochs_spin.setValue(recipe.epochs)
        self.batch_spin.setValue(recipe.batch_size)
        self.lr_spin.setValue(recipe.optim.lr)
        base = self.base_page.base()
        size = base.input_size if isinstance(base, ModelRecord) and base.input_size else recipe.model.input_size
        self.input_combo.setCurrentText(f"{size[0]}×{size[1]}")
        self.completeChanged.emit()

    def _unique_name(self, name: str) -> str:
        candidate, n = name, 2
        while self._name_problem(candidate):
            candidate, n = f"{name}-{n}", n + 1
        return candidate

    def _name_problem(self, name: str) -> str | None:
        if not NAME_PATTERN.match(name):
            return "the name may hold letters, digits, '-', '_' and '.' (up to 80)"
        if self.registry.find(name) is not None:
            return f"a model named {name} is installed already"
        if (runs_dir() / name).exists():
            return f"a training run named {name} exists in {runs_dir()}"
        return None

    def isComplete(self) -> bool:  # noqa: N802
        problem = self.preset_problem or self._name_problem(self.name_edit.text().strip())
        if problem is None and parse_size(self.input_combo.currentText()) is None:
            problem = "the input size must look like 192×256 (width×height, multiples of 4)"
        self.status_label.setText(problem or f"The run is kept in {runs_dir() / self.name_edit.text().strip()}; "
                                             "the model is registered when it finishes.")
        return problem is None

    def recipe(self) -> Recipe:
        """The preset with this wizard's data, base model and settings."""
        recipe = load_recipe(self.preset_combo.currentData())
        name = self.name_edit.text().strip()
        report, val = self.data.report, self.data.val_report
        recipe.name = recipe.register_as = name
        recipe.output = str(runs_dir())
        recipe.data.format = report.format
        recipe.data.train_annotations = str(report.annotation_file.resolve())
        recipe.data.train_images = str(report.image_root.resolve())
        recipe.data.val_annotations = str(val.annotation_file.resolve()) if val else ""
        recipe.data.val_images = str(val.image_root.resolve()) if val else ""
        base = self.base_page.base()
        recipe.model.base = str(base.path) if isinstance(base, ModelRecord) else ""
        recipe.model.arch = self.base_page.plan.arch if isinstance(base, ModelRecord) else base
        recipe.model.input_size = list(parse_size(self.input_combo.currentText()))
        recipe.model.encoding = self.encoding_combo.currentData()
        recipe.epochs = self.epochs_spin.value()
        recipe.batch_size = self.batch_spin.value()
        recipe.optim.lr = self.lr_spin.value()
        recipe.device = self.device_combo.currentText()
        if recipe.optim.schedule == "step":  # keep the preset's decay points inside a shorter run
            recipe.optim.milestones = [m for m in recipe.optim.milestones if m < recipe.epochs] or [recipe.epochs]
        return recipe

    def gpus(self) -> int:
        return self.gpus_spin.value() if self.device_combo.currentText() != "cpu" else 1
