"""A catalogue that publishes only an 8-hex-digit sha256 prefix (mmpose's file names) checks 32 bits: the full
sha256 of the file first downloaded is recorded, and a later download of the same source must match it in full."""
from __future__ import annotations

import hashlib

import torch
from helpers import run_cli, saved, w8_entry, write_zoo

from hrnet_studio.models.hrnet import build_hrnet
from hrnet_studio.models.registry import PINNED_DIGESTS


def test_a_prefix_checked_download_is_pinned_in_full(capsys, models_home, tmp_path, monkeypatch, file_server):
    first = saved(tmp_path / "a.pth", build_hrnet("hrnet_w8", 17).state_dict()).read_bytes()
    torch.manual_seed(7)
    other = saved(tmp_path / "b.pth", build_hrnet("hrnet_w8", 17).state_dict()).read_bytes()
    file_server.files["w8.pth"] = first
    url = file_server.url("w8.pth")
    write_zoo(tmp_path, monkeypatch, [w8_entry(url, hashlib.sha256(first).hexdigest()[:8])])
    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w8_test_256x192")
    assert code == 0, err
    assert "the 32-bit sha256 prefix in the file's name verified; its full sha256 recorded" in err
    assert (models_home / PINNED_DIGESTS).is_file()
    assert run_cli(capsys, "models", "remove", "hrnet_w8_test_256x192")[0] == 0

    # The same source now serves another file that the published prefix would let through (a 32-bit collision,
    # played here by publishing the new file's prefix): the recorded full sha256 refuses it.
    file_server.files["w8.pth"] = other
    write_zoo(tmp_path, monkeypatch, [w8_entry(url, hashlib.sha256(other).hexdigest()[:8])])
    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w8_test_256x192")
    assert code == 2 and "is not the file first downloaded from" in err and "the file was deleted" in err
    assert not (models_home / "hrnet_w8_test_256x192.pth").exists()

    file_server.files["w8.pth"] = first  # the file first downloaded: accepted again
    write_zoo(tmp_path, monkeypatch, [w8_entry(url, hashlib.sha256(first).hexdigest()[:8])])
    code, _, err = run_cli(capsys, "models", "pull", "hrnet_w8_test_256x192")
    assert code == 0 and "installed" in err
