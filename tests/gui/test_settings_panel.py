"""The settings panel: every setting saved and restored, and the detector's settings reaching the engine."""

from conftest import make_settings, results_collector
from PySide6.QtCore import QSettings, Qt

from hrnet_studio.gui.main_window import MainWindow


def test_settings_persist(qtbot, gui_models, tmp_path):
    path = tmp_path / "persist.ini"
    first = MainWindow(settings=make_settings(path), probe_cameras_now=False)
    qtbot.addWidget(first)
    first.panel.threshold_slider.setValue(55)
    first.panel.flip_check.setChecked(True)
    first.panel.ids_check.setChecked(False)
    first.panel.decoder_combo.setCurrentText("official")
    first.close()
    second = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat), probe_cameras_now=False)
    qtbot.addWidget(second)
    assert second.panel.threshold_slider.value() == 55 and second.view.options.threshold == 0.55
    assert second.panel.flip_check.isChecked() and not second.panel.ids_check.isChecked()
    assert second.panel.decoder_combo.currentText() == "official"
    qtbot.waitUntil(lambda: second.worker.options.decoder == "official" and second.worker.options.flip_test, timeout=5000)
    assert second.panel.model_combo.currentData() == "w8"
    second.close()


def test_detect_every_and_detector_size_from_the_panel(qtbot, window, videos, tmp_path):
    panel = window.panel
    assert panel.det_every_combo.currentData() == 0  # auto: the live view's default
    panel.det_every_combo.setFocus()
    for _ in range(4):  # auto → every frame → 2nd → 3rd → 5th, with the keyboard
        qtbot.keyClick(panel.det_every_combo, Qt.Key.Key_Down)
    assert panel.det_every_combo.currentText() == "every 5th frame"
    qtbot.waitUntil(lambda: window.worker.pipeline is not None and window.worker.pipeline.options.det_every == 5,
                    timeout=10_000)
    panel.detector_size_combo.setFocus()
    qtbot.keyClick(panel.detector_size_combo, Qt.Key.Key_Home)  # 320 px
    qtbot.waitUntil(lambda: getattr(window.worker.pipeline.detector, "imgsz", None) == 320, timeout=30_000)
    assert window.worker.pipeline.options.det_every == 5  # a new model keeps the options
    seen = results_collector(window)
    window.sources.open_path(videos / "two_people_basketball_gym_426x240.mp4")
    qtbot.waitUntil(lambda: len(seen) >= 6, timeout=30_000)
    assert all(len(live.result.persons) >= 1 for live in seen[:6])
    # the export uses what the panel shows, and the choice is kept for the next start
    assert window.current_choice().detector_size == 320 and panel.options().det_every == 5
    window.save_settings()
    settings = QSettings(window.settings.fileName(), QSettings.Format.IniFormat)
    assert settings.value("detEvery", type=int) == 5 and settings.value("detectorSize", type=int) == 320


def test_the_settings_panel_saves_and_restores_every_setting(qtbot, tmp_path):
    """One table of typed settings: each widget of it, changed by the user, comes back in a new panel."""
    from hrnet_studio.gui.settings.panel import SETTINGS, SettingsPanel

    first = SettingsPanel()
    qtbot.addWidget(first)
    defaults = SettingsPanel()
    qtbot.addWidget(defaults)
    for s in SETTINGS:  # every setting away from its default
        widget = getattr(first, s.widget)
        if s.kind in ("text", "data"):
            widget.setCurrentIndex((widget.currentIndex() + 1) % widget.count())
        elif s.kind == "check":
            widget.setChecked(not widget.isChecked())
        else:
            widget.setValue(widget.value() + 17)
    settings = QSettings(str(tmp_path / "panel.ini"), QSettings.Format.IniFormat)
    first.save(settings)
    settings.sync()
    second = SettingsPanel()
    qtbot.addWidget(second)
    second.restore(QSettings(str(tmp_path / "panel.ini"), QSettings.Format.IniFormat))
    assert second.options() == first.options() != defaults.options()
    assert second.overlay_options() == first.overlay_options() != defaults.overlay_options()
    assert second.choice() == first.choice() != defaults.choice()
    assert second.threshold == first.threshold == 0.47
