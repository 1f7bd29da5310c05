"""Downloads against a local HTTP server: success, resume, checksum mismatch, 404, stall, offline."""
import hashlib
import os
import socket
import threading

import pytest
from local_http import Behaviour

from hrnet_studio.models.download import (
    ChecksumError,
    DownloadError,
    download,
    part_path,
)

PAYLOAD = os.urandom(300_000)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def test_download_verifies_and_moves_into_place(file_server, tmp_path):
    file_server.files["model.pth"] = PAYLOAD
    seen = []
    dest = download(file_server.url("model.pth"), tmp_path / "model.pth", DIGEST, progress=lambda d, t: seen.append((d, t)))
    assert dest.read_bytes() == PAYLOAD
    assert not part_path(dest).exists() and sorted(p.name for p in tmp_path.iterdir()) == ["model.pth"]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and seen[0][0] == 0
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_published_prefix_is_enough(file_server, tmp_path):
    file_server.files["m.pth"] = PAYLOAD
    assert download(file_server.url("m.pth"), tmp_path / "m.pth", DIGEST[:8]).exists()


def test_cut_connection_resumes_with_range(file_server, tmp_path):
    file_server.files["m.pth"] = PAYLOAD
    file_server.behaviour["m.pth"] = Behaviour(cut_first_at=120_000)
    dest = download(file_server.url("m.pth"), tmp_path / "m.pth", DIGEST)
    assert dest.read_bytes() == PAYLOAD
    ranges = [r for _, r in file_server.requests]
    assert ranges[0] is None and ranges[1] == "bytes=120000-" and len(ranges) == 2


def test_part_file_from_an_earlier_run_is_resumed(file_server, tmp_path):
    file_server.files["m.pth"] = PAYLOAD
    dest = tmp_path / "m.pth"
    part_path(dest).write_bytes(PAYLOAD[:100_000])
    download(file_server.url("m.pth"), dest, DIGEST)
    assert dest.read_bytes() == PAYLOAD and file_server.requests == [("m.pth", "bytes=100000-")]


def test_server_without_range_support_restarts_cleanly(file_server, tmp_path):
    file_server.files["m.pth"] = PAYLOAD
    file_server.behaviour["m.pth"] = Behaviour(ignore_range=True)
    dest = tmp_path / "m.pth"
    part_path(dest).write_bytes(b"x" * 5000)  # stale bytes must not end up in the file
    download(file_server.url("m.pth"), dest, DIGEST)
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_file_is_verified_without_refetching(file_server, tmp_path):
    file_server.files["m.pth"] = PAYLOAD
    dest = tmp_path / "m.pth"
    part_path(dest).write_bytes(PAYLOAD)
    download(file_server.url("m.pth"), dest, DIGEST)  # the server answers 416: nothing left
    assert dest.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_the_file(file_server, tmp_path):
    file_server.files["m.pth"] = PAYLOAD
    with pytest.raises(ChecksumError, match="checksum mismatch for m.pth.*deleted") as err:
        download(file_server.url("m.pth"), tmp_path / "m.pth", "0" * 64)
    assert DIGEST in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_404_is_one_clear_line(file_server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404 Not Found"):
        download(file_server.url("missing.pth"), tmp_path / "m.pth")
    assert list(tmp_path.iterdir()) == []


def test_stalled_server_fails_after_the_timeout(file_server, tmp_path):
    file_server.files["m.pth"] = PAYLOAD
    held = threading.Event()  # the server answers only once the test lets it
    file_server.behaviour["m.pth"] = Behaviour(hold=held)
    try:
        # the server cannot answer before ``held`` is set: the download gives up at its own timeout
        with pytest.raises(DownloadError, match="no answer from 127.0.0.1:[0-9]+ within 0.5 s"):
            download(file_server.url("m.pth"), tmp_path / "m.pth", timeout=0.5)
    finally:
        held.set()
    assert not (tmp_path / "m.pth").exists()


def test_unreachable_host_fails_fast(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot reach 127.0.0.1"):
        download(f"http://127.0.0.1:{port}/m.pth", tmp_path / "m.pth", timeout=5)
