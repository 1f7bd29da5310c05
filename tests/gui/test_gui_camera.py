"""A camera in the app: a reader slower than the camera always gets the newest frame, and a camera that
disconnects is a message (the app stays usable)."""
import threading

import numpy as np
from conftest import results_collector

from hrnet_studio.sources.live import PacedVideoCamera


def slow_reader(channel, monkeypatch, behind: int = 3) -> None:
    """The worker takes a frame only once the camera has offered ``behind`` more since its last one: a reader
    slower than the camera, whatever this machine's speed."""
    offered, taken, changed = [0], [0], threading.Condition()
    put, get = channel.put, channel.get

    def counted_put(item, drop_stale):
        kept = put(item, drop_stale)
        with changed:
            offered[0] += 1
            changed.notify_all()
        return kept

    def late_get(timeout=None):
        with changed:
            changed.wait_for(lambda: offered[0] - taken[0] >= behind, timeout=1)
        item = get(timeout)
        if item is not None:
            taken[0] = offered[0]
        return item

    monkeypatch.setattr(channel, "put", counted_put)
    monkeypatch.setattr(channel, "get", late_get)


def test_simulated_camera_drops_stale_frames_then_disconnects(qtbot, window, videos, monkeypatch):
    seen = results_collector(window)
    slow_reader(window.channel, monkeypatch)
    camera = PacedVideoCamera(videos / "two_people_basketball_gym_426x240.mp4", fps=60, disconnect_after=180)
    window.sources.open_source(camera)
    assert not window.player.slider.isEnabled()  # no seeking a camera
    qtbot.waitUntil(lambda: len(seen) >= 6, timeout=30_000)
    indices = [live.frame.index for live in seen]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert max(np.diff(indices)) > 1  # a reader slower than the camera always gets the newest frame
    assert seen[-1].dropped > 0 and window.dropped_label.text().endswith("dropped")
    qtbot.waitUntil(lambda: any("disconnected" in e for e in window.errors), timeout=20_000)
    assert "simulated camera" in window.errors[-1]
    # The app stays usable: open a file after the camera is gone.
    monkeypatch.undo()  # the worker reads at its own pace again
    count = len(seen)
    window.sources.open_path(videos / "single_person_taichi_340x256.mp4")
    qtbot.waitUntil(lambda: len(seen) > count + 1, timeout=30_000)
