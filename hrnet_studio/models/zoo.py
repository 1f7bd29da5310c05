"""The model catalogue (``resources/model_zoo.json``): official HRNet COCO/MPII models and Ultralytics detectors,
with where to download them, their checksums and published figures."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StudioError
from ..paths import zoo_catalog_path
from ..skeletons import BUILTIN_SETS
from .download import checksum_matches
from .metadata import DETECTOR, POSE, ModelMetadata, keypoints_to_dict


@dataclass(frozen=True)
class ZooSource:
    url: str
    sha256: str | None
    format: str


@dataclass
class ZooEntry:
    name: str
    kind: str
    title: str
    sources: list[ZooSource]
    arch: str = ""
    input_size: tuple[int, int] | None = None
    keypoints: str = ""
    training_data: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    metrics_note: str = ""
    size_bytes: int | None = None
    license: str = ""
    file: str | None = None
    official_file: dict | None = None
    encoding: str = "official"  # its training targets' (``unbiased`` for DARK-trained models)

    @property
    def filename(self) -> str:
        return self.file or f"{self.name}.pth"

    def recognises(self, digest: str) -> str | None:
        """``"official"`` or ``"zoo"`` when a file with this sha256 is this entry's official or download file."""
        official = (self.official_file or {}).get("sha256")
        if official and checksum_matches(digest, official):
            return "official"
        if any(s.sha256 and checksum_matches(digest, s.sha256) for s in self.sources):
            return "zoo"
        return None

    @property
    def checksum_note(self) -> str:
        """What a download of this entry is checked against, in a few words for the user."""
        published = [s.sha256 for s in self.sources if s.sha256]
        if not published:
            return "no published sha256"
        if all(len(p) == 64 for p in published):
            return "sha256 verified"
        return (f"the {4 * min(map(len, published))}-bit sha256 prefix in the file's name verified; "
                f"its full sha256 recorded for later downloads")

    def metrics_for(self, origin: str) -> dict[str, float]:
        """The published figures of that file: the official checkpoint's own, or the download's."""
        if origin == "official":
            return dict((self.official_file or {}).get("metrics") or {})
        return dict(self.metrics)

    def metadata(self, size_bytes: int, sha256: str | None, origin: str = "zoo") -> ModelMetadata:
        meta = ModelMetadata(
            name=self.name, file=self.filename, kind=self.kind, source=origin, builtin=self.name,
            format="ultralytics" if self.kind == DETECTOR else "pth", arch=self.arch or ("yolo" if self.kind == DETECTOR else ""),
            training_data=self.training_data, metrics=self.metrics_for(origin), sha256=sha256, size_bytes=size_bytes,
        )
        if self.kind == POSE and self.input_size:
            kps = BUILTIN_SETS[self.keypoints]
            meta.input_size = list(self.input_size)
            meta.num_joints = kps.num_joints
            meta.keypoints = keypoints_to_dict(kps)
            meta.encoding = self.encoding
        return meta


def load_zoo(path: Path | None = None) -> dict[str, ZooEntry]:
    path = path or zoo_catalog_path()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = {}
        for item in data["models"]:
            item = dict(item)
            item["sources"] = [ZooSource(s["url"], s.get("sha256"), s.get("format", "pth")) for s in item["sources"]]
            if item.get("input_size"):
                item["input_size"] = tuple(item["input_size"])
            entries[item["name"]] = ZooEntry(**item)
        return entries
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StudioError(f"the model catalogue {path} is unreadable ({type(exc).__name__}: {exc})") from None
