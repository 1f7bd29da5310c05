"""One door from the user's choice to a pipeline: the CLI, the app's worker and its export job build it here."""
import pytest

from hrnet_studio.errors import StudioError
from hrnet_studio.inference.factory import build_pipeline, resolve_detector
from hrnet_studio.inference.options import PipelineChoice, PipelineOptions
from hrnet_studio.models.registry import ModelRegistry
from hrnet_studio.thread_budget import thread_budget


@pytest.mark.fresh_detector_export
def test_a_choice_becomes_a_pipeline_on_the_cpu(gui_models):
    said = []
    detector, sha256 = resolve_detector("yolo11n-pose", ModelRegistry())
    choice = PipelineChoice("w8", detector, "cpu", "auto", sha256, detector_size=320, det_conf=0.6)
    pipeline, loaded = build_pipeline(choice, PipelineOptions(det_every=3), say=said.append)
    assert loaded.record.name == "w8" and loaded.backend_kind == "onnx"  # auto on the CPU: ONNX Runtime
    assert loaded.backend.device_type == "cpu" and pipeline.options.det_every == 3
    assert pipeline.detector.runtime == "onnx" and pipeline.detector.imgsz == 320
    assert pipeline.detector.model.conf == 0.6
    assert any("exporting detector" in line for line in said)  # the one-time export is told
    budget = thread_budget()
    assert pipeline.detector.model.session.get_session_options().intra_op_num_threads == budget.ort_intra
    live, live_loaded = build_pipeline(choice, PipelineOptions.live(), live=True)  # the detector runs beside pose
    assert live.detector.model.session.get_session_options().intra_op_num_threads == budget.beside_detector_threads
    assert live_loaded.backend.session.get_session_options().intra_op_num_threads == budget.ort_intra  # an HRNet

    torch_pipeline, torch_loaded = build_pipeline(PipelineChoice("w8", detector, "cpu", "torch", sha256))
    assert torch_loaded.backend_kind == "torch" and torch_loaded.backend.device_type == "cpu"
    assert torch_pipeline.detector.runtime == "onnx"  # on the CPU the detector runs on ONNX Runtime anyway


def test_detector_names_become_files(gui_models):
    registry = ModelRegistry()
    path, sha256 = resolve_detector("yolo11n-pose", registry)
    record = registry.find("yolo11n-pose")
    assert (path, sha256) == (str(record.path), record.sha256)
    assert resolve_detector(None, registry) == (path, sha256)  # the installed default
    assert resolve_detector("none", registry) == ("none", None)
    with pytest.raises(StudioError, match="detector yolo11n is not installed: run `hrnet-studio models pull yolo11n`"):
        resolve_detector("yolo11n", registry)  # in the catalogue, not downloaded


def test_without_a_detector_installed_the_full_frame_is_used_and_said(models_home):
    said = []
    assert resolve_detector(None, ModelRegistry(), said.append) == ("none", None)
    assert said and said[0].startswith("warning: no person detector installed")


@pytest.mark.parametrize("text, size", [("192x256", (192, 256)), (" 288 × 384 ", (288, 384)), ("256X256", (256, 256)),
                                        ("64*48", (64, 48))])
def test_input_sizes_are_read_one_way_everywhere(text, size):
    from hrnet_studio.gui.finetune.pages import parse_size as wizard_size
    from hrnet_studio.inference.options import parse_input_size

    assert parse_input_size(text) == size and wizard_size(text) == size


@pytest.mark.parametrize("text, reason", [("192", "expected WIDTHxHEIGHT"), ("190x256", "multiples of 4"),
                                          ("12x12", "at least 16")])
def test_a_bad_input_size_is_one_line_on_the_command_line(capsys, text, reason):
    from hrnet_studio.cli.main import main
    from hrnet_studio.gui.finetune.pages import parse_size as wizard_size

    with pytest.raises(SystemExit) as stop:
        main(["export", "clip.mp4", "--input-size", text])
    assert stop.value.code == 2 and reason in capsys.readouterr().err
    assert wizard_size(text) is None
