"""An Ultralytics YOLO detector exported to ONNX, run by ONNX Runtime alone: no Ultralytics, no PyTorch.

Loading Ultralytics to run an ONNX file costs start-up (its import, and torchvision's on the first prediction:
about 3.5 s on a 2-core CPU) and opens a second ONNX Runtime session with its own thread settings. The work
around the network is small and defined by Ultralytics' predictor, which this module follows step for step so
that the boxes are the same:

* letterbox (``ultralytics.data.augment.LetterBox``): scale the frame to fit ``imgsz`` keeping its aspect ratio
  (``cv2.INTER_LINEAR``), pad with grey 114 to the stride for a dynamic export (its "minimum rectangle") or to the
  exported size for a fixed one, centred; BGR to RGB, [0, 1], NCHW float32;
* decoding (``ultralytics.utils.nms.non_max_suppression``): rows ``cx, cy, w, h, class scores…, extras…``; each row
  keeps its best class; rows whose best class is *person* and whose score passes ``conf`` go to NMS (OpenCV's
  ``NMSBoxes``), at most ``max_det`` kept; end-to-end exports (``end2end`` in the metadata) give
  ``x1, y1, x2, y2, score, class`` rows already past NMS;
* boxes back to the frame (``ultralytics.utils.ops.scale_boxes``): minus the padding, divided by the gain, clipped.

The export's metadata (written by Ultralytics' exporter) gives the class names, the stride and the task.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import DetectorError, first_line

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """Where the frame lies in the network input: ``gain_x``/``gain_y`` (input px per frame px) and the padding
    ``pad_x``/``pad_y`` (input px) left and above it."""

    gain_x: float
    gain_y: float
    pad_x: int
    pad_y: int

    def to_frame(self, boxes: np.ndarray, frame_shape: tuple[int, ...]) -> np.ndarray:
        """Boxes ``[N, 4]`` x1, y1, x2, y2 in input pixels → frame pixels, clipped to the frame."""
        out = boxes.astype(np.float32, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.gain_x
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.gain_y
        h, w = frame_shape[:2]
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, w)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, h)
        return out

    def points_to_frame(self, points: np.ndarray) -> np.ndarray:
        """Points ``[..., 2]`` x, y in input pixels → frame pixels (not clipped: a joint may lie outside)."""
        out = points.astype(np.float32, copy=True)
        out[..., 0] = (out[..., 0] - self.pad_x) / self.gain_x
        out[..., 1] = (out[..., 1] - self.pad_y) / self.gain_y
        return out


def letterbox(frame_bgr: np.ndarray, size: tuple[int, int], stride: int, minimum_rectangle: bool,
              ) -> tuple[np.ndarray, Letterbox]:
    """The frame ``[H, W, 3]`` uint8 BGR as the network's input ``[1, 3, h, w]`` float32 RGB in [0, 1] for the target
    ``size`` (height, width); ``minimum_rectangle`` pads only to a multiple of ``stride`` (a dynamic export)."""
    h, w = frame_bgr.shape[:2]
    gain = min(size[0] / h, size[1] / w)
    new_w, new_h = max(round(w * gain), 1), max(round(h * gain), 1)
    dw, dh = size[1] - new_w, size[0] - new_h
    if minimum_rectangle:
        dw, dh = dw % stride, dh % stride
    top, bottom = round(dh / 2 - 0.1), round(dh / 2 + 0.1)
    left, right = round(dw / 2 - 0.1), round(dw / 2 + 0.1)
    image = frame_bgr if (new_w, new_h) == (w, h) else cv2.resize(frame_bgr, (new_w, new_h),
                                                                  interpolation=cv2.INTER_LINEAR)
    image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    tensor = np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1))[None].astype(np.float32) / 255.0
    return tensor, Letterbox(new_w / w, new_h / h, left, top)


def select_boxes(rows: np.ndarray, num_classes: int, class_id: int, conf: float, iou: float, max_det: int,
                 end2end: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From the network's rows ``[A, C]`` (one per anchor) to the boxes of class ``class_id``:
    (x1, y1, x2, y2 ``[N, 4]`` in input pixels, scores ``[N]``, the rest of each kept row ``[N, E]``: a pose
    model's keypoints, x, y, confidence ×K), best first."""
    if end2end:
        keep = (rows[:, 4] > conf) & (rows[:, 5] == class_id)
        kept = rows[keep][:max_det]
        return kept[:, :4].astype(np.float32), kept[:, 4].astype(np.float32), kept[:, 6:].astype(np.float32)
    scores = rows[:, 4:4 + num_classes]
    best = scores.argmax(axis=1)
    score = scores[np.arange(len(rows)), best]
    keep = (score > conf) & (best == class_id)
    xywh, score, extra = rows[keep, :4], score[keep], rows[keep, 4 + num_classes:]
    boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
    if not len(boxes):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, extra.shape[1]), np.float32)
    top_left_wh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    kept = np.asarray(cv2.dnn.NMSBoxes(top_left_wh.tolist(), score.tolist(), conf, iou), dtype=np.int64).reshape(-1)
    kept = kept[np.argsort(-score[kept], kind="stable")][:max_det]
    return boxes[kept].astype(np.float32), score[kept].astype(np.float32), extra[kept].astype(np.float32)


class YoloOnnx:
    """An Ultralytics YOLO detect or pose export (``.onnx``) on an ONNX Runtime session.

    ``detect(frame, class_id)`` → (boxes ``[N, 4]`` float32 x1, y1, x2, y2 in frame pixels, scores ``[N]``,
    a pose model's keypoints ``[N, K, 3]`` x, y in frame pixels and confidence, else None)."""

    def __init__(self, path: str | Path, imgsz: int, conf: float, iou: float, max_det: int, device: str = "cpu",
                 threads: int | None = None):
        from ..runtime.ort_session import open_session

        path = Path(path)
        try:
            self.session = open_session(path, device, threads)
            meta = self.session.get_modelmeta().custom_metadata_map
            self.names = {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}
            self.stride = int(meta.get("stride", 32))
            self.task = meta.get("task", "detect")
            self.end2end = meta.get("end2end", "False") == "True"
        except Exception as exc:  # ORT's own exception types, or a file without Ultralytics' metadata
            raise DetectorError(f"cannot load detector {path.name}: {first_line(exc)}") from None
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        fixed = model_input.shape[2:]
        self.dynamic = not all(isinstance(d, int) for d in fixed)
        self.size = (imgsz, imgsz) if self.dynamic else (int(fixed[0]), int(fixed[1]))
        self.conf, self.iou, self.max_det = conf, iou, max_det

    def detect(self, frame_bgr: np.ndarray, class_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        tensor, placed = letterbox(frame_bgr, self.size, self.stride, minimum_rectangle=self.dynamic)
        output = self.session.run(None, {self.input_name: tensor})[0][0]
        rows = output if self.end2end else output.T  # [C, A] → [A, C]
        boxes, scores, extra = select_boxes(rows, len(self.names), class_id, self.conf, self.iou, self.max_det,
                                            self.end2end)
        keypoints = None
        if self.task == "pose" and extra.shape[1] and extra.shape[1] % 3 == 0:
            keypoints = extra.reshape(len(extra), extra.shape[1] // 3, 3)
            keypoints[..., :2] = placed.points_to_frame(keypoints[..., :2])
        return placed.to_frame(boxes, frame_bgr.shape), scores, keypoints
