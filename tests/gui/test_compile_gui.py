"""Settings ▸ Model ▸ Compile: the app's way to ``--compile``; the model is loaded again, its network compiled."""
from PySide6.QtCore import QPoint, Qt

import hrnet_studio.inference.runtime.backends as backends

LOAD_TIMEOUT = 60_000


def test_ticking_compile_reloads_the_model_with_its_network_compiled(qtbot, window, monkeypatch):
    compiled = []
    real = backends.compiled

    def trace_only(model):  # TorchDynamo's trace run eagerly: the wiring, without minutes of C++ compiling
        compiled.append(model)
        return real(model, backend="eager")

    monkeypatch.setattr(backends, "compiled", trace_only)
    panel = window.panel
    panel.backend_combo.setCurrentText("torch")
    panel.backend_combo.activated.emit(panel.backend_combo.currentIndex())
    qtbot.waitUntil(lambda: window.model_info is not None and window.model_info.backend == "torch",
                    timeout=LOAD_TIMEOUT)
    assert compiled == [] and not panel.choice().compile
    loaded = window.model_info
    check = panel.compile_check
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=check.rect().topLeft() + QPoint(6, 6))
    assert check.isChecked() and window.current_choice().compile
    qtbot.waitUntil(lambda: window.model_info is not loaded and len(compiled) == 1, timeout=LOAD_TIMEOUT)
    assert window.worker.pipeline.backend.forward is not window.worker.pipeline.backend.model
