"""Person detection: any Ultralytics YOLO model (detect or pose: its boxes), or the full frame.

An ONNX export (a ``.onnx`` file, or the export of a ``.pt`` made once for the CPU path) runs on ONNX Runtime
without Ultralytics or PyTorch (``yolo_onnx.py``); everything else runs through Ultralytics.
Ultralytics is kept offline: no update checks, no automatic pip installs, and weights
are only ever read from an explicit local file. A ``.pt`` file is unpickled with an allowlist of YOLO
layers (``models/ultralytics_files.py``), so a detector file never runs code unless the user trusts it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ...errors import DetectorError, UnsafeFileError, first_line
from ...models.ultralytics_files import open_yolo
from ...thread_budget import enforce as enforce_thread_budget

NO_DETECTOR = ("none", "full", "full-frame")  # what a user types for "no detector: the full frame is the box"


@dataclass
class Detections:
    boxes: np.ndarray  # float32 [N, 4] x1, y1, x2, y2 in frame pixels
    scores: np.ndarray  # float32 [N]
    keypoints: np.ndarray | None = None  # a pose detector's float32 [N, 17, 3]: x, y frame pixels, confidence 0-1

    def __len__(self) -> int:
        return len(self.boxes)


class PersonDetector(Protocol):
    name: str

    def detect(self, frame_bgr: np.ndarray) -> Detections: ...


class FullFrameDetector:
    """One box covering the whole frame: for a single person in front of a camera."""

    name = "full frame"

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        h, w = frame_bgr.shape[:2]
        return Detections(np.array([[0, 0, w, h]], dtype=np.float32), np.ones(1, dtype=np.float32))


class YoloPersonDetector:
    """Ultralytics YOLO restricted to the *person* class: a ``.pt`` file on PyTorch, or another format Ultralytics
    runs (an OpenVINO folder)."""

    runtime = "torch"

    def __init__(
        self,
        weights: str | Path,
        conf: float = 0.4,
        iou: float = 0.5,
        device: str = "cpu",
        imgsz: int = 640,
        max_det: int = 100,
        trust: bool = False,
    ):
        path = Path(weights)
        if not path.exists():
            raise DetectorError(f"detector weights not found: {path}")
        if path.suffix.lower() != ".pt":
            self.runtime = "other"
        try:
            self.model = open_yolo(path, task=_task_for(path), trust=trust)
            names = self.model.names
        except (DetectorError, UnsafeFileError):
            raise
        except Exception as exc:  # Ultralytics raises many types; all mean "cannot use this file"
            raise DetectorError(f"cannot load detector {path.name}: {first_line(exc)}") from None
        self.person_class = person_class(names, path.name)
        self.conf, self.iou, self.imgsz, self.max_det = conf, iou, imgsz, max_det
        self.device = "cpu" if device == "cpu" else (0 if device in ("cuda", "auto") else device)
        self.name, self.path = path.name, path
        # Ultralytics picks its device (and cuts PyTorch's threads) on the first prediction: do it now, then
        # give the thread budget back, so the pose network never runs on what the detector left it.
        self.detect(np.zeros((64, 64, 3), np.uint8))

    def fingerprint(self) -> str | None:
        """What decides its boxes: its file's content and its settings (None for a folder: not remembered)."""
        return _fingerprint(self.path, self.runtime, self.device, self.conf, self.iou, self.imgsz, self.max_det)

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        result = self.model.predict(
            frame_bgr,
            conf=self.conf,
            iou=self.iou,
            classes=[self.person_class],
            imgsz=self.imgsz,
            max_det=self.max_det,
            device=self.device,
            verbose=False,
        )[0]
        enforce_thread_budget()
        boxes = result.boxes
        keypoints = getattr(result, "keypoints", None)
        return Detections(
            boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
            boxes.conf.cpu().numpy().astype(np.float32).reshape(-1),
            keypoints.data.cpu().numpy().astype(np.float32) if keypoints is not None and keypoints.has_visible
            else None,
        )


class OnnxPersonDetector:
    """A YOLO ONNX export (Ultralytics' exporter) on ONNX Runtime, without Ultralytics or PyTorch
    (``yolo_onnx.py``), on one session under the thread budget. ``name``: the file the user chose (the ``.pt`` an
    export was made from)."""

    runtime = "onnx"

    def __init__(self, onnx_file: str | Path, name: str | None = None, conf: float = 0.4, iou: float = 0.5,
                 device: str = "cpu", imgsz: int = 640, max_det: int = 100, threads: int | None = None):
        """``threads``: intra-op threads of its session (None: the thread budget's)."""
        from .yolo_onnx import YoloOnnx

        self.onnx_file = Path(onnx_file)
        if not self.onnx_file.is_file():
            raise DetectorError(f"detector weights not found: {self.onnx_file}")
        self.model = YoloOnnx(self.onnx_file, imgsz, conf, iou, max_det, device, threads)
        self.name = name or self.onnx_file.name
        self.person_class = person_class(self.model.names, self.name)
        self.imgsz = imgsz if self.model.dynamic else max(self.model.size)
        self.device = "cpu" if self.model.session.get_providers()[0] == "CPUExecutionProvider" else "cuda"

    def fingerprint(self) -> str | None:
        """What decides its boxes: its file's content and its settings."""
        m = self.model
        return _fingerprint(self.onnx_file, self.device, m.conf, m.iou, self.imgsz, m.max_det)

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        boxes, scores, keypoints = self.model.detect(frame_bgr, self.person_class)
        return Detections(boxes.reshape(-1, 4), scores.reshape(-1), keypoints)


def _fingerprint(path: Path, *settings) -> str | None:
    if not path.is_file():
        return None
    from ...models.download import file_sha256

    return " ".join([file_sha256(path), *map(str, settings)])


def person_class(names: dict, filename: str) -> int:
    """The index of the *person* class among a detector's ``names``; a detector without one is refused."""
    persons = [i for i, n in names.items() if str(n).lower() == "person"]
    if not persons:
        raise DetectorError(f"detector {filename} has no 'person' class (classes: {list(names.values())[:5]}...)")
    return persons[0]


def detector_label(detector: PersonDetector) -> str:
    """``yolo11n-pose.pt (ONNX Runtime, 640 px)``, or the name of a detector without a runtime."""
    runtime = {"onnx": "ONNX Runtime", "torch": "PyTorch"}.get(getattr(detector, "runtime", ""), "")
    size = getattr(detector, "imgsz", None)
    return f"{detector.name} ({runtime}, {size} px)" if runtime and size else detector.name


def detector_runtime(on_gpu: bool) -> str:
    """On the CPU the detector runs on ONNX Runtime whatever runs the pose model: faster there than PyTorch (7% at
    640 px, 27% at 320 px), and it starts without Ultralytics, torchvision or PyTorch (``--backend torch`` export: 3%
    faster over 120 frames of the gym clip, start-up included, and the same persons/s after it). On a GPU it runs
    on PyTorch."""
    return "torch" if on_gpu else "onnx"


def check_detector_size(imgsz: int) -> int:
    """The detector input size, refused in one line unless a multiple of 32 between 64 and 1280."""
    if not (64 <= imgsz <= 1280 and imgsz % 32 == 0):
        raise DetectorError(f"detector input size must be a multiple of 32 from 64 to 1280 (e.g. 320, 480, 640), "
                            f"got {imgsz}")
    return imgsz


def _task_for(path: Path) -> str | None:
    # Exported models (OpenVINO folders, ONNX) do not always say their task; a detect model is the usual one.
    return None if path.suffix == ".pt" else "detect"


def make_detector(
    spec: str | None,
    conf: float = 0.4,
    iou: float = 0.5,
    device: str = "cpu",
    warn=print,
    trust: bool = False,
    sha256: str | None = None,
    imgsz: int = 640,
    runtime: str = "torch",
    threads: int | None = None,
) -> PersonDetector:
    """``none`` → full frame; a path → YOLO. A path that cannot be used falls back to the full frame
    with one line through ``warn``, so a single-person video still works offline. A file refused because
    it could run code is an error (``UnsafeFileError``), never a fallback; ``trust`` loads it anyway.
    ``sha256``: the digest recorded when the file was installed; a file changed since is refused. ``imgsz``: the
    detector's input size in pixels (a multiple of 32; smaller is faster and misses small persons). ``runtime``
    "onnx" runs a ``.pt`` detector through its ONNX export (on the CPU); where the export fails, PyTorch runs it.
    A ``.onnx`` detector always runs on ONNX Runtime. ``threads``: its ONNX Runtime session's (None: the budget's)."""
    check_detector_size(imgsz)
    if spec is None or spec.lower() in NO_DETECTOR:
        return FullFrameDetector()
    if sha256 and Path(spec).is_file() and not trust:
        from ...models.download import sha256_of

        if sha256_of(Path(spec)) != sha256:
            raise UnsafeFileError(f"{Path(spec).name} has changed since it was installed (its sha256 differs from "
                                  f"the one recorded): pull or import it again", Path(spec))
    try:
        if Path(spec).suffix.lower() == ".onnx":
            return OnnxPersonDetector(spec, conf=conf, iou=iou, device="cpu" if device == "cpu" else "auto",
                                      imgsz=imgsz, threads=threads)
        if runtime == "onnx" and Path(spec).suffix.lower() == ".pt" and Path(spec).is_file():
            try:
                from ...models.detector_export import onnx_detector

                _, exported = onnx_detector(spec, trust=trust, say=warn)
                return OnnxPersonDetector(exported, Path(spec).name, conf=conf, iou=iou, imgsz=imgsz, threads=threads)
            except DetectorError as exc:
                warn(f"warning: {exc}; the detector runs on PyTorch instead")
        return YoloPersonDetector(spec, conf=conf, iou=iou, device=device, trust=trust, imgsz=imgsz)
    except DetectorError as exc:
        warn(f"warning: {exc}; using the full frame as one person box instead (--detector none to silence)")
        return FullFrameDetector()
