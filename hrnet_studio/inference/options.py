"""The user's choices for inference and their defaults, written here and nowhere else: the values offered, what
the user picked (``PipelineChoice``: model, detector, runtime) and how estimation runs (``PipelineOptions``). The
CLI's flags, the app's settings panel and the engine all read their defaults from these dataclasses.

Nothing heavy is imported here: the command line builds its parser from these before any model code loads.
"""
from __future__ import annotations

from dataclasses import dataclass

DECODERS: tuple[str, ...] = ("dark", "official", "argmax")  # heatmap → keypoint decoding (codec/decode.py)
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnx")  # auto: ONNX Runtime on the CPU when it can, else PyTorch
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")  # auto: CUDA when a GPU is present
PRECISIONS: tuple[str, ...] = ("fp32", "int8", "bf16", "fp16")  # int8: the model's INT8 version on ONNX Runtime;
# bf16: PyTorch in bfloat16 (CPUs with AVX-512 BF16 or AMX, GPUs); fp16: PyTorch in half precision on a CUDA GPU
HALF_PRECISIONS: tuple[str, ...] = ("bf16", "fp16")  # run by PyTorch, in channels-last
DETECTOR_SIZES: tuple[int, ...] = (320, 480, 640)  # the detector input sizes offered (any multiple of 32 works)



@dataclass(frozen=True)
class PipelineChoice:
    """What the user picked: the pose model and its runtime, the person detector and its settings."""

    model: str | None = None  # registry name or path; None = the default model
    detector: str = "none"  # a path, or "none" for the full frame (``resolve_detector`` turns names into paths)
    device: str = "auto"  # auto / cpu / cuda
    backend: str = "auto"  # auto / torch / onnx
    detector_sha256: str | None = None  # the digest recorded when the detector was installed
    trust_detector: bool = False  # the user confirmed that this detector file may run code
    detector_size: int = 640  # the detector's input size in pixels
    precision: str = "fp32"  # "fp32" or "int8" (the model's INT8 version on ONNX Runtime)
    half: bool = False  # fp16 on CUDA (PyTorch backend)
    input_size: tuple[int, int] | None = None  # (width, height) for a checkpoint that does not say it
    det_conf: float = 0.4  # the detector's score threshold, 0-1
    det_iou: float = 0.5  # its non-maximum suppression IoU, 0-1
    face_model: str | None = None  # whole-body: a face landmark model (registry name or path); None = no faces
    hand_model: str | None = None  # whole-body: a hand landmark model; None = no hands
    part_precision: str | None = None  # whole-body models: "fp32" or "int8"; None = as ``precision``
    compile: bool = False  # PyTorch: the network through torch.compile (minutes to start, faster after)


@dataclass
class PipelineOptions:
    decoder: str = "dark"
    flip_test: bool = False
    track: bool = True
    smooth: bool = False
    smooth_min_cutoff: float = 1.0
    smooth_beta: float = 0.05
    max_batch: int = 32
    det_every: int = 1  # the detector on every n-th frame, boxes following the keypoints in between; 0 = auto
    redetect_below: float = 0.3  # keypoint score under which a person counts as no longer seen clearly

    @classmethod
    def live(cls) -> PipelineOptions:
        """The live view's defaults: latency first, so the detector's schedule is chosen from the measured costs
        (exports keep every frame's detection: completeness first)."""
        return cls(det_every=0)


def parse_input_size(text: str) -> tuple[int, int]:
    """``192x256`` (or ``192×256``, ``192*256``) → (width, height) in pixels; a ``ValueError`` says what is wrong.
    Both sides must be multiples of 4 (the heatmaps are a quarter of the input) and at least 16."""
    import re

    match = re.fullmatch(r"\s*(\d+)\s*[x×X*]\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"expected WIDTHxHEIGHT such as 192x256, got {text!r}")
    w, h = int(match.group(1)), int(match.group(2))
    if w % 4 or h % 4 or w < 16 or h < 16:
        raise ValueError(f"input size must be multiples of 4 and at least 16, got {text!r}")
    return w, h
