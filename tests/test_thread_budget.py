"""One thread budget: nothing a library does on import or on device selection changes it behind our back."""
import os

import cv2
import numpy as np
import torch

from hrnet_studio.cli.main import main
from hrnet_studio.inference.detect.detector import YoloPersonDetector
from hrnet_studio.thread_budget import ThreadBudget, available_cores, thread_budget


def test_the_plan_gives_the_pose_network_every_core():
    for cores in (1, 2, 16):
        budget = ThreadBudget.plan(cores)
        assert budget.torch_threads == budget.ort_intra == cores and budget.opencv_threads == 1
        assert f"({cores} cores)" in budget.describe()
    assert thread_budget().cores == available_cores()


def test_a_live_view_splits_the_cores_between_pose_and_the_detector_beside_it():
    for cores, detector, lite in ((1, 1, 1), (2, 1, 1), (16, 8, 8)):
        budget = ThreadBudget.plan(cores)
        assert (budget.beside_detector_threads, budget.live_pose_threads) == (detector, lite)
        assert budget.live_pose_threads_for("litehrnet_18") == lite  # small operations: the cores left
        assert budget.live_pose_threads_for("hrnet_w32") == budget.ort_intra == cores  # large convolutions: all


def test_pytorch_keeps_its_budget_after_the_detector_loads_and_runs(yolo_pose_weights):
    budget = thread_budget()
    # Ultralytics sets OMP_NUM_THREADS=1 on import, turns OpenCV's threads off, and on its first CPU prediction
    # calls torch.set_num_threads(cores - 1).
    detector = YoloPersonDetector(yolo_pose_weights, device="cpu")
    assert torch.get_num_threads() == budget.torch_threads
    assert cv2.getNumThreads() == budget.opencv_threads
    assert os.environ["OMP_NUM_THREADS"] == str(budget.torch_threads)
    detector.detect(np.zeros((240, 320, 3), np.uint8))
    assert torch.get_num_threads() == budget.torch_threads


def test_onnx_runtime_sessions_get_the_budget(onnx_w8):
    from hrnet_studio.inference.runtime.onnx_backend import OnnxBackend

    backend = OnnxBackend(onnx_w8, "cpu")
    options = backend.session.get_session_options()
    assert options.intra_op_num_threads == thread_budget().ort_intra
    assert options.inter_op_num_threads == thread_budget().ort_inter
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_bench_shows_the_budget(capsys, small_checkpoint):
    code = main(["bench", "--model", str(small_checkpoint), "--backend", "torch", "--device", "cpu", "--batches", "1",
                 "--seconds", "0.1"])
    out = capsys.readouterr().out
    assert code == 0 and thread_budget().describe() in out
