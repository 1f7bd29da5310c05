"""What a batch records with each video: everything that changes its outputs. A video done with other settings, or
with another model or detector file (told apart by sha256), is exported again."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ..export.options import FilterOptions
from ..inference.options import PipelineChoice, PipelineOptions
from ..inference.runtime.model_loading import LoadedPoseModel
from .task import VideoTask


def export_settings(task: VideoTask, choice: PipelineChoice, options: PipelineOptions,
                    loaded: LoadedPoseModel) -> dict:
    """The settings of a batch whose videos are all exported as ``task`` is (outputs, overlay and analysis)
    with ``choice``'s model and detector and ``options``, the model as ``loaded`` runs it."""
    from ..models.download import sha256_of

    record, detector = loaded.record, choice.detector
    filters: FilterOptions = task.filters
    return {
        "outputs": ["csv"] + (["json"] if task.json else []) + (["overlay"] if task.overlay else []),
        "model": {"name": record.name, "sha256": record.sha256 or sha256_of(record.path), "runs": loaded.backend_kind,
                  "precision": loaded.precision, "device": loaded.backend.device_type},
        "detector": {"file": Path(detector).name if detector != "none" else "none",
                     "sha256": choice.detector_sha256 or (sha256_of(Path(detector)) if detector != "none" else None),
                     "size": choice.detector_size, "conf": choice.det_conf, "iou": choice.det_iou},
        "decoder": options.decoder, "flip": options.flip_test, "track": options.track,
        "smooth": [options.smooth_min_cutoff, options.smooth_beta] if options.smooth else False,
        "det_every": options.det_every, "max_frames": task.max_frames,
        "kpt_thr": task.overlay_options.threshold,
        "wholebody": {"face": choice.face_model, "hand": choice.hand_model,
                      "precision": choice.part_precision or choice.precision,
                      "part_thr": task.overlay_options.part_threshold} if choice.face_model or choice.hand_model
        else None,
        "analysis": {"filters": asdict(filters), "angles": task.angles, "trc": task.trc, "keep_raw": task.keep_raw,
                     # as before MOT, C3D and swap repair existed unless asked: batches started before resume
                     **({"mot": True} if task.mot else {}), **({"c3d": True} if task.c3d else {}),
                     **({"fix_swaps": task.fix_swaps} if task.fix_swaps is not None else {}),
                     **({"gait": True} if task.gait else {})},
    }
