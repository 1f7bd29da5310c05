"""The values a user can choose for inference, in one place for the CLI's flags, the app's settings and the checks.

Nothing heavy is imported here: the command line builds its parser from these before any model code loads.
"""
from __future__ import annotations

DECODERS: tuple[str, ...] = ("dark", "official", "argmax")  # heatmap → keypoint decoding (decode.py)
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnx")  # auto: ONNX Runtime on the CPU when it can, else PyTorch
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")  # auto: CUDA when a GPU is present
PRECISIONS: tuple[str, ...] = ("fp32", "int8")  # int8: the model's INT8 version on ONNX Runtime
DETECTOR_SIZES: tuple[int, ...] = (320, 480, 640)  # the detector input sizes offered (any multiple of 32 works)


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
