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
    def compiled_model_running() -> bool:
        pipeline = window.worker.pipeline
        return pipeline is not None and getattr(pipeline.backend, "forward", None) not in (None,
                                                                                          pipeline.backend.model)

    # the model in the worker is now one whose network went through torch.compile (any reload still queued from the
    # backend change is over by then)
    qtbot.waitUntil(lambda: window.model_info is not loaded and compiled and compiled_model_running(),
                    timeout=LOAD_TIMEOUT)
    assert not any("compile failed" in e for e in window.errors)
