import pytest

from hrnet_studio.errors import VideoError
from hrnet_studio.inference.sources import VideoFileSource
from hrnet_studio.inference.stages import in_thread


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
