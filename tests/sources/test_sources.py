import pytest
from helpers import VFR_TIMES_MS, write_vfr_video

from hrnet_studio.errors import VideoError
from hrnet_studio.inference.stages import in_thread
from hrnet_studio.sources.video_file import VideoFileSource


def test_reads_every_frame_in_order(videos):
    with VideoFileSource(videos / "single_person_basketball_portrait_1080x1920.mp4") as src:
        assert (src.width, src.height) == (1080, 1920)  # portrait stays portrait
        indices = [f.index for f in in_thread(iter(src))]
        assert indices == list(range(40)) and src.frame_count == 40 and not src.truncated
        assert src.fps == pytest.approx(12, rel=0.01)


def test_in_thread_passes_reader_errors_on():
    def broken():
        yield 1
        raise RuntimeError("disk gone")

    it = in_thread(broken())
    assert next(it) == 1
    with pytest.raises(RuntimeError, match="disk gone"):
        next(it)


def test_in_thread_stops_reader_when_consumer_stops():
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    it = in_thread(endless(), depth=2)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    count = len(produced)
    assert count < 10


@pytest.mark.parametrize("case", ["missing", "empty", "text", "folder"])
def test_bad_files_are_refused_clearly(tmp_path, case):
    path = tmp_path / "clip.mp4"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is a shopping list, not a video\n" * 50)
    elif case == "folder":
        path.mkdir()
    with pytest.raises(VideoError) as err:
        VideoFileSource(path)
    assert "\n" not in str(err.value) and "clip.mp4" in str(err.value)


def test_truncated_file_reports_truncation(tmp_path, videos):
    data = (videos / "street_crowd_1280x720.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with VideoFileSource(cut) as src:
        n = sum(1 for _ in src)
        assert 0 < n < 205 and src.truncated


def test_variable_frame_rate_gets_true_times_and_gaps_are_flagged(tmp_path):
    path = write_vfr_video(tmp_path / "phone.mp4", VFR_TIMES_MS)
    with VideoFileSource(path) as src:
        frames = list(src)
        assert [round(f.timestamp_s * 1000) for f in frames] == VFR_TIMES_MS  # not index / fps
        assert [f.index for f in frames if f.time_flag] == [6, 10]
        assert all(f.time_flag == "gap" for f in frames if f.time_flag)
        src.seek(7)  # the player seeks: the time is still the container's
        assert round(src.read().timestamp_s * 1000) == 333


def test_a_time_that_does_not_advance_is_flagged(tmp_path, monkeypatch):
    path = write_vfr_video(tmp_path / "clip.mp4", [0, 33, 67, 100, 133])
    with VideoFileSource(path) as src:
        told = iter([33.0, 67.0, 67.0, 100.0])  # what the container says after each read (the third repeats)
        monkeypatch.setattr(src, "_pts_ms", lambda: next(told))
        flags = [f.time_flag for f in src]
        assert flags == ["", "", "", "repeat", ""]


def test_a_constant_rate_file_keeps_index_over_fps(videos):
    with VideoFileSource(videos / "street_crowd_1280x720.avi") as src:
        times = [f.timestamp_s for f in src]
        assert times == pytest.approx([i / src.fps for i in range(len(times))], abs=1e-6)
