"""The CUDA path, run wherever a CUDA GPU is present (``pytest -m gpu``); skipped without one, as in CI. The same
checks run on CPU tensors in ``test_tensor_path.py`` and ``test_half_precision.py``."""
import numpy as np
import pytest
import torch
from helpers import read_csv, run_cli
from test_tensor_path import BrightSpots, frames_of

from hrnet_studio.inference.detect.detector import Detections
from hrnet_studio.inference.options import PipelineOptions
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.inference.runtime.backends import TorchBackend
from hrnet_studio.models.spec import PoseModelSpec
from hrnet_studio.skeletons import COCO_17

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here (CI has none)")]


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_the_tensor_path_on_cuda_agrees_with_the_cpu_path(videos, dtype):
    spec = PoseModelSpec("hrnet_w32", 17, (192, 256), COCO_17)
    boxes = Detections(np.array([[90, 25, 200, 235], [230, 20, 340, 238]], np.float32), np.ones(2, np.float32))
    frames = frames_of(videos, "two_people_basketball_gym_426x240.mp4", 8)
    cuda = PosePipeline(TorchBackend(BrightSpots(), "cuda", dtype=dtype), spec, None, PipelineOptions(flip_test=True))
    cpu = PosePipeline(TorchBackend(BrightSpots(), "cpu"), spec, None, PipelineOptions(flip_test=True))
    cpu.tensor_path = False  # OpenCV crops and numpy decoding
    gaps = np.concatenate([np.linalg.norm(a.keypoints - b.keypoints, axis=1)
                           for f in frames for a, b in zip(cuda.estimate(f, boxes), cpu.estimate(f, boxes))])
    assert np.percentile(gaps, 99) <= (0.05 if dtype == "fp32" else 0.5)


def test_export_runs_on_cuda_in_half_precision(capsys, videos, small_checkpoint, tmp_path, models_home):
    code, _, err = run_cli(capsys, "export", videos / "single_person_taichi_340x256.mp4", "--model", small_checkpoint,
                           "--detector", "none", "--max-frames", 16, "--device", "cuda", "--precision", "fp16",
                           "-o", tmp_path / "cuda.csv")
    assert code == 0, err
    assert "fp16) on" in err and "CPU" not in err.split("model ")[1].split("\n")[0]
    assert len(read_csv(tmp_path / "cuda.csv")[1]) == 16


def test_passes_stay_in_flight_on_cuda_with_the_same_keypoints(videos):
    """On CUDA the engine starts the next pass before the last one's keypoints come back (uploads on their own
    stream, keypoints copied back behind an event); the results are those of passes ended one at a time."""
    from hrnet_studio.inference.engine import PoseEngine
    from hrnet_studio.sources.video_file import VideoFileSource

    spec = PoseModelSpec("hrnet_w32", 17, (192, 256), COCO_17)
    boxes = Detections(np.array([[90, 25, 200, 235], [230, 20, 340, 238]], np.float32), np.ones(2, np.float32))

    class Fixed:
        name = "fixed"

        def detect(self, frame_bgr):
            return boxes

    def run(lookahead):
        pipeline = PosePipeline(TorchBackend(BrightSpots(), "cuda"), spec, Fixed(), PipelineOptions(max_batch=64))
        engine = PoseEngine(pipeline, frames_per_pass=4, lookahead=lookahead)
        with VideoFileSource(str(videos / "two_people_basketball_gym_426x240.mp4")) as source:
            return engine.lookahead, [np.stack([p.keypoints for p in r.persons]) for _, r in engine.run(source)]

    auto, ahead = run(None)
    plain, one_at_a_time = run(False)
    assert auto and not plain and len(ahead) == len(one_at_a_time) > 8
    for a, b in zip(ahead, one_at_a_time):
        np.testing.assert_array_equal(a, b)
