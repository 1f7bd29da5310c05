"""A detector file never runs code: YOLO .pt files are unpickled with an allowlist of YOLO layers only."""
import os
import pickle
import shutil

import pytest
import torch
from PySide6.QtCore import Qt

from hrnet_studio.cli.main import main
from hrnet_studio.errors import UnsafeFileError
from hrnet_studio.inference.detect.detector import YoloPersonDetector, make_detector
from hrnet_studio.models.registry import ModelRegistry
from hrnet_studio.models.ultralytics_files import open_yolo, refused_globals

VIDEO = "single_person_taichi_340x256.mp4"


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


class Shell:
    """Runs a shell command when unpickled: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Getattr:
    """``getattr(obj, name)`` when unpickled."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __call__(self, *args):  # pickle only reduces with callables; the real call happens when unpickled
        raise AssertionError

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


class Call(Getattr):
    """``func(*args)`` when unpickled, where ``func`` is itself something the pickle builds."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def getattr_escape(marker):
    """From ``Detect.forward`` to ``exec`` with getattr and calls alone: no global but getattr and a YOLO class."""
    from ultralytics.nn.modules.head import Detect

    module_globals = Getattr(Getattr(Detect, "forward"), "__globals__")
    builtins = Call(Getattr(module_globals, "get"), "__builtins__")
    run = Call(Getattr(builtins, "get"), "exec")
    return Call(run, f"import os; os.system('touch {marker}')")


@pytest.fixture
def payloads(tmp_path):
    """Malicious detector files, each in the shape of a YOLO checkpoint, and the marker their payload would create."""
    from ultralytics.nn.modules.head import Detect

    marker = tmp_path / "pwned"
    files = {}
    files["shell"] = tmp_path / "evil.pt"
    torch.save({"model": Shell(marker), "train_args": {}}, files["shell"])
    # The door a free getattr opens: a method's __globals__ reach every module it imported (os among them).
    files["dunder"] = tmp_path / "dunder.pt"
    torch.save({"model": Getattr(Getattr(Detect, "forward"), "__globals__")}, files["dunder"])
    files["class_dunder"] = tmp_path / "class_dunder.pt"
    torch.save({"model": Getattr(Detect, "__init__")}, files["class_dunder"])
    files["escape"] = tmp_path / "escape.pt"
    torch.save({"model": getattr_escape(marker)}, files["escape"])
    return marker, files


def test_the_getattr_escape_runs_under_plain_pickle(tmp_path):
    """The premise of the tests below: this payload does run code wherever getattr is unrestricted."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(getattr_escape(marker), protocol=2))
    assert marker.exists()


def test_the_real_pose_checkpoint_loads_without_ultralytics_unpickling_it(yolo_pose_weights, monkeypatch, assets):
    from ultralytics.nn import tasks

    def unrestricted(*args, **kwargs):
        raise AssertionError("Ultralytics unpickled the file itself")

    monkeypatch.setattr(tasks, "torch_load", unrestricted)
    assert refused_globals(yolo_pose_weights) == []
    model = open_yolo(yolo_pose_weights)
    assert model.task == "pose" and model.names == {0: "person"}
    import cv2

    frame = cv2.imread(str(assets / "data" / "coco_sample" / "images" / sorted(
        os.listdir(assets / "data" / "coco_sample" / "images"))[0]))
    assert len(YoloPersonDetector(yolo_pose_weights).detect(frame).boxes) >= 1


@pytest.mark.parametrize("kind, refused", [
    ("shell", "holds posix.system"),
    ("dunder", "holds getattr(Detect.forward, '__globals__')"),
    ("class_dunder", "holds getattr(Detect, '__init__')"),
    ("escape", "holds getattr(Detect.forward, '__globals__')"),
])
def test_payloads_are_refused_and_never_run(payloads, kind, refused):
    marker, files = payloads
    with pytest.raises(UnsafeFileError, match=refused.replace("(", r"\(").replace(")", r"\)")):
        make_detector(str(files[kind]), warn=lambda line: pytest.fail(f"fell back instead of refusing: {line}"))
    assert not marker.exists()


def test_export_with_a_malicious_detector_fails_without_running_it(capsys, models_home, payloads, videos, tmp_path,
                                                                  small_checkpoint):
    marker, files = payloads
    out = tmp_path / "poses.csv"
    code, _, err = run_cli(capsys, "export", videos / VIDEO, "-o", out, "--model", small_checkpoint,
                           "--detector", files["shell"], "--max-frames", 2, "--device", "cpu")
    assert code == 2 and not marker.exists() and not out.exists()
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: evil.pt was refused: it holds posix.system") and "--trust-detector" in lines[-1]
    assert "Traceback" not in err


def test_models_import_says_the_file_holds_code(capsys, models_home, payloads):
    marker, files = payloads
    for kind in ("shell", "dunder"):
        code, out, err = run_cli(capsys, "models", "import", files[kind])
        assert code == 2 and "was refused: it holds" in err and "corrupt" not in err, err
        assert [line for line in err.splitlines() if line.strip()] == [err.strip()]  # one line, no torch warnings
    assert not marker.exists() and (not models_home.exists() or list(models_home.iterdir()) == [])


def test_a_payload_dropped_into_the_model_folder_is_flagged_not_run(capsys, models_home, payloads):
    marker, files = payloads
    models_home.mkdir()
    shutil.copy(files["shell"], models_home / "detector.pt")
    code, out, _ = run_cli(capsys, "models", "list")
    assert code == 0 and "detector.pt: detector.pt was refused: it holds posix.system" in out
    record = ModelRegistry().find("detector")
    assert record.problem and ModelRegistry().default_detector() is None
    assert not marker.exists()


def test_a_detector_changed_after_install_is_refused(capsys, models_home, yolo_pose_weights, videos, tmp_path,
                                                    small_checkpoint):
    record = ModelRegistry().import_file(yolo_pose_weights)
    data = bytearray(record.path.read_bytes())
    data[-30] ^= 0xFF  # a flipped byte: tampering, or a damaged disk
    record.path.write_bytes(bytes(data))
    code, _, err = run_cli(capsys, "export", videos / VIDEO, "-o", tmp_path / "p.csv", "--model", small_checkpoint,
                           "--detector", "yolo11n-pose", "--max-frames", 1, "--device", "cpu")
    assert code == 2 and "error: yolo11n-pose.pt has changed since it was installed" in err
    assert not (tmp_path / "p.csv").exists()


def test_a_file_is_read_for_code_once_until_it_changes(yolo_pose_weights, payloads, tmp_path, monkeypatch):
    """Opening the same detector again (import, check, load) does not read its pickle again; a file put in its place
    is read, so a payload copied over a trusted file's name is refused."""
    from hrnet_studio.models import ultralytics_files

    scans = []
    real = ultralytics_files._scan_globals
    monkeypatch.setattr(ultralytics_files, "_scan_globals", lambda path: (scans.append(path), real(path))[1])
    detector = tmp_path / "detector.pt"
    shutil.copy(yolo_pose_weights, detector)
    assert refused_globals(detector) == [] and refused_globals(detector) == []
    ModelRegistry(tmp_path / "models").import_file(detector)
    assert scans == [detector]
    shutil.copy(payloads[1]["shell"], detector)
    assert refused_globals(detector) == ["posix.system"] and len(scans) == 2
    with pytest.raises(UnsafeFileError):
        open_yolo(detector)
    assert not payloads[0].exists()


def test_trust_detector_is_explicit(yolo_pose_weights, payloads):
    marker, files = payloads
    assert make_detector(str(yolo_pose_weights), trust=True).name == "yolo11n-pose.pt"
    # Trusting a payload runs it: that is why it is never the default.
    make_detector(str(files["shell"]), trust=True, warn=lambda line: None)
    assert marker.exists()


def test_a_payload_picked_in_the_app_is_refused_and_the_user_asked(qtbot, window, payloads, gui_models):
    from PySide6.QtWidgets import QMessageBox

    marker, files = payloads
    shutil.copy(files["escape"], gui_models / "fast-yolo.pt")  # looks like a YOLO file: it is offered as a detector
    window.refresh_models()
    combo = window.panel.detector_combo
    combo.setCurrentIndex(combo.findText("fast-yolo"))
    assert combo.currentIndex() >= 0
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "trustQuestion") is not None, timeout=30_000)
    box = window.findChild(QMessageBox, "trustQuestion")
    assert "fast-yolo.pt was refused: it holds getattr(Detect.forward, '__globals__')" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    # The app carries on with the whole frame as the box; the payload never ran.
    qtbot.waitUntil(lambda: combo.currentData() == "none" and window.model_info is not None
                    and window.model_info.detector == "full frame", timeout=30_000)
    assert not marker.exists()
    assert not (gui_models / "fast-yolo.exports").exists()  # the refused export leaves nothing beside the model
