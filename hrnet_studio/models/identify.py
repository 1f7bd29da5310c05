"""Work out what a model file is — format, architecture, joints, input size — from the file alone.

A user never has to say "this is W32 with 17 joints": the tensors (or the ONNX graph) say it.
What cannot be identified is refused with the reason.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError, StudioError, first_line
from ..skeletons import keypoint_set_for
from .metadata import (
    DETECTOR,
    POSE,
    ModelMetadata,
    keypoints_from_dict,
    keypoints_to_dict,
)
from .spec import ENCODINGS, Normalization

ONNX_MAGIC_HINT = b"\x08"  # an ONNX ModelProto starts with field 1 (ir_version), varint


def identify(path: Path, name: str | None = None, input_size: tuple[int, int] | None = None) -> ModelMetadata:
    """Describe ``path`` as it would be registered under ``name``; raise ``StudioError`` with the reason if unknown."""
    path = Path(path)
    if not path.is_file():
        raise StudioError(f"model file not found: {path}")
    if path.suffix.lower() not in (".pth", ".pt", ".pth.tar", ".tar", ".ckpt", ".bin", ".onnx"):
        raise StudioError(f"{path.name} is not a model file: expected a PyTorch checkpoint (.pth/.pt) or an .onnx file")
    name = name or path.stem
    if path.suffix.lower() == ".onnx":
        return _identify_onnx(path, name)
    from .checkpoints import (  # PyTorch: only for checkpoints
        UltralyticsFileError,
        load_checkpoint_object,
    )

    try:
        obj = load_checkpoint_object(path)
    except UltralyticsFileError:
        return ModelMetadata(name=name, file=path.name, kind=DETECTOR, format="ultralytics", arch="yolo",
                             size_bytes=path.stat().st_size,
                             notes=["Ultralytics model: loaded with an allowlist of YOLO layers, so it cannot run code"])
    except CheckpointError:
        with open(path, "rb") as f:
            looks_onnx = f.read(1) == ONNX_MAGIC_HINT
        if looks_onnx:
            raise StudioError(f"{path.name} looks like an ONNX file: give it the .onnx extension") from None
        raise
    return _identify_checkpoint(path, obj, name, input_size)


def _identify_checkpoint(path: Path, obj: object, name: str, input_size: tuple[int, int] | None) -> ModelMetadata:
    from .checkpoints import embedded_metadata, infer_architecture, normalize_state_dict
    from .spec import resolve_input_size

    state_dict = normalize_state_dict(obj, path.name)
    arch, num_joints, _ = infer_architecture(state_dict, path.name)
    embedded = embedded_metadata(obj) or {}
    size, note = resolve_input_size(input_size, _size_from(embedded.get("input_size")), path, num_joints, arch)
    notes: list[str] = [note] if note else []
    keypoints = embedded.get("keypoints")
    if keypoints is not None:
        try:
            if keypoints_from_dict(keypoints).num_joints != num_joints:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise StudioError(f"{path.name}: its keypoint set does not match its {num_joints}-joint last layer") from None
    else:
        keypoints = keypoints_to_dict(keypoint_set_for(num_joints))
    try:
        normalization = Normalization.from_dict(embedded.get("normalization"))
    except (AttributeError, TypeError, ValueError):
        raise StudioError(f"{path.name}: the normalisation it carries is malformed") from None
    encoding = str(embedded.get("encoding", "official"))
    if encoding not in ENCODINGS:
        raise StudioError(f"{path.name}: it names an unknown target encoding {encoding!r}")
    return ModelMetadata(
        name=name, file=path.name, kind=POSE, format="pth", arch=arch, input_size=list(size), num_joints=num_joints,
        keypoints=keypoints, normalization=normalization.to_dict(), encoding=encoding, source=str(embedded.get("source", "import")),
        training_data=embedded.get("training_data"), metrics=dict(embedded.get("metrics") or {}),
        size_bytes=path.stat().st_size, notes=notes,
    )


def _size_from(value: object) -> tuple[int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value):
        return int(value[0]), int(value[1])
    return None


def onnx_io_shapes(path: Path) -> tuple[list, list]:
    """The first input's and first output's shapes (ints or symbolic names) of an ONNX model."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others for damaged files
        raise StudioError(f"{path.name} is not a readable ONNX model: {first_line(exc)}") from None

    def dims(value_info) -> list:
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                for d in value_info.type.tensor_type.shape.dim]

    if not model.graph.input or not model.graph.output:
        raise StudioError(f"{path.name} has no graph inputs or outputs")
    return dims(model.graph.input[0]), dims(model.graph.output[0])


def _identify_onnx(path: Path, name: str) -> ModelMetadata:
    inp, out = onnx_io_shapes(path)
    if len(inp) != 4 or inp[1] != 3 or not all(isinstance(v, int) and v > 0 for v in inp[2:]):
        raise StudioError(f"{path.name} is not a pose heatmap model: input shape {inp}, expected [N, 3, H, W] "
                          f"with a fixed H and W")
    height, width = inp[2], inp[3]
    expected = [height // 4, width // 4]  # a graph may leave them symbolic (sizes computed inside it): accepted
    if len(out) != 4 or not isinstance(out[1], int) or any(isinstance(v, int) and v != e
                                                            for v, e in zip(out[2:], expected)):
        raise StudioError(f"{path.name} is not an HRNet-style heatmap model: output shape {out}, expected "
                          f"[N, K, {height // 4}, {width // 4}]")
    num_joints = out[1]
    return ModelMetadata(
        name=name, file=path.name, kind=POSE, format="onnx", arch="onnx", input_size=[width, height],
        num_joints=num_joints, keypoints=keypoints_to_dict(keypoint_set_for(num_joints)),
        size_bytes=path.stat().st_size,
    )
