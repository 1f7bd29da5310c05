"""The export table: the keypoints CSV's columns, defined once. The writer (``exporters.CsvExporter``), the
analysis outputs (``analysis/tracks``) and every other reader go through ``TableLayout`` and ``read_table``, and
readers find each value by its column's name, so a column added later cannot shift another.

Columns, in order::

    frame, time_s, time_flag,                       every row; a frame with nobody has only these filled
    person_id, box_x1, box_y1, box_x2, box_y2, box_score,
    <joint>_x, <joint>_y, <joint>_score             for each joint of the keypoint set, in its order
    corrected                                       optional (a reviewed video): joints corrected by hand
    fixed                                           optional (--fix-swaps): joints of limbs swapped back left/right
    filled                                          optional (gaps filled): joints interpolated over a gap
    capture_time                                    optional (a live recording): when the frame was read

``time_s`` is seconds (the frame's presentation time, 4 decimals); ``time_flag`` is ``gap``, ``repeat`` or empty;
boxes and joints are frame pixels (2 decimals); scores 0-1 (4 decimals). An empty cell is a missing value (NaN when
read); a filled joint has no score. ``corrected``, ``fixed`` and ``filled`` hold joint names joined by ``|`` (empty:
none).
``capture_time`` is seconds on the recording machine's monotonic clock (6 decimals), the time the streams send.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import StudioError
from ..skeletons import KeypointSet

FRAME_COLUMNS = ["frame", "time_s", "time_flag"]
PERSON_COLUMNS = ["person_id", "box_x1", "box_y1", "box_x2", "box_y2", "box_score"]
CORRECTED_COLUMN = "corrected"
FIXED_COLUMN = "fixed"
FILLED_COLUMN = "filled"
CAPTURE_COLUMN = "capture_time"
NAME_SEPARATOR = "|"


def joint_columns(keypoints: KeypointSet) -> list[str]:
    """``<joint>_x, <joint>_y, <joint>_score`` for every joint, in the set's order."""
    return [f"{name}_{c}" for name in keypoints.names for c in ("x", "y", "score")]


def number_cell(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals; empty for NaN (a missing value)."""
    return f"{value:.{decimals}f}" if math.isfinite(value) else ""


@dataclass
class TableRow:
    """One row: a person in a frame, or (``person_id`` None) a frame with nobody in it. ``box`` [4] x1, y1, x2,
    y2 and ``xy`` [K, 2] in frame pixels, ``scores`` [K] 0-1, NaN where missing; ``corrected``, ``filled`` and
    ``fixed`` [K] bool."""

    frame: int
    time_s: float
    time_flag: str = ""
    person_id: int | None = None
    box: np.ndarray | None = None
    box_score: float = float("nan")
    xy: np.ndarray | None = None
    scores: np.ndarray | None = None
    corrected: np.ndarray | None = None
    filled: np.ndarray | None = None
    capture_time: float = float("nan")
    fixed: np.ndarray | None = None


@dataclass(frozen=True)
class TableLayout:
    """The columns of one export's CSV: the keypoint set's joints, with or without ``corrected``, ``fixed``,
    ``filled`` and ``capture_time``."""

    keypoints: KeypointSet
    corrected: bool = False
    filled: bool = False
    captured: bool = False
    fixed: bool = False
    header: list[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        marks = ([CORRECTED_COLUMN] * self.corrected + [FIXED_COLUMN] * self.fixed + [FILLED_COLUMN] * self.filled
                 + [CAPTURE_COLUMN] * self.captured)
        object.__setattr__(self, "header", FRAME_COLUMNS + PERSON_COLUMNS + joint_columns(self.keypoints) + marks)

    def cells(self, row: TableRow) -> list[str]:
        """``row`` as the CSV's cells, in the header's order."""
        head = [str(row.frame), f"{row.time_s:.4f}", row.time_flag]
        captured = [number_cell(row.capture_time, 6)] if self.captured else []
        if row.person_id is None:
            return head + [""] * (len(self.header) - len(head) - len(captured)) + captured
        joints = []
        for j in range(self.keypoints.num_joints):
            filled = row.filled is not None and row.filled[j]
            joints += [number_cell(row.xy[j, 0], 2), number_cell(row.xy[j, 1], 2),
                       "" if filled else number_cell(row.scores[j], 4)]
        cells = (head + [str(row.person_id)] + [number_cell(v, 2) for v in row.box]
                 + [number_cell(row.box_score, 4)] + joints)
        if self.corrected:
            cells.append(self.names_cell(row.corrected))
        if self.fixed:
            cells.append(self.names_cell(row.fixed))
        if self.filled:
            cells.append(self.names_cell(row.filled))
        return cells + captured

    def names_cell(self, marks: np.ndarray | None) -> str:
        """The joints marked in ``marks`` [K] bool, by name, ``|``-joined (empty for None or none marked)."""
        if marks is None:
            return ""
        return NAME_SEPARATOR.join(self.keypoints.names[j] for j in np.flatnonzero(marks))

    @classmethod
    def of_header(cls, header: list[str], keypoints: KeypointSet, path: Path | str = "the CSV") -> TableLayout:
        """The layout of a CSV with ``header``, or a one-line ``StudioError`` naming the columns it lacks (a
        CSV of another keypoint set, or not an export at all). Columns it has beyond these are ignored."""
        missing = [c for c in FRAME_COLUMNS + PERSON_COLUMNS + joint_columns(keypoints) if c not in header]
        if missing:
            shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
            raise StudioError(f"{Path(path).name} is not a keypoints CSV of this {keypoints.name} model: "
                              f"it has no column {shown}")
        return cls(keypoints, CORRECTED_COLUMN in header, FILLED_COLUMN in header, CAPTURE_COLUMN in header,
                   FIXED_COLUMN in header)


def read_table(path: str | Path, keypoints: KeypointSet) -> tuple[TableLayout, list[TableRow]]:
    """Every row of an export's CSV, each value found by its column's name. A missing column, or a cell that is
    not a number where a number belongs, is refused in one line naming the file (and the line and column)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise StudioError(f"{path.name} is empty: it is not a keypoints CSV")
        layout = TableLayout.of_header(header, keypoints, path)
        at = {name: i for i, name in enumerate(header)}
        box_at = [at[c] for c in PERSON_COLUMNS[1:5]]
        joints_at = np.array([at[c] for c in joint_columns(keypoints)]).reshape(-1, 3)
        names = {name: j for j, name in enumerate(keypoints.names)}
        rows = []
        for line, cells in enumerate(reader, start=2):
            try:
                rows.append(_row(cells, at, box_at, joints_at, names))
            except (ValueError, IndexError, KeyError) as exc:
                raise StudioError(f"{path.name}, line {line}: {_reason(exc)}") from None
    return layout, rows


def _row(cells: list[str], at: dict[str, int], box_at: list[int], joints_at: np.ndarray,
         names: dict[str, int]) -> TableRow:
    row = TableRow(int(cells[at["frame"]]), float(cells[at["time_s"]]), cells[at["time_flag"]])
    if CAPTURE_COLUMN in at:
        row.capture_time = _number(cells[at[CAPTURE_COLUMN]])
    person = cells[at["person_id"]]
    if person == "":
        return row
    row.person_id = int(person)
    row.box = np.array([_number(cells[i]) for i in box_at])
    row.box_score = _number(cells[at["box_score"]])
    values = np.array([[_number(cells[i]) for i in joint] for joint in joints_at])
    row.xy, row.scores = values[:, :2], values[:, 2]
    for column in (CORRECTED_COLUMN, FILLED_COLUMN, FIXED_COLUMN):
        marks = np.zeros(len(names), bool)
        if column in at and cells[at[column]]:
            marks[[names[n] for n in cells[at[column]].split(NAME_SEPARATOR)]] = True
        setattr(row, column, marks)
    return row


def _number(cell: str) -> float:
    return float(cell) if cell != "" else np.nan


def _reason(exc: Exception) -> str:
    if isinstance(exc, IndexError):
        return "the row has fewer cells than the header"
    if isinstance(exc, KeyError):
        return f"no joint named {exc.args[0]!r} in this keypoint set"
    return str(exc)

