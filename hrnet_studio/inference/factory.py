"""One door from what the user chose to a pipeline ready to run.

The CLI (``export``, ``label``, ``models quantize``), the app's worker and its export job, and the benchmarks
describe their choice as a ``PipelineChoice`` and call ``build_pipeline``: the pose model is opened on its
runtime and device, the detector follows the pose model's device (on the CPU it runs on ONNX Runtime), and
nothing after this knows which runtime does the work.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import StudioError
from ..skeletons import wholebody_layout
from ..thread_budget import thread_budget
from .detect.detector import (
    NO_DETECTOR,
    PersonDetector,
    detector_runtime,
    make_detector,
)
from .options import PipelineChoice, PipelineOptions
from .pipeline import PosePipeline
from .runtime.backends import gpu_present
from .runtime.model_loading import LoadedPoseModel, int8_version, open_pose_model
from .wholebody import LandmarkModel, WholeBodyStage


def build_pipeline(choice: PipelineChoice, options: PipelineOptions | None = None, registry=None,
                   say: Callable[[str], None] = lambda line: None, live: bool = False,
                   ) -> tuple[PosePipeline, LoadedPoseModel]:
    """The pipeline ``choice`` describes, and the loaded pose model (its name, precision and device, for display).
    ``say`` gets notes and warnings in one line each (an export made once, a detector that fell back to the full
    frame). ``live``: for a live view, whose detector runs beside the pose step (``engine.PoseEngine``'s
    ``detect_beside``): the detector gets its share of the cores (``ThreadBudget``). Raises ``StudioError`` (one line) for a model or
    detector that cannot be used."""
    budget = thread_budget()
    loaded = open_pose_model(choice.model, choice.backend, choice.device, fp16=choice.half,
                             input_size=choice.input_size, registry=registry, say=say, precision=choice.precision,
                             live=live, compile=choice.compile)
    for note in loaded.spec.notes:
        say(f"note: {note}")
    if choice.device != "cpu" and loaded.backend.device_type == "cpu" and gpu_present():
        say(f"warning: a GPU is here but {loaded.record.name} runs on {loaded.backend.device_name} (the runtime could "
            "not start on the GPU): `hrnet-studio doctor` says why")
    threads = budget.beside_detector_threads if live else None
    detector = open_detector(choice, on_gpu=loaded.backend.device_type != "cpu", say=say, threads=threads)
    wholebody = open_wholebody(choice, loaded, registry, say)
    return PosePipeline(loaded.backend, loaded.spec, detector, options or PipelineOptions(), wholebody), loaded


def open_wholebody(choice: PipelineChoice, body: LoadedPoseModel, registry=None,
                   say: Callable[[str], None] = lambda line: None) -> WholeBodyStage | None:
    """The face and hand models of ``choice`` on the body model's runtime and device, or None when neither is
    chosen. Their precision is ``choice.part_precision`` (the body model's when not given): with INT8, a landmark
    model runs its INT8 version on ONNX Runtime when it has one (``models quantize``), else fp32, said in one line."""
    if not (choice.face_model or choice.hand_model):
        return None
    if wholebody_layout(body.spec.keypoints) is not None:
        say(f"note: {body.record.name} finds faces and hands itself (a whole-body model): the face and hand models "
            "are not needed and are not run")
        return None
    from ..models.registry import ModelRegistry

    registry = registry or ModelRegistry()
    models = []
    for name in (choice.face_model, choice.hand_model):
        if not name:
            models.append(None)
            continue
        precision = choice.part_precision or choice.precision
        record = registry.find(name)
        if precision == "int8" and (record is None or int8_version(record, registry) is None):
            say(f"note: {name} has no INT8 version (`hrnet-studio models quantize {name}` makes one): it runs in fp32")
            precision = "fp32"
        backend = "onnx" if precision == "int8" else choice.backend  # INT8 runs on ONNX Runtime, whatever the body's
        part = open_pose_model(name, backend, choice.device, fp16=choice.half, registry=registry, say=say,
                               precision=precision)
        models.append(LandmarkModel(part.backend, part.spec, part.record.name, part.precision_label))
    return WholeBodyStage(body.spec.keypoints, *models)


def open_detector(choice: PipelineChoice, on_gpu: bool = False,
                  say: Callable[[str], None] = lambda line: None, threads: int | None = None) -> PersonDetector:
    """The detector of ``choice`` alone (INT8 calibration, labelling with a teacher), as ``build_pipeline`` opens it.
    ``threads``: its ONNX Runtime session's intra-op threads (None: the thread budget's)."""
    return make_detector(choice.detector, choice.det_conf, choice.det_iou, "cuda" if on_gpu else "cpu", warn=say,
                         trust=choice.trust_detector, sha256=choice.detector_sha256, imgsz=choice.detector_size,
                         runtime=detector_runtime(on_gpu), threads=threads)


def resolve_detector(name: str | None, registry, say: Callable[[str], None] = lambda line: None,
                     ) -> tuple[str, str | None]:
    """The detector to load for a user's ``--detector`` (a path, an installed name, "none"; None = the installed
    default): (a path or "none", the sha256 its file must still have when it is registered)."""
    if name is not None:
        if name.lower() in NO_DETECTOR or Path(name).exists():
            return name, None
        record = registry.find(name)
        if record is not None and record.kind == "detector":
            if not record.installed:
                raise StudioError(f"detector {record.name} is not installed: run `hrnet-studio models pull "
                                  f"{record.name}`")
            return str(record.path), record.sha256
        return name, None  # make_detector explains what is wrong with it
    record = registry.default_detector()
    if record is None:
        say("warning: no person detector installed; using the full frame as one person box "
            "(run `hrnet-studio models pull yolo11n-pose`, or pass --detector PATH / --detector none)")
        return "none", None
    return str(record.path), record.sha256
