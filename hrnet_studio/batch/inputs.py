"""What the user named on the command line → the videos to export and where each one's outputs go."""
from __future__ import annotations

import glob
import os
from pathlib import Path

from ..errors import StudioError
from ..sources.live import VIDEO_SUFFIXES

GLOB_CHARS = set("*?[")


def collect_videos(inputs: list[str | Path], recursive: bool = False) -> list[Path]:
    """Videos (absolute paths, each once, in the order named) from files, folders (their videos, in name order;
    with ``recursive`` those of every subfolder), glob patterns and list files (``@list.txt``: one input per
    line, ``#`` comments; relative lines are relative to the list file). A name that is none of these, a
    pattern or folder that holds no video, is a one-line ``StudioError``."""
    found: list[Path] = []
    for item in inputs:
        found += _expand(str(item), recursive, Path.cwd())
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise StudioError("no video to export")
    return unique


def _expand(item: str, recursive: bool, base: Path) -> list[Path]:
    if item.startswith("@"):
        listing = (base / item[1:]).expanduser()
        try:
            lines = listing.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise StudioError(f"cannot read the list file {listing}: {exc.strerror or exc}") from None
        entries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        return [p for entry in entries for p in _expand(entry, recursive, listing.parent)]
    path = (base / item).expanduser()
    if GLOB_CHARS & set(item):
        matches = sorted(Path(m) for m in glob.glob(str(path), recursive=recursive))
        videos = [m for m in matches if m.is_file() and m.suffix.lower() in VIDEO_SUFFIXES]
        videos += [v for m in matches if m.is_dir() for v in _folder(m, recursive)]
        if not videos:
            raise StudioError(f"no video matches {item}")
        return videos
    if path.is_dir():
        videos = _folder(path, recursive)
        if not videos:
            hint = "" if recursive else " (add --recursive to look in its subfolders)"
            raise StudioError(f"no video ({', '.join(VIDEO_SUFFIXES)}) in {path}{hint}")
        return videos
    if not path.exists():
        raise StudioError(f"video not found: {path}")
    return [path]


def _folder(folder: Path, recursive: bool) -> list[Path]:
    walk = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in walk if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                  and not p.name.startswith("."))  # hidden files: our own part files among them


def output_names(videos: list[Path]) -> dict[Path, str]:
    """Each video's output name inside the output folder, without a suffix: its path relative to the videos'
    common folder (``season/game1`` for ``…/season/game1.mp4``), so names mirror the inputs; where two would be
    the same (``clip.mp4`` and ``clip.avi``) the container's suffix is kept in the name (``clip_avi``)."""
    if not videos:
        return {}
    root = Path(os.path.commonpath([str(v.parent) for v in videos]))
    stems = {v: v.relative_to(root).with_suffix("").as_posix() for v in videos}
    taken: dict[str, int] = {}
    for stem in stems.values():
        taken[stem] = taken.get(stem, 0) + 1
    return {v: (f"{stem}_{v.suffix.lstrip('.').lower()}" if taken[stem] > 1 else stem) for v, stem in stems.items()}
