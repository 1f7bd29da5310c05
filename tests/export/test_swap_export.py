"""Left/right swaps through an export: found in the tracked persons, repaired before the CSV, angles and TRC when those
are asked for (the CSV's ``fixed`` column names the joints), listed in the report; reported but left alone without."""
import csv

import numpy as np
import pytest

from hrnet_studio.export.analysis.outputs import AnalysisRequest
from hrnet_studio.export.job import export_video
from hrnet_studio.inference.detect.detector import FullFrameDetector
from hrnet_studio.inference.options import PipelineOptions
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.models.spec import PoseModelSpec
from hrnet_studio.skeletons import COCO_17

SPEC = PoseModelSpec("hrnet_w32", 17, (192, 256), COCO_17)
SWAPPED_CROPS = (8, 9)  # one person a frame: frames 8 and 9
LEGS = [COCO_17.names.index(f"{side}_{joint}") for joint in ("knee", "ankle") for side in ("left", "right")]


class StandingPerson:
    """Heatmaps of a person standing still, legs apart; in the crops ``SWAPPED_CROPS`` (counted over every call) its
    knees and ankles come left for right (the far leg labelled as the near one)."""

    device_name = "CPU (synthetic)"
    device_type = "cpu"

    def __init__(self):
        self.crops = 0
        w, h = SPEC.heatmap_size
        ys, xs = np.mgrid[0:h, 0:w]
        places = {name: (24, 8 + 3 * i) for i, name in enumerate(COCO_17.names)}  # a column of joints
        places.update(left_knee=(34, 44), right_knee=(14, 44), left_ankle=(36, 58), right_ankle=(12, 58))
        self.maps = np.stack([np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / 2) for x, y in places.values()]
                             ).astype(np.float32)

    def infer(self, batch):
        out = np.repeat(self.maps[None], len(batch), axis=0)
        for i in range(len(batch)):
            if self.crops + i in SWAPPED_CROPS:
                out[i, [13, 14, 15, 16]] = self.maps[[14, 13, 16, 15]]
        self.crops += len(batch)
        return out


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.mark.parametrize("angles", [True, False])
def test_swaps_are_repaired_before_the_csv_when_angles_are_asked_for(videos, tmp_path, angles):
    pipeline = PosePipeline(StandingPerson(), SPEC, FullFrameDetector(), PipelineOptions())
    request = AnalysisRequest(angles=tmp_path / "clip.angles.csv") if angles else None
    report = export_video(videos / "single_person_taichi_340x256.mp4", pipeline, tmp_path / "clip.csv",
                          max_frames=24, analysis=request)
    assert [(s.frame, s.person, s.limb, s.repaired) for s in report.swaps] == [(8, 1, "legs", angles),
                                                                             (9, 1, "legs", angles)]
    header, rows = read(tmp_path / "clip.csv")
    x = [header.index(f"{COCO_17.names[j]}_x") for j in LEGS]
    first = [float(rows[0][i]) for i in x]
    if angles:
        assert [r[header.index("fixed")] for r in rows[7:11]] == ["", "left_knee|right_knee|left_ankle|right_ankle",
                                                                   "left_knee|right_knee|left_ankle|right_ankle", ""]
        assert all([float(r[i]) for i in x] == first for r in rows)  # the same place in every frame
        a_header, a_rows = read(tmp_path / "clip.angles.csv")
        knee = a_header.index("left_knee_deg")
        assert len({a[knee] for a in a_rows}) == 1
    else:
        assert "fixed" not in header
        assert [float(rows[8][i]) for i in x] == [first[1], first[0], first[3], first[2]]  # as the model said


def test_the_command_line_reports_every_swap_and_fix_swaps_overrides_the_default(capsys, videos, tmp_path,
                                                                                 monkeypatch):
    from helpers import run_cli

    import hrnet_studio.cli.export as export_cli

    def standing(args, live=False):
        return None, PipelineOptions(), PosePipeline(StandingPerson(), SPEC, FullFrameDetector()), None

    monkeypatch.setattr(export_cli, "open_pipeline", standing)
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "--max-frames", 20,
                           "-o", tmp_path / "clip.csv", "--fix-swaps")
    assert code == 0, err
    assert "left/right swaps repaired: 2 frame(s)\n  person 1, legs: frames 8-9\n" in err
    assert "fixed" in read(tmp_path / "clip.csv")[0]
