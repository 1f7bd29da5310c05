"""How models come into the app: downloads from the catalogue (asked first, with progress and cancel), imports of
the user's own files, and the trust a detector file that could run code must be given, once per file."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from ...models.download import sha256_of
from ..common.jobs import DownloadJob, ImportJob
from ..common.questions import ask_yes_no
from ..window_part import WindowPart

if TYPE_CHECKING:
    from ..services import WindowServices


class ModelInstaller(WindowPart):
    """Downloads, imports and detector trust for ``window``; a finished install is selected and loaded."""

    def __init__(self, window: WindowServices):
        super().__init__(window)
        self.download_job: DownloadJob | None = None
        self.import_job: ImportJob | None = None

    def trusted_digests(self) -> list[str]:
        trusted = self.window.settings.value("trustedDetectors", [])
        return [trusted] if isinstance(trusted, str) else list(trusted or [])

    def trusted(self, detector: str) -> bool:
        """The user said yes to this exact file before (remembered by its sha256)."""
        trusted = self.trusted_digests()
        return bool(trusted) and Path(detector).is_file() and sha256_of(Path(detector)) in trusted

    def ask_to_trust(self, path: str, reason: str) -> None:
        """A detector was refused because it holds code: load it only if the user says so, for this file only."""
        self.window.errors.append(reason)
        ask_yes_no(self.window, "Untrusted detector file",
                   f"{reason}.\n\nLoad it anyway? Do this only if you trust where the file came from: it can run any "
                   f"program on this computer with your rights.", "trustQuestion",
                   lambda yes: self._trust_answer(Path(path), yes), risky=True)

    def _trust_answer(self, path: Path, trust: bool) -> None:
        if trust and path.is_file():
            self.window.settings.setValue("trustedDetectors", [*self.trusted_digests(), sha256_of(path)])
        else:  # keep working without it: the whole frame is the person box
            combo = self.window.panel.detector_combo
            combo.setCurrentIndex(combo.findData("none"))
            self.window.statusBar().showMessage(f"{path.name} was not loaded; using the whole frame as the person box",
                                                15000)
        self.window.apply_model_choice(ask_download=False)

    def offer_download(self, name: str) -> None:
        entry = self.window.registry.zoo.get(name)
        size = f" (about {entry.size_bytes // 1_000_000} MB)" if entry and entry.size_bytes else ""
        ask_yes_no(self.window, "Download model", f"{name} is not installed. Download it{size}?", "downloadQuestion",
                   lambda yes: self.download(name) if yes else None)

    def download(self, name: str) -> DownloadJob:
        job = DownloadJob(name, self.window.registry)
        dialog = QProgressDialog(f"Downloading {name}…", "Cancel", 0, 100, self.window)
        dialog.setObjectName("downloadProgress")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        job.progress.connect(lambda done, total: dialog.setValue(int(100 * done / total)) if total else None)
        dialog.canceled.connect(job.cancel)
        job.done.connect(lambda n: (dialog.reset(), self._downloaded(n)))
        job.failed.connect(lambda msg: (dialog.reset(), self.window.show_error(msg)))
        self.download_job = job
        job.start()
        return job

    def _downloaded(self, name: str) -> None:
        record = self.window.registry.find(name)
        if record is not None and record.kind == "detector":
            self.window.settings.setValue("detector", str(record.path))
            self.window.refresh_models()
        else:
            self.window.refresh_models(select=name)
        entry = self.window.registry.zoo.get(name)
        checked = f" ({entry.checksum_note})" if entry is not None else ""
        self.window.statusBar().showMessage(f"{name} downloaded{checked}", 10000)
        self.window.apply_model_choice()

    def ask_and_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import model", self.window.sources.last_dir(),
                                              "Models (*.pth *.pt *.onnx);;All files (*)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> ImportJob:
        job = ImportJob(path, self.window.registry)
        self.window.statusBar().showMessage(f"importing {path.name}…")
        job.done.connect(lambda name: (self.window.refresh_models(select=name), self.window.apply_model_choice(),
                                       self.window.statusBar().showMessage(f"imported {name}", 10000)))
        job.failed.connect(self.window.show_error)
        self.import_job = job
        job.start()
        return job
