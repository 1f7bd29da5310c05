"""Sources for the app and the hand-over between capture and inference."""
import threading
import time

import cv2
import numpy as np
import pytest

from hrnet_studio.errors import VideoError
from hrnet_studio.kinematics import angle_deg, available_angles
from hrnet_studio.skeletons import COCO_17, MPII_16, generic_set
from hrnet_studio.sources.channel import FrameChannel
from hrnet_studio.sources.live import (
    CameraSource,
    ImageFolderSource,
    PacedVideoCamera,
    SourceError,
    camera_time,
    open_source,
    probe_cameras,
)
from hrnet_studio.sources.video_file import VideoFileSource


def test_video_reads_in_order_and_seeks(videos):
    video = open_source(videos / "single_person_taichi_340x256.mp4")
    assert isinstance(video, VideoFileSource)  # the one reader, for the player as for export
    assert (video.frame_count, video.width, video.height) == (300, 340, 256)
    assert [video.read().index for _ in range(3)] == [0, 1, 2]
    video.seek(120)
    frame = video.read()
    assert frame.index == 120 and frame.timestamp_s == pytest.approx(120 / video.fps)
    reference = cv2.VideoCapture(str(videos / "single_person_taichi_340x256.mp4"))
    for _ in range(121):
        _, expected = reference.read()
    assert np.array_equal(frame.image, expected)  # the seek landed on the right picture
    video.seek(10_000)
    assert video.read().index == 299 and video.read() is None
    assert [f.index for f in video][:3] == [0, 1, 2]  # iterating starts again from the first frame
    assert video.frames_read == 300 and not video.truncated
    video.close()


def test_image_folder_skips_unreadable_images(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((20, 30, 3), i * 50, np.uint8))
    (tmp_path / "1b.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    source = ImageFolderSource(tmp_path)
    assert source.frame_count == 4
    frames = [source.read() for _ in range(3)]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 50, 100] and source.read() is None
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VideoError, match="no images"):
        ImageFolderSource(empty)


def test_paced_camera_runs_in_real_time_and_disconnects(videos):
    now = [100.0]  # the camera's clock, moved by the test (and by the camera's own waits)
    camera = PacedVideoCamera(videos / "single_person_taichi_340x256.mp4", fps=50, disconnect_after=25,
                              clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    first = camera.read()
    now[0] += 0.2  # a slow reader: the camera went on without it
    second = camera.read()
    assert (first.index, second.index) == (0, 10)
    assert camera.read().index == 11 and now[0] == pytest.approx(100.22)  # the next frame: waited for
    with pytest.raises(SourceError, match="disconnected"):
        for _ in range(100):
            camera.read()
    camera.close()


def test_missing_camera_is_a_clear_error():
    with pytest.raises(SourceError, match="camera 97 cannot be opened"):
        CameraSource(97)
    assert isinstance(probe_cameras(), list)  # no cameras here: an empty list, quickly
    with pytest.raises(VideoError, match="video not found"):
        open_source("/nonexistent/clip.mp4")


class StampingCapture:
    """A camera whose backend stamps its frames (``CAP_PROP_POS_MSEC``) with the values given."""

    def __init__(self, stamps_ms):
        self.stamps_ms, self.position = list(stamps_ms), 0.0

    def isOpened(self):
        return True

    def read(self):
        self.position = self.stamps_ms.pop(0)
        return True, np.zeros((4, 4, 3), np.uint8)

    def get(self, prop):
        return self.position if prop == cv2.CAP_PROP_POS_MSEC else 0.0

    def release(self):
        pass


def test_a_camera_frame_carries_the_time_the_camera_caught_it_when_the_backend_stamps_it(monkeypatch):
    now = time.monotonic()
    assert camera_time(1000 * (now - 0.040), now) == pytest.approx(now - 0.040)  # V4L2: 40 ms before the read
    assert camera_time(0.0, now) == now  # no timestamp
    assert camera_time(1000 * 3.2, now) == now  # a position since the stream began: not this clock
    assert camera_time(1000 * (now + 0.5), now) == now  # after the read: not this clock either
    caught = time.monotonic() - 0.030
    monkeypatch.setattr(cv2, "VideoCapture", lambda index, backend: StampingCapture([1000 * caught, 0.0]))
    camera = CameraSource(0)
    stamped, unstamped = camera.read(), camera.read()
    assert stamped.capture_time == pytest.approx(caught, abs=1e-6)  # the camera's time, 30 ms before the read
    assert unstamped.capture_time >= caught + 0.030  # no stamp: the time of its read
    assert unstamped.timestamp_s == pytest.approx(unstamped.capture_time - camera._start)


def test_channel_drops_stale_frames_for_live_sources():
    channel = FrameChannel()
    for i in range(5):
        channel.put(i, drop_stale=True)
    assert channel.get() == 4 and channel.dropped == 4
    assert channel.get(0.01) is None


def test_channel_keeps_every_file_frame_in_order():
    channel = FrameChannel()
    received = []

    def consumer():
        while len(received) < 50:
            item = channel.get(0.05)
            if item is not None:
                received.append(item)
                time.sleep(0.001)

    thread = threading.Thread(target=consumer)
    thread.start()
    for i in range(50):
        assert channel.put(i, drop_stale=False)
    thread.join(5)
    assert received == list(range(50)) and channel.dropped == 0
    channel.put("waiting", drop_stale=False)
    closer = threading.Timer(0.1, channel.close)
    closer.start()
    assert channel.put("after close", drop_stale=False) is False  # a blocked producer is released on close


def test_joint_angles():
    assert angle_deg([0, 0], [1, 0], [1, 1]) == pytest.approx(90.0)
    assert angle_deg([0, 0], [1, 0], [2, 0]) == pytest.approx(180.0)
    assert np.isnan(angle_deg([1, 0], [1, 0], [2, 0]))
    coco = dict(available_angles(COCO_17))
    assert coco["left knee"] == (11, 13, 15) and len(coco) == 8
    assert "right elbow" in dict(available_angles(MPII_16))
    assert available_angles(generic_set(5)) == []
