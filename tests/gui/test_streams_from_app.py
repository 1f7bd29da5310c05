"""Settings ▸ Stream: the live view's poses sent to other programs as they happen, switched on and off while the video
plays, through the real widgets; real receivers on this machine."""
import json
import threading

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QScrollArea

osc_server = pytest.importorskip("pythonosc.osc_server", reason="the stream extra: pip install 'hrnet-studio[stream]'")
pytest.importorskip("websockets", reason="the stream extra: pip install 'hrnet-studio[stream]'")
from pythonosc.dispatcher import Dispatcher
from websockets.sync.client import connect


def shown(widget):
    """``widget`` scrolled into view in the settings panel, as a user scrolls to it before clicking."""
    area = widget.window().findChild(QScrollArea, "settingsScroll")
    area.ensureWidgetVisible(widget)
    assert not widget.visibleRegion().isEmpty()
    return widget


def tick(qtbot, check):
    """A click on a check box's box, where a user clicks (its centre can lie past a short label, where a click does
    nothing)."""
    qtbot.mouseClick(shown(check), Qt.MouseButton.LeftButton, pos=QPoint(8, check.height() // 2))


def type_into(qtbot, edit, text):
    shown(edit).setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_streams_switch_on_and_off_while_the_video_plays(qtbot, window, videos):
    received = []
    dispatcher = Dispatcher()
    dispatcher.map("/pose/frame", lambda address, *args: received.append(args))
    server = osc_server.ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    box = window.panel.stream
    try:
        assert box.status_label.text() == "off" and not box.options().any
        type_into(qtbot, box.edits["osc"], f"127.0.0.1:{server.server_address[1]}")
        tick(qtbot, box.checks["osc"])
        type_into(qtbot, box.edits["ws"], "0")  # a free port: the status line says which
        tick(qtbot, box.checks["ws"])
        window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
        qtbot.waitUntil(lambda: len(received) >= 3, timeout=60_000)
        assert all(persons >= 0 and sent >= capture for _, capture, sent, persons in received)
        qtbot.waitUntil(lambda: "ws://127.0.0.1:" in box.status_label.text(), timeout=10_000)
        port = int(box.status_label.text().split("ws://127.0.0.1:")[1].split()[0])
        with connect(f"ws://127.0.0.1:{port}") as client:
            hello = json.loads(client.recv(timeout=30))
            frame = json.loads(client.recv(timeout=30))
        assert hello["type"] == "hello" and hello["names"][0] == "nose" and hello["width"] == 340
        assert frame["type"] == "frame" and frame["capture_time"] <= frame["sent_time"]
        type_into(qtbot, box.predict_edit, "120")  # prediction on while it plays: the streams go on
        tick(qtbot, box.predict_check)
        assert box.options().predict == "120" and box.options().osc
        count = len(received)
        qtbot.waitUntil(lambda: len(received) >= count + 3, timeout=30_000)

        tick(qtbot, box.checks["osc"])  # off while it plays
        tick(qtbot, box.checks["ws"])
        qtbot.waitUntil(lambda: box.status_label.text() == "off", timeout=10_000)
        seen = []
        window.worker.resultReady.connect(lambda live: seen.append(live))
        qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30_000)  # what was on its way has arrived
        count = len(received)
        qtbot.waitUntil(lambda: len(seen) >= 5, timeout=30_000)
        assert len(received) == count  # nothing sent once it is off
        window.save_settings()
        settings = QSettings(window.settings.fileName(), QSettings.Format.IniFormat)
        assert settings.value("stream/oscAddress") == f"127.0.0.1:{server.server_address[1]}"
        assert settings.value("stream/osc", type=bool) is False
        assert settings.value("stream/predict", type=bool) is True and settings.value("stream/predictAhead") == "120"
    finally:
        server.shutdown()
        server.server_close()
