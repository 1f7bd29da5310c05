"""``hrnet-studio doctor`` and Help ▸ System report: what runs here and why, as a user reads it."""
from helpers import run_cli
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from hrnet_studio.inference.runtime.system_report import (
    gpu_reason,
    missing_cuda_libraries,
)
from hrnet_studio.models.registry import ModelRegistry

SECTIONS = ("Python", "PyTorch", "ONNX Runtime", "OpenCV", "Threads", "Models")


def test_doctor_says_what_runs_here_and_times_the_default_model(capsys, models_home, small_checkpoint):
    ModelRegistry().import_file(small_checkpoint, name="w32-test")
    code, out, err = run_cli(capsys, "doctor", "--seconds", 0.05)
    assert code == 0 and "Traceback" not in err
    assert [line for line in out.splitlines() if line and not line.startswith(" ")] == \
        [*SECTIONS, "Speed (network only, batch 1)"]
    torch_lines = out.split("PyTorch\n")[1].split("\n\n")[0]
    reason = gpu_reason()
    assert ("GPU: none — " + reason) in torch_lines if reason else "GPU 0:" in torch_lines  # why, when there is none
    assert "providers in this build:" in out and "CPUExecutionProvider" in out
    assert f"folder: {models_home}" in out and "default pose model: w32-test" in out
    speed = out.split("Speed (network only, batch 1)\n")[1]
    assert "w32-test on CPU:" in speed and "w32-test on ONNX Runtime CPU:" in speed and "persons/s" in speed
    code, out, _ = run_cli(capsys, "doctor", "--no-speed")
    assert code == 0 and "Speed" not in out
    code, _, err = run_cli(capsys, "doctor", "--seconds", 0)
    assert code != 0 and "--seconds must be more than 0" in err


def test_a_missing_cuda_library_is_named(monkeypatch):
    import hrnet_studio.inference.runtime.system_report as report

    monkeypatch.setattr(report, "_loadable", lambda soname: not soname.startswith("libcudnn"))
    assert missing_cuda_libraries() == ["cuDNN (libcudnn.so.9)"]


def test_the_system_report_is_in_the_help_menu_and_copies(qtbot, window):
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    action = next(a for a in help_menu.actions() if a.text() == "&System report…")
    action.trigger()
    dialog = window.system_report
    qtbot.waitUntil(lambda: "persons/s" in dialog.text.toPlainText(), timeout=60_000)  # the speed check arrived
    text = dialog.text.toPlainText()
    assert all(f"{title}\n" in text for title in SECTIONS) and "measuring" not in text
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == text
    dialog.close()
