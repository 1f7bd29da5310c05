"""Corrected frames → a COCO-format training set, in the layout ``label`` writes (``images/*.jpg`` and
``annotations.json``), added to an existing one without duplicates: a frame added again replaces its earlier entry.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..atomic_writer import make_folder, write_bytes, write_json
from ..errors import StudioError
from ..sources.live import open_source
from ..training.label import category_for
from .review_file import Review


@dataclass
class AddReport:
    annotation_file: Path
    frames_added: int  # new frames
    frames_replaced: int  # frames that were in the set already, now with the newer corrections
    persons: int
    total_images: int


def _existing(annotation_file: Path, review: Review) -> dict:
    if not annotation_file.is_file():
        return {"info": {"description": "frames corrected in HRNet Studio"}, "images": [], "annotations": [],
                "categories": [category_for(review.keypoints)]}
    try:
        data = json.loads(annotation_file.read_text(encoding="utf-8"))
        names = data["categories"][0]["keypoints"]
        data["images"], data["annotations"]  # noqa: B018 - both must be there
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise StudioError(f"{annotation_file} is not a COCO keypoints file this app can add to "
                          f"({type(exc).__name__}): pick another folder") from None
    if list(names) != list(review.keypoints.names):
        raise StudioError(f"{annotation_file} holds another keypoint set ({len(names)} joints, this model has "
                          f"{review.keypoints.num_joints}): pick another folder")
    return data


def add_to_training_set(review: Review, video: str | Path, dataset_dir: str | Path,
                        progress: Callable[[int, int], None] | None = None) -> AddReport:
    """Write every corrected frame of ``review`` (frames of ``video``, a video file or an image folder) into
    ``dataset_dir``.

    Each frame's image is saved as ``images/<video stem>_<frame>.jpg``; each person with at least one labelled
    joint becomes an annotation (``keypoints`` [x, y, v]×K frame pixels, v 2 visible / 1 occluded / 0 not
    labelled, ``bbox`` [x, y, w, h]). Images carry ``video`` and ``frame_index`` so a frame added again replaces
    its earlier entry. The annotation file is written last, atomically: an interrupted run leaves the set as it was
    (at most some unreferenced images)."""
    frames = review.corrected_frames
    if not frames:
        raise StudioError("no corrected frame in this review yet: correct a frame first")
    dataset_dir = Path(dataset_dir)
    images_dir = make_folder(dataset_dir / "images")
    annotation_file = dataset_dir / "annotations.json"
    data = _existing(annotation_file, review)
    video = Path(video)
    keys = {(im.get("video"), im.get("frame_index")): im["id"] for im in data["images"]}
    replaced_ids = {keys[(video.name, f)] for f in frames if (video.name, f) in keys}
    data["images"] = [im for im in data["images"] if im["id"] not in replaced_ids]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] not in replaced_ids]
    next_image = max((im["id"] for im in data["images"]), default=0) + 1
    next_ann = max((a["id"] for a in data["annotations"]), default=0) + 1
    persons = 0
    source = open_source(video)  # a video file or an image folder
    try:
        for done, index in enumerate(frames):
            source.seek(index)
            frame = source.read()
            image = frame.image if frame is not None and frame.index == index else None
            if image is None:
                raise StudioError(f"frame {index} of {video.name} cannot be read: is this the video the review "
                                  f"was made on?")
            name = f"{video.stem}_{index:06d}.jpg"
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not ok:
                raise StudioError(f"cannot encode frame {index} of {video.name} as JPEG")
            write_bytes(images_dir / name, jpeg.tobytes())
            h, w = image.shape[:2]
            data["images"].append({"id": next_image, "file_name": name, "width": w, "height": h,
                                   "video": video.name, "frame_index": index})
            for person in review.frames[index].persons:
                labelled = person.visible > 0
                if not labelled.any():
                    continue
                values = np.zeros((len(labelled), 3))
                values[labelled, :2] = person.keypoints[labelled]
                values[:, 2] = person.visible
                x1, y1, x2, y2 = (float(v) for v in person.bbox)
                data["annotations"].append({
                    "id": next_ann, "image_id": next_image, "category_id": 1, "iscrowd": 0,
                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                    "keypoints": [round(float(v), 2) for v in values.ravel()],
                    "num_keypoints": int(labelled.sum()), "track_id": person.track_id})
                next_ann += 1
                persons += 1
            next_image += 1
            if progress:
                progress(done + 1, len(frames))
    finally:
        source.close()
    write_json(annotation_file, data)
    return AddReport(annotation_file, len(frames) - len(replaced_ids), len(replaced_ids), persons,
                     len(data["images"]))
