"""What an export draws and makes, and the defaults, written here and nowhere else: the overlay
(``OverlayOptions``) and the analysis filters (``FilterOptions``). The CLI's flags, the app's panels and dialogs
and the writers all read their defaults from these dataclasses. Nothing heavy is imported: the command line builds
its parser from them."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import StudioError

FILTERS = ("none", "butterworth", "savgol")


@dataclass
class OverlayOptions:
    """What the overlay shows; joints scoring below ``threshold`` (0-1) are hidden."""

    skeleton: bool = True
    boxes: bool = True
    ids: bool = True
    scores: bool = False
    threshold: float = 0.3
    parts: bool = True  # face and hand landmarks, when the whole-body stage found them
    part_threshold: float = 0.3  # their own score threshold, 0-1


@dataclass(frozen=True)
class FilterOptions:
    """``filter``: none, butterworth (``cutoff_hz``, ``order``; run forwards and backwards: no lag) or savgol
    (``window_s`` seconds, ``polyorder``). ``max_gap_s``: gaps up to this long are interpolated (0: none).
    ``threshold``: joints scoring below it count as missing."""

    filter: str = "none"
    cutoff_hz: float = 6.0
    order: int = 4
    window_s: float = 0.25
    polyorder: int = 3
    max_gap_s: float = 0.0
    threshold: float = 0.3

    def check(self) -> None:
        if self.filter not in FILTERS:
            raise StudioError(f"unknown filter {self.filter!r}: use {', '.join(FILTERS)}")
        if self.cutoff_hz <= 0 or self.order < 1 or self.window_s <= 0 or self.polyorder < 1 or self.max_gap_s < 0:
            raise StudioError("filter settings must be positive (cut-off in Hz, order, window in seconds)")
